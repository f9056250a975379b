"""YAML with memory of where each value was written, so errors can name a file and a line.

`load_located(path)` returns plain Python data and a map from each value's path (keys and list
indexes) to (file, line). `merge` lays one declaration over another (`extends`): mappings merge
key by key, lists of mappings that all carry a `name` merge by name, anything else is replaced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rscctl.errors import UserError

PathKey = tuple[str | int, ...]
Locations = dict[PathKey, tuple[str, int]]


def load_located(path: Path, display: str | None = None) -> tuple[Any, Locations]:
    """Parse one YAML file; raise UserError (with file and line) on any syntax problem."""
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{shown}: no such file; check the build name or path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{shown}: cannot be read ({exc}); it must be a UTF-8 YAML file") from None
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise UserError(f"{shown}{line}: YAML syntax error: {problem}; fix it there") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{shown}: YAML error: {exc}") from None
    if node is None:
        raise UserError(f"{shown}: the file is empty; a declaration needs at least a `name`")
    locs: Locations = {}
    try:
        data = _construct(node, (), shown, locs, yaml.SafeLoader(""))
    except yaml.YAMLError as exc:
        raise UserError(f"{shown}: YAML error: {exc}") from None
    return data, locs


def _compose(text: str) -> yaml.Node | None:
    """The YAML node tree: libyaml's parser when PyYAML has it (ten times faster; every command
    loads three files), the pure-Python one otherwise and on any error, so a user sees the same
    message and line either way."""
    if yaml.__with_libyaml__:
        try:
            return yaml.compose(text, Loader=yaml.CSafeLoader)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _construct(
    node: yaml.Node, path: PathKey, shown: str, locs: Locations, scalars: yaml.SafeLoader
) -> Any:
    """Plain data from a node tree; `scalars` turns each scalar node into its value (one loader
    for the whole file: making one per scalar was most of this function's time)."""
    locs[path] = (shown, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, (*path, "<key>"), shown, {}, scalars)
            if isinstance(key, list | dict):
                line = key_node.start_mark.line + 1
                raise UserError(f"{shown}:{line}: a mapping key must be a plain value")
            if key in out:
                line = key_node.start_mark.line + 1
                raise UserError(f"{shown}:{line}: key {key!r} is given twice; keep one")
            out[key] = _construct(value_node, (*path, str(key)), shown, locs, scalars)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, (*path, i), shown, locs, scalars)
                for i, v in enumerate(node.value)]
    return scalars.construct_object(node, deep=True)


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
