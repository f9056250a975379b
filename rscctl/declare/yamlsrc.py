"""YAML with memory of where each value was written, so errors can name a file and a line.

`load_located(path)` returns plain Python data and a map from each value's path (keys and list
indexes) to (file, line). `merge` lays one declaration over another (`extends`): mappings merge
key by key, lists of mappings that all carry a `name` merge by name, anything else is replaced.

A declaration is small, hand-written text, so everything past that is refused before it costs
time or memory: files over MAX_FILE_BYTES, nesting deeper than MAX_DEPTH, more than MAX_ALIASES
alias uses (billion laughs), merge keys, NUL and other control bytes, text that is not UTF-8.
Messages name the file and line, never quote the file's contents (a `catalog:` may point
anywhere, /etc/shadow included).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml
from yaml.reader import ReaderError

from rscctl.errors import UserError

PathKey = tuple[str | int, ...]
Locations = dict[PathKey, tuple[str, int]]

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_PROBLEM_CHARS = 80
MERGE_TAG = "tag:yaml.org,2002:merge"
PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def read_text(path: Path, shown: str, what: str = "a UTF-8 YAML file") -> str:
    """The text of a regular file of at most MAX_FILE_BYTES; UserError for anything else."""
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise UserError(f"{shown}: is a directory; give {what}")
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{shown}: is not a regular file (a device, pipe or socket); "
                            f"give {what}")
        if st.st_size > MAX_FILE_BYTES:
            raise UserError(f"{shown}: {st.st_size:,} bytes is over the "
                            f"{MAX_FILE_BYTES // 2**20} MiB a declaration may have; "
                            f"give {what}")
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except UserError:
        raise
    except FileNotFoundError:
        raise UserError(f"{shown}: no such file; check the build name or path") from None
    except ValueError:
        raise UserError(f"{shown}: the file name holds a NUL byte; give a real path") from None
    except OSError as exc:
        raise UserError(f"{shown}: cannot be read ({_os_reason(exc)}); give {what}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise UserError(f"{shown}: over the {MAX_FILE_BYTES // 2**20} MiB a declaration may "
                        f"have; give {what}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UserError(f"{shown}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); save the "
                        "file as UTF-8") from None


def _os_reason(exc: OSError) -> str:
    """The OS's reason without the path it quotes (the user knows which file they named)."""
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return type(exc).__name__


def load_located(path: Path, display: str | None = None) -> tuple[Any, Locations]:
    """Parse one YAML file; raise UserError (with file and line) on any syntax problem."""
    shown = display or str(path)
    text = read_text(path, shown)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise UserError(f"{shown}:{line}: a NUL byte; a declaration is text, remove it")
    try:
        node = _compose(text)
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise UserError(f"{shown}:{line}: character U+{exc.character:04X} is not allowed in "
                        "YAML; remove it") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f":{mark.line + 1}" if mark else ""
        problem = _short(exc.problem or exc.context or "invalid YAML")
        raise UserError(f"{shown}{at}: YAML syntax error: {problem}; fix it there") from None
    except yaml.YAMLError:
        raise UserError(f"{shown}: not valid YAML; fix its syntax") from None
    if node is None:
        raise UserError(f"{shown}: the file is empty; a declaration needs at least a `name`")
    locs: Locations = {}
    data = _Constructor(shown, locs).value(node, (), 0)
    return data, locs


def _short(problem: str) -> str:
    """PyYAML's problem text, one line and capped: it can quote a token of the file."""
    one = " ".join(problem.split())
    return one if len(one) <= MAX_PROBLEM_CHARS else one[: MAX_PROBLEM_CHARS - 3] + "..."


class _DepthLoader(yaml.SafeLoader):
    """The pure-Python loader with a nesting bound: its composer recurses once per level."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", self.get_mark())
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _compose(text: str) -> yaml.Node | None:
    """The YAML node tree: libyaml's parser when PyYAML has it (ten times faster; every command
    loads three files), the pure-Python one otherwise and on any error, so a user sees the same
    message and line either way. libyaml bounds nesting itself (1,000 levels); the pure parser
    is bounded by _DepthLoader; _Constructor bounds both to MAX_DEPTH."""
    if yaml.__with_libyaml__:
        try:
            return yaml.compose(text, Loader=yaml.CSafeLoader)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=_DepthLoader)


class _Constructor:
    """Plain data from a node tree, recording each value's line, within the file's budgets.

    One SafeLoader turns every scalar node into its value (making one per scalar was most of
    this step's time). A node met again is an alias use: they are counted, so an alias bomb
    is refused after MAX_ALIASES uses instead of expanding to gigabytes.
    """

    def __init__(self, shown: str, locs: Locations) -> None:
        self.shown = shown
        self.locs = locs
        self.scalars = yaml.SafeLoader("")
        self.seen: set[int] = set()
        self.open: set[int] = set()
        self.aliases = 0

    def fail(self, node: yaml.Node, message: str) -> UserError:
        return UserError(f"{self.shown}:{node.start_mark.line + 1}: {message}")

    def value(self, node: yaml.Node, path: PathKey | None, depth: int) -> Any:
        """The value of `node` at `path` (None for a mapping key: keys have no location)."""
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels; flatten it")
        if id(node) in self.seen:
            if id(node) in self.open:
                raise self.fail(node, "an alias refers to a value that contains it; "
                                "write the value out")
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise self.fail(node, f"more than {MAX_ALIASES} alias uses (*name); write "
                                "the values out")
        self.seen.add(id(node))
        if path is not None:
            self.locs[path] = (self.shown, node.start_mark.line + 1)
        if isinstance(node, yaml.CollectionNode) and node.tag not in PLAIN_TAGS:
            raise self.fail(node, f"a {_tag_name(node.tag)} value is not supported here; "
                            "write a plain mapping or list")
        if isinstance(node, yaml.MappingNode):
            self.open.add(id(node))
            try:
                return self.mapping(node, path, depth)
            finally:
                self.open.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self.open.add(id(node))
            try:
                items = [self.value(v, None if path is None else (*path, i), depth + 1)
                         for i, v in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
            self.names_unique(node, path or (), items)
            return items
        try:
            return self.scalars.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise self.fail(node, f"cannot read this value as {_tag_name(node.tag)}; "
                            "write a plain value") from None
        except (ValueError, OverflowError):
            raise self.fail(node, "this value is out of range; write a smaller one") from None

    def mapping(self, node: yaml.MappingNode, path: PathKey | None,
                depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                raise self.fail(key_node, "merge keys (<<) are not supported; write the keys "
                                "out")
            key = self.value(key_node, None, depth + 1)
            if not isinstance(key, Hashable) or isinstance(key, tuple):
                raise self.fail(key_node, "a mapping key must be a plain value")
            if key in out:
                raise self.fail(key_node, f"key {_quote(key)} is given twice; keep one")
            sub = None if path is None else (*path, str(key))
            out[key] = self.value(value_node, sub, depth + 1)
        return out

    def names_unique(self, node: yaml.SequenceNode, path: PathKey, items: list[Any]) -> None:
        """Two items of one list with one `name` would silently merge into one: refuse."""
        first: dict[Any, int] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict) or "name" not in item:
                continue
            name = item["name"]
            if not isinstance(name, Hashable):
                continue
            if name in first:
                line = node.value[i].start_mark.line + 1
                field = _dotted(path) or "the list"
                raise UserError(
                    f"{self.shown}:{line}: {field}[{i}]: name {_quote(name)} is declared "
                    f"twice in this file (first at line {first[name]}); give each its own "
                    "name or merge the two"
                )
            first[name] = node.value[i].start_mark.line + 1


def _tag_name(tag: str) -> str:
    """'!!set' for a standard tag; custom tags are not quoted (they are the file's text)."""
    prefix = "tag:yaml.org,2002:"
    return _short("!!" + tag.removeprefix(prefix)) if tag.startswith(prefix) else "custom tag"


def _quote(value: Any) -> str:
    """A short repr of a value read from a file: enough to find it, never a whole line."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and "name" in v for v in value)
    )


def merge(
    base: Any, base_locs: Locations, over: Any, over_locs: Locations
) -> tuple[Any, Locations]:
    """Lay `over` on `base` and return the result with the location of every value in it."""
    out_locs: Locations = {}
    result = _merge(base, (), base_locs, over, (), over_locs, (), out_locs)
    return result, out_locs


def _copy_locs(src: Locations, src_path: PathKey, dst: Locations, dst_path: PathKey) -> None:
    n = len(src_path)
    for key, loc in src.items():
        if key[:n] == src_path:
            dst[dst_path + key[n:]] = loc


def _merge(
    a: Any, ap: PathKey, al: Locations,
    b: Any, bp: PathKey, bl: Locations,
    out: PathKey, ol: Locations,
) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        ol[out] = bl.get(bp) or al.get(ap, ("?", 0))
        merged: dict[Any, Any] = {}
        for key in a.keys() | b.keys():
            k = str(key)
            if key not in b:
                merged[key] = a[key]
                _copy_locs(al, (*ap, k), ol, (*out, k))
            elif key not in a:
                merged[key] = b[key]
                _copy_locs(bl, (*bp, k), ol, (*out, k))
            else:
                merged[key] = _merge(a[key], (*ap, k), al, b[key], (*bp, k), bl, (*out, k), ol)
        return {k: merged[k] for k in [*a.keys(), *(k for k in b if k not in a)]}
    if _named_list(a) and _named_list(b):
        ol[out] = bl.get(bp) or al.get(ap, ("?", 0))
        # names are unique within each file (_Constructor.names_unique), so this is exact
        by_name = {item["name"]: i for i, item in enumerate(b)}
        items: list[Any] = []
        for i, item in enumerate(a):
            j = by_name.pop(item["name"], None)
            if j is None:
                _copy_locs(al, (*ap, i), ol, (*out, len(items)))
                items.append(item)
            else:
                items.append(
                    _merge(item, (*ap, i), al, b[j], (*bp, j), bl, (*out, len(items)), ol)
                )
        for j in sorted(by_name.values()):
            _copy_locs(bl, (*bp, j), ol, (*out, len(items)))
            items.append(b[j])
        return items
    _copy_locs(bl, bp, ol, out)
    return b
