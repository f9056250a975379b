"""Load a build: find its file, resolve `extends`, attach the catalog, validate once.

Every user mistake leaves here as one UserError naming the file, the line where known, the
field path and the fix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rscctl.declare.build import Build
from rscctl.declare.yamlsrc import Locations, PathKey, load_located, merge
from rscctl.errors import UserError

TOPOLOGY_ENV = "RSCCTL_TOPOLOGY"
DEFAULT_CATALOG = "catalog.yaml"


def topology_dir() -> Path:
    """The directory of shipped declarations (override with $RSCCTL_TOPOLOGY)."""
    env = os.environ.get(TOPOLOGY_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "topology"


def resolve(build: str) -> Path:
    """A BUILD argument is a name in topology/ or a path to a YAML file."""
    as_path = Path(build)
    if as_path.suffix in (".yaml", ".yml") or os.sep in build:
        if not as_path.is_file():
            raise UserError(f"{build}: no such file; give a build name or a YAML path")
        return as_path
    candidate = topology_dir() / f"{build}.yaml"
    if not candidate.is_file():
        names = sorted(p.stem for p in topology_dir().glob("*.yaml") if p.stem != "catalog")
        raise UserError(f"unknown build {build!r}; known builds: {', '.join(names)}")
    return candidate


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load_chain(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], Locations]:
    shown = _display(path)
    real = path.resolve()
    if real in seen:
        chain = " -> ".join(_display(p) for p in (*seen, real))
        raise UserError(f"{shown}: `extends` is circular ({chain}); break the cycle")
    data, locs = load_located(path, shown)
    if not isinstance(data, dict):
        raise UserError(f"{shown}:1: a declaration must be a mapping of fields, not a list")
    parent = data.pop("extends", None)
    if parent is None:
        return data, locs
    line = locs.get(("extends",), (shown, 0))[1]
    if not isinstance(parent, str) or not parent:
        raise UserError(f"{shown}:{line}: extends: give the name of the build this one grows")
    parent_path = path.parent / (parent if parent.endswith((".yaml", ".yml")) else f"{parent}.yaml")
    if not parent_path.is_file():
        raise UserError(
            f"{shown}:{line}: extends: build {parent!r} not found (looked for "
            f"{_display(parent_path)}); name an existing build"
        )
    base, base_locs = _load_chain(parent_path, (*seen, real))
    return merge(base, base_locs, data, locs)


def _attach_catalog(path: Path, data: dict[str, Any], locs: Locations) -> None:
    ref = data.get("catalog", DEFAULT_CATALOG)
    if isinstance(ref, dict):
        return
    if not isinstance(ref, str):
        shown, line = locs.get(("catalog",), (_display(path), 0))
        raise UserError(f"{shown}:{line}: catalog: give the catalog's file name")
    cat_path = path.parent / ref
    if not cat_path.is_file():
        cat_path = topology_dir() / ref
    cat, cat_locs = load_located(cat_path, _display(cat_path))
    data["catalog"] = cat
    for key, loc in cat_locs.items():
        locs[("catalog", *key)] = loc


def locate(locs: Locations, loc: PathKey) -> tuple[str, int] | None:
    """The file and line of the deepest declared value on the path `loc`."""
    key = tuple(str(p) if not isinstance(p, int) else p for p in loc)
    while True:
        if key in locs:
            return locs[key]
        if not key:
            return None
        key = key[:-1]


def _field_path(loc: PathKey) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_MSG_FIELD = re.compile(r"^([a-z_]+(?:\.[a-z_]+|\[\d+\])*)(?=[=:])")


def _message_path(msg: str) -> PathKey:
    """The field a cross-field message starts with ('compute.gpus=...'), as a path."""
    m = _MSG_FIELD.match(msg)
    if not m:
        return ()
    parts: list[str | int] = []
    for piece in re.split(r"\.|(?=\[)", m.group(1)):
        if piece.startswith("["):
            parts.append(int(piece[1:-1]))
        elif piece:
            parts.append(piece)
    return tuple(parts)


def describe(exc: ValidationError, locs: Locations, default_file: str) -> str:
    """One clear message for the first error of a pydantic validation."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    named = _message_path(msg) if err["type"] == "value_error" else ()
    where = locate(locs, (*loc, *named)) or (default_file, 0)
    field = "" if named else _field_path(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        msg = f"unknown key {loc[-1]!r}; remove it or check its spelling"
    elif kind == "missing":
        msg = f"required field {loc[-1]!r} is missing; add it"
    elif "input" in err and kind not in ("value_error", "assertion_error"):
        msg = f"{msg} (got {err['input']!r})"
    more = len(exc.errors()) - 1
    tail = f" ({more} more error{'s' * (more > 1)} after this one)" if more else ""
    line = f":{where[1]}" if where[1] else ""
    prefix = f"{field}: " if field else ""
    return f"{where[0]}{line}: {prefix}{msg}{tail}"


def load_build(build: str) -> Build:
    """Load, merge and validate a build by name or path. Raises UserError on any mistake."""
    path = resolve(build)
    data, locs = _load_chain(path, ())
    _attach_catalog(path, data, locs)
    try:
        return Build.model_validate(data)
    except ValidationError as exc:
        raise UserError(describe(exc, locs, _display(path))) from None
