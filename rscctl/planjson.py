"""plan.json: the one hand-off from the planner to everything downstream.

Versioned; one record per line so a diff of two plans reads as a diff of records. Reading it
back gives the same Plan, so exporters run the same from memory or from the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import fields
from json.encoder import encode_basestring
from operator import attrgetter
from pathlib import Path
from typing import Any

from rscctl.errors import UserError
from rscctl.planner.model import (
    SCHEMA_VERSION,
    Address,
    Cable,
    CheckResult,
    Device,
    Plan,
    Rack,
)

_RECORDS: dict[str, type] = {
    "racks": Rack,
    "devices": Device,
    "cables": Cable,
    "addresses": Address,
    "checks": CheckResult,
}


def _plain(row: list[Any]) -> list[Any]:
    """Records hold only scalars, except CheckResult.findings (a tuple of dicts)."""
    return [list(v) if isinstance(v, tuple) else v for v in row]


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _make_dump() -> Callable[[Any], str]:
    """One C encoder for every value, made once with _ENCODER's settings (the same text).

    JSONEncoder.encode builds a new C encoder on every call: a third of the time of plan.json's
    ~94,000 rows. Falls back to JSONEncoder.encode where Python has no C accelerator.
    """
    try:
        from _json import make_encoder
    except ImportError:  # pragma: no cover (CPython always has it)
        return _ENCODER.encode
    e = _ENCODER
    encode = make_encoder({}, e.default, encode_basestring, None, e.key_separator,
                          e.item_separator, e.sort_keys, e.skipkeys, e.allow_nan)
    return lambda value: "".join(encode(value, 0))


_dump = _make_dump()


def generate_plan_json(plan: Plan) -> str:
    """The text of plan.json, deterministic for a given plan."""
    parts = [f'{{\n"schema_version":{SCHEMA_VERSION}']
    for f in fields(plan):
        if f.name == "schema_version":
            continue
        value = getattr(plan, f.name)
        if f.name in _RECORDS:
            names = [x.name for x in fields(_RECORDS[f.name])]
            get = attrgetter(*names)
            rows: Iterable[Any]
            if _RECORDS[f.name] is CheckResult:
                rows = (_plain(list(get(v))) for v in value)
            elif len(names) == 1:
                rows = ([get(v)] for v in value)
            else:  # a tuple encodes as a JSON array: no copy to a list (~94,000 rows)
                rows = map(get, value)
            body = ",\n".join(map(_dump, rows))
            cols = _dump(names)
            parts.append(f'"{f.name}":{{"columns":{cols},"rows":[\n{body}\n]}}')
        else:
            parts.append(f'"{f.name}":{_dump(value)}')
    return ",\n".join(parts) + "\n}\n"


def parse_plan_json(text: str, source: str = "plan.json") -> Plan:
    """Read plan.json text back into a Plan; a wrong version or shape is a UserError."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg}); plan again") from None
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if version != SCHEMA_VERSION:
        raise UserError(
            f"{source}: schema_version {version!r}, this rscctl reads {SCHEMA_VERSION}; "
            "run `rscctl plan` again"
        )
    kwargs: dict[str, Any] = {}
    try:
        for f in fields(Plan):
            if f.name == "schema_version" or f.name not in doc:
                continue
            value = doc[f.name]
            if f.name in _RECORDS:
                cls = _RECORDS[f.name]
                cols = value["columns"]
                rows = [cls(**dict(zip(cols, row, strict=True))) for row in value["rows"]]
                if cls is CheckResult:
                    rows = [CheckResult(r.name, r.passed, r.summary, tuple(r.findings))
                            for r in rows]
                kwargs[f.name] = tuple(rows)
            elif f.name == "cable_families":
                kwargs[f.name] = tuple(value)
            else:
                kwargs[f.name] = value
        return Plan(**kwargs)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{source}: not a plan rscctl can read ({exc}); plan again") from None


def read_plan(path: Path) -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no plan here; run `rscctl plan BUILD` first") from None
    return parse_plan_json(text, str(path))
