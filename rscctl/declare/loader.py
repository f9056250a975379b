"""Load a build: find its file, resolve `extends`, attach the catalog, validate once.

Every user mistake leaves here as one UserError naming the file, the line where known, the
field path and the fix. A child build is validated after its parent, so an error that shows
only in the child points at the child's line; a child that would move the parent's cables is
refused (rscctl.declare.growth). The loaded Build remembers where each field was written, so
a mistake found later, while planning, is reported at its line too (FieldError).
"""

from __future__ import annotations

import os
import re
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rscctl.declare.build import Build
from rscctl.declare.catalog import Catalog
from rscctl.declare.growth import GrowthError, growth_conflicts
from rscctl.declare.yamlsrc import Locations, PathKey, load_located, merge
from rscctl.errors import UserError

TOPOLOGY_ENV = "RSCCTL_TOPOLOGY"
DEFAULT_CATALOG = "catalog.yaml"
MAX_EXTENDS = 8
YAML_SUFFIXES = (".yaml", ".yml")
MAX_ECHO = 40


def topology_dir() -> Path:
    """The directory of shipped declarations (override with $RSCCTL_TOPOLOGY)."""
    env = os.environ.get(TOPOLOGY_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "topology"


def resolve(build: str) -> Path:
    """A BUILD argument is a name in topology/ or a path to a YAML file (whether the file can
    be read is load_located's to say: no such file, a directory, a symlink loop...)."""
    if "\x00" in build:
        raise UserError("BUILD holds a NUL byte; give a build name or a YAML path")
    as_path = Path(build)
    if as_path.suffix in YAML_SUFFIXES or os.sep in build:
        return as_path
    candidate = topology_dir() / f"{build}.yaml"
    if not candidate.is_file():
        names = sorted(p.stem for p in topology_dir().glob("*.yaml") if p.stem != "catalog")
        raise UserError(f"unknown build {_quote(build)}; known builds: {', '.join(names)}")
    return candidate


def _real(path: Path) -> Path:
    """The path with links resolved, or as given when it cannot be (a loop, a NUL byte)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return path.absolute()


def _display(path: Path) -> str:
    """The path as the user named it (links not followed), relative to the cwd if inside."""
    try:
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _quote(value: Any) -> str:
    """A short repr of a value the user wrote: enough to find it, never a whole file."""
    text = repr(value)
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 3] + "..."


@dataclass(frozen=True)
class _Level:
    """One file of an `extends` chain: its own locations and the data merged up to it."""

    path: Path
    shown: str
    own: Locations
    data: dict[str, Any]
    locs: Locations


def _load_chain(path: Path, seen: tuple[Path, ...]) -> list[_Level]:
    """The files of the chain, root first, each with the data merged up to it."""
    shown = _display(path)
    real = _real(path)
    if real in seen:
        chain = " -> ".join(_display(p) for p in (*seen, real))
        raise UserError(f"{shown}: `extends` is circular ({chain}); break the cycle")
    data, locs = load_located(path, shown)
    if not isinstance(data, dict):
        raise UserError(f"{shown}:1: a declaration must be a mapping of fields, not a list")
    parent = data.pop("extends", None)
    if parent is None:
        return [_Level(path, shown, locs, data, locs)]
    line = locs.get(("extends",), (shown, 0))[1]
    if not isinstance(parent, str) or not parent or "\x00" in parent:
        raise UserError(f"{shown}:{line}: extends: give the name of the build this one grows")
    if len(seen) + 1 >= MAX_EXTENDS:
        chain = " -> ".join(_display(p) for p in (*seen, real))
        raise UserError(
            f"{shown}:{line}: extends: the chain {chain} -> {parent} is longer than "
            f"{MAX_EXTENDS} builds; extend a build nearer the root"
        )
    parent_path = path.parent / (parent if parent.endswith(YAML_SUFFIXES) else f"{parent}.yaml")
    if not parent_path.exists() and not parent_path.is_symlink():
        raise UserError(
            f"{shown}:{line}: extends: build {_quote(parent)} not found (looked for "
            f"{_display(parent_path)}); name an existing build"
        )
    levels = _load_chain(parent_path, (*seen, real))
    merged, merged_locs = merge(levels[-1].data, levels[-1].locs, data, locs)
    return [*levels, _Level(path, shown, locs, merged, merged_locs)]


_Catalogs = dict[Path, tuple[Any, Locations]]


def _with_catalog(level: _Level, cache: _Catalogs) -> tuple[dict[str, Any], Locations, str | None]:
    """The level's data and locations with its catalog attached, and the catalog's file
    (each catalog file is read once per load: a chain's levels usually share it)."""
    data, locs = dict(level.data), dict(level.locs)
    ref = data.get("catalog", DEFAULT_CATALOG)
    if isinstance(ref, dict):
        return data, locs, None
    shown, line = locs.get(("catalog",), (level.shown, 0))
    if not isinstance(ref, str) or not ref or "\x00" in ref:
        raise UserError(f"{shown}:{line}: catalog: give the catalog's file name")
    if not ref.endswith(YAML_SUFFIXES):
        raise UserError(f"{shown}:{line}: catalog: {_quote(ref)} is not a YAML file name; "
                        "name the catalog's .yaml file")
    cat_path = level.path.parent / ref
    if not cat_path.is_file():
        cat_path = topology_dir() / ref
    cat_shown = _display(cat_path)
    if cat_path not in cache:
        cache[cat_path] = load_located(cat_path, cat_shown)
    cat, cat_locs = cache[cat_path]
    if not isinstance(cat, dict) or not set(cat) <= set(Catalog.model_fields):
        # checked before validation: a file that is not a catalog (a link to /etc/shadow)
        # would otherwise have its lines quoted back as unknown keys
        raise UserError(f"{cat_shown}:1: a catalog is a mapping of models: and cables: and "
                        f"this file is not one; check catalog: at {shown}:{line}")
    data["catalog"] = cat
    for key, loc in cat_locs.items():
        locs[("catalog", *key)] = loc
    return data, locs, cat_shown


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


# 'compute.gpus=...', 'dns.nameservers: ...', or a dotted path then a space
_MSG_FIELD = re.compile(
    r"^([a-z_]+(?:\.[A-Za-z0-9_-]+|\[\d+\])*)(?=[=:])|^([a-z_]+(?:\.[A-Za-z0-9_-]+)+)(?= )"
)
_FIELD_PART = re.compile(r"\.|(?=\[)")


def parse_field(text: str) -> PathKey:
    """'networks.storage.segment_prefix' or 'storage.systems[1].rows' as a path."""
    parts: list[str | int] = []
    for piece in _FIELD_PART.split(text):
        if piece.startswith("[") and piece.endswith("]") and piece[1:-1].isdigit():
            parts.append(int(piece[1:-1]))
        elif piece:
            parts.append(piece)
    return tuple(parts)


def _message_path(msg: str) -> PathKey:
    """The field a cross-field message starts with ('compute.gpus=...'), as a path."""
    m = _MSG_FIELD.match(msg)
    return parse_field(m.group(1) or m.group(2)) if m else ()


@dataclass(frozen=True)
class _Sources:
    """Which file is which, for placing and wording a validation error."""

    shown: str                 # the declaration being validated
    own: Locations             # its own values' locations (without its parents')
    catalog: str | None = None  # the catalog file: its contents are never echoed


def _where(locs: Locations, path: PathKey, src: _Sources) -> tuple[tuple[str, int], str]:
    """Where to point for a field, and a note when the value came from a parent file.

    The parent was valid on its own, so an error in a merged build is the child's doing:
    point at the child's nearest line and say where the inherited value is.
    """
    where = locate(locs, path) or (src.shown, 0)
    if where[0] in (src.shown, src.catalog):
        return where, ""
    own = locate(src.own, path) or (src.shown, 0)
    return own, f" (the value is inherited from {where[0]}:{where[1]})"


def describe(exc: ValidationError, locs: Locations, default_file: str,
             sources: _Sources | None = None) -> str:
    """One clear message for the first error of a pydantic validation."""
    src = sources or _Sources(default_file, locs)
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    named = _message_path(msg) if err["type"] == "value_error" else ()
    where, inherited = _where(locs, (*loc, *named), src)
    quiet = where[0] == src.catalog and src.catalog is not None
    field = "" if named else _field_path(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = "" if quiet else f" {_quote(loc[-1])}"
        msg = f"unknown key{key}; remove it or check its spelling"
        field = _field_path(loc[:-1]) if quiet else field
    elif kind == "missing":
        msg = f"required field {_quote(loc[-1])} is missing; add it"
    elif "input" in err and kind not in ("value_error", "assertion_error") and not quiet:
        msg = f"{msg} (got {_quote(err['input'])})"
    more = len(exc.errors()) - 1
    tail = f" ({more} more error{'s' * (more > 1)} after this one)" if more else ""
    line = f":{where[1]}" if where[1] else ""
    prefix = f"{field}: " if field else ""
    return f"{where[0]}{line}: {prefix}{msg}{inherited}{tail}"


# Where each loaded Build's fields were written, while the Build lives (Build is frozen and
# carries no private state; planner errors look their field up here through FieldError).
_LOCATIONS: dict[int, Locations] = {}


def _remember(build: Build, locs: Locations) -> None:
    key = id(build)
    _LOCATIONS[key] = locs
    weakref.finalize(build, _LOCATIONS.pop, key, None)


def field_location(build: Build, field: str) -> tuple[str, int] | None:
    """The file and line where `field` (e.g. 'networks.storage.segment_prefix') of a loaded
    build was written, or of its nearest declared parent field; None for a Build made in code."""
    locs = _LOCATIONS.get(id(build))
    return locate(locs, parse_field(field)) if locs else None


class FieldError(UserError):
    """A mistake in a declared field found while planning (a segment too small, an unknown
    name server): the message is prefixed with the field's file and line. Exit 2."""

    def __init__(self, build: Build, field: str, message: str) -> None:
        where = field_location(build, field)
        prefix = f"{where[0]}:{where[1]}: " if where and where[1] else ""
        super().__init__(f"{prefix}{message}")
        self.field = field


def _validate(level: _Level, catalogs: _Catalogs) -> Build:
    data, locs, catalog = _with_catalog(level, catalogs)
    try:
        build = Build.model_validate(data)
    except ValidationError as exc:
        src = _Sources(level.shown, level.own, catalog)
        raise UserError(describe(exc, locs, level.shown, src)) from None
    _remember(build, locs)
    return build


def _check_growth(parent: Build, child: Build, level: _Level, parent_shown: str) -> None:
    """Refuse a child that changes what the parent's cables and addresses depend on."""
    conflicts = growth_conflicts(parent, child)
    if not conflicts:
        return
    first = conflicts[0]
    where, _ = _where(level.locs, parse_field(first.field), _Sources(level.shown, level.own))
    line = f":{where[1]}" if where[1] else ""
    raise GrowthError(f"{where[0]}{line}", first, len(conflicts) - 1, parent, child,
                      parent_shown)


def load_build(build: str) -> Build:
    """Load, merge and validate a build by name or path. Raises UserError on any mistake."""
    levels = _load_chain(resolve(build), ())
    parent: Build | None = None
    catalogs: _Catalogs = {}
    for i, level in enumerate(levels):
        child = _validate(level, catalogs)
        if parent is not None:
            _check_growth(parent, child, level, levels[i - 1].shown)
        parent = child
    assert parent is not None
    return parent
