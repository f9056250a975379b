"""plan.json: the one hand-off from the planner to everything downstream.

Versioned; one record per line so a diff of two plans reads as a diff of records. Reading it
back gives the same Plan, so exporters run the same from memory or from the file.
"""

from __future__ import annotations

import ast
import json
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import MISSING, fields
from itertools import starmap
from json.encoder import encode_basestring
from operator import attrgetter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rscctl.declare.catalog import CableFamily, HardwareModel
from rscctl.errors import UserError
from rscctl.planner.facts import facts_from_json, facts_to_json, pydantic_problem
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
        elif f.name == "models":
            models = {k: m.model_dump(mode="json") for k, m in value.items()}
            parts.append(f'"models":{_dump(models)}')
        elif f.name == "cable_families":
            families = [c.model_dump(mode="json") for c in value]
            parts.append(f'"cable_families":{_dump(families)}')
        elif f.name == "facts":
            parts.append(f'"facts":{_dump(facts_to_json(value))}')
        else:
            parts.append(f'"{f.name}":{_dump(value)}')
    return ",\n".join(parts) + "\n}\n"


# -- reading back: every record checked before any exporter sees it -----------------------
#
# plan.json is an input like a declaration: a hand edit or a stray file must not reach an
# exporter (a newline in a device name would add records to a zone). The checks run over whole
# columns with C-speed builtins (set(map(type, col)), one regex over a joined column, set
# differences), so phase 2's ~94,000 rows cost well under a tenth of a second more; the line of
# a bad record is looked up only once something is wrong.

MAX_PLAN_BYTES = 1 << 30
_NONE = type(None)
_TYPES: dict[str, frozenset[type]] = {  # a record field's annotation -> JSON types it accepts
    "str": frozenset({str}),
    "int": frozenset({int}),
    "int | None": frozenset({int, _NONE}),
    "float": frozenset({float, int}),
    "bool": frozenset({bool}),
    "tuple[dict[str, Any], ...]": frozenset({list}),
}
_TYPE_WORDS = {"str": "a string", "int": "an integer", "int | None": "an integer or null",
               "float": "a number", "bool": "true or false",
               "tuple[dict[str, Any], ...]": "a list of objects"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"       # RFC 1123, lowercase: a host name
_TOKEN = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?"  # safe in a file name
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_SHAPES: dict[tuple[str, str], tuple[str, str]] = {  # (section, field) -> (regex, words)
    ("racks", "name"): (_TOKEN, "letters, digits, '-', '_' or '.'"),
    ("racks", "hall"): (_TOKEN, "letters, digits, '-', '_' or '.'"),
    ("racks", "row"): (_TOKEN, "letters, digits, '-', '_' or '.'"),
    ("devices", "name"): (_LABEL, "a host name (lowercase letters, digits, '-', at most 63)"),
    ("addresses", "address"): (rf"{_OCTET}(?:\.{_OCTET}){{3}}", "an IPv4 address"),
}
_RANGES: dict[tuple[str, str], tuple[int, int]] = {("addresses", "prefix_len"): (0, 32)}
_INT_RANGE = (0, 10**9)
_FLOAT_LIMIT = 1e9
_UNIQUE = {("racks", "name"), ("devices", "name"), ("cables", "cable_id")}
_REFS: dict[tuple[str, str], str] = {  # (section, field) -> the section whose names it names
    ("devices", "rack"): "racks",
    ("cables", "a_device"): "devices", ("cables", "b_device"): "devices",
    ("cables", "a_rack"): "racks", ("cables", "b_rack"): "racks",
    ("addresses", "device"): "devices",
}
_REF_WORDS = {"racks": "a rack", "devices": "a device"}


_RAW_CONTROL = ("\x7f", *map(chr, range(0x80, 0xA0)), "\u2028", "\u2029")
_ESCAPED_CONTROL = re.compile(r"[bfnrt]|u00[01]|u007f|u00[89]|u202[89]", re.IGNORECASE)


def _control_in_json(text: str) -> int | None:
    """Where a control character stands in JSON text (raw, or as an escape), or None.

    One pass clears every string of the plan at once: C0 characters can only stand escaped
    (json refuses them raw), the others raw or escaped. str.isascii and str.find run at memory
    speed; a regex over phase 2's 11 MB would cost ~0.1 s.
    """
    if not text.isascii():
        hits = [i for i in map(text.find, _RAW_CONTROL) if i >= 0]
        if hits:
            return min(hits)
    i = text.find("\\")
    while i >= 0:
        j = i
        while j < len(text) and text[j] == "\\":
            j += 1
        if (j - i) % 2 and _ESCAPED_CONTROL.match(text, j):
            return j - 1
        i = text.find("\\", j)
    return None


class _Bad(Exception):
    """One thing wrong with a plan: what, and where (a top-level key, a row, or a line)."""

    def __init__(self, what: str, section: str | None = None, row: int | None = None,
                 line: int | None = None) -> None:
        super().__init__(what)
        self.what, self.section, self.row, self.line = what, section, row, line


def _record_fields(cls: type) -> list[tuple[str, str]]:
    """(name, annotation) of a record class; an annotation reading does not know is a bug."""
    out = [(f.name, str(f.type)) for f in fields(cls)]
    unknown = [t for _, t in out if t not in _TYPES]
    if unknown:  # pragma: no cover (caught by every test that reads a plan)
        raise TypeError(f"planjson: no reader for field type {unknown[0]} of {cls.__name__}")
    return out


_FIELDS = {section: _record_fields(cls) for section, cls in _RECORDS.items()}


def _no_constant(name: str) -> None:
    raise _Bad(f"{name} is not a number a plan can hold")


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        dup = pairs[_first_repeat(tuple(k for k, _ in pairs))][0]
        raise _Bad(f"key {dup!r} given twice in one object")
    return d


def _check_text(value: Any, section: str, text_clean: bool) -> None:
    """Nested JSON (models, facts, ...): no control characters in any string or key, numbers
    in range."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if not text_clean and _CONTROL.search(v):
                raise _Bad(f"{section}: the text {v[:40]!r} holds a control character", section)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, float) and not -1e18 < v < 1e18:
            raise _Bad(f"{section}: the number {v!r} is out of range", section)


def _first(col: tuple[Any, ...], bad: Callable[[Any], bool]) -> int:
    return next(i for i, v in enumerate(col) if bad(v))


def _first_repeat(col: tuple[Any, ...]) -> int:
    seen: set[Any] = set()
    for i, v in enumerate(col):
        if v in seen:
            return i
        seen.add(v)
    raise ValueError("no repeat")  # pragma: no cover (called only when there is one)


def _check_column(section: str, name: str, ann: str, col: tuple[Any, ...],
                  text_clean: bool) -> None:
    """One column of a record section: types, characters, shapes and ranges, whole at once."""
    allowed = _TYPES[ann]
    if not allowed.issuperset(map(type, col)):
        i = _first(col, lambda v: type(v) not in allowed)
        raise _Bad(f"{name} {col[i]!r} is not {_TYPE_WORDS[ann]}", section, i)
    if ann == "str":
        if not text_clean and _CONTROL.search("".join(col)):
            i = _first(col, lambda v: _CONTROL.search(v) is not None)
            raise _Bad(f"{name} {col[i]!r} holds a control character", section, i)
        shape = _SHAPES.get((section, name))
        if shape and col and not re.fullmatch(f"(?:{shape[0]}\n)*", "\n".join(col) + "\n"):
            rx = re.compile(shape[0])
            i = _first(col, lambda v: rx.fullmatch(v) is None)
            raise _Bad(f"{name} {col[i]!r} is not {shape[1]}", section, i)
    elif ann in ("int", "int | None"):
        nums = [v for v in col if v is not None] if ann == "int | None" else col
        lo, hi = _RANGES.get((section, name), _INT_RANGE)
        if nums and (min(nums) < lo or max(nums) > hi):
            i = _first(col, lambda v: v is not None and not lo <= v <= hi)
            raise _Bad(f"{name} {col[i]} is out of range ({lo}..{hi})", section, i)
    elif ann == "float" and col and max(map(abs, col)) > _FLOAT_LIMIT:
        i = _first(col, lambda v: abs(v) > _FLOAT_LIMIT)
        raise _Bad(f"{name} {col[i]!r} is out of range", section, i)
    elif ann == "tuple[dict[str, Any], ...]":
        for i, v in enumerate(col):
            if not all(isinstance(x, dict) for x in v):
                raise _Bad(f"{name}: every finding must be an object", section, i)
            _check_text(v, section, text_clean)


def _records(section: str, value: Any, text_clean: bool) -> list[tuple[Any, ...]]:
    """A record section's rows checked for shape and column by column; its columns back."""
    names = [n for n, _ in _FIELDS[section]]
    if not isinstance(value, dict) or set(value) != {"columns", "rows"}:
        raise _Bad(f"{section} must be an object of columns and rows", section)
    if value["columns"] != names:
        raise _Bad(f"{section} columns are {value['columns']!r}, this rscctl reads {names!r}",
                   section)
    rows = value["rows"]
    if not isinstance(rows, list):
        raise _Bad(f"{section} rows must be a list", section)
    n = len(names)
    if not {list}.issuperset(map(type, rows)) or not {n}.issuperset(map(len, rows)):
        i = _first(tuple(rows), lambda r: type(r) is not list or len(r) != n)
        raise _Bad(f"a record must be a list of {n} values ({', '.join(names)})",
                   section, i)
    # Transposed in one C pass (rows all have n values, checked above).
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in range(n)]
    for (name, ann), col in zip(_FIELDS[section], cols, strict=True):
        _check_column(section, name, ann, col, text_clean)
    return cols


def _check_records(doc: dict[str, Any], text_clean: bool) -> None:
    """Every record section on its own, then unique names and references between sections."""
    cols = {s: dict(zip((n for n, _ in _FIELDS[s]), _records(s, doc[s], text_clean),
                        strict=True))
            for s in _RECORDS if s in doc}
    for section, name in sorted(_UNIQUE):
        col = cols[section][name]
        if len(set(col)) != len(col):
            i = _first_repeat(col)
            raise _Bad(f"{name} {col[i]!r} appears twice", section, i)
    known = {s: set(cols[s]["name"]) for s in ("racks", "devices")}
    for (section, name), target in _REFS.items():
        if section not in cols:
            continue
        col = cols[section][name]
        missing = set(col).difference(known[target])
        if missing:
            i = _first(col, missing.__contains__)
            raise _Bad(f"{name} {col[i]!r} is not {_REF_WORDS[target]} of this plan",
                       section, i)


def _check_doc(doc: Any, text_clean: bool) -> None:
    """The top level: version first (a plan of another rscctl is told so), then every field.

    text_clean: the JSON text holds no control character at all, so strings need no scan."""
    if not isinstance(doc, dict):
        raise _Bad("not a plan (the top level must be a JSON object)", line=1)
    version = doc.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise _Bad(f"schema_version {version!r}, this rscctl reads {SCHEMA_VERSION}",
                   "schema_version" if "schema_version" in doc else None)
    plan_fields = {f.name: f for f in fields(Plan)}
    for key in doc:
        if key not in plan_fields:
            raise _Bad(f"unknown field {key!r}", key)
    for f in fields(Plan):
        if f.name not in doc and f.default is MISSING and f.default_factory is MISSING:
            raise _Bad(f"field {f.name!r} is missing", line=1)
    for key, want, words in (("build", str, "a string"), ("description", str, "a string"),
                             ("models", dict, "an object"), ("cable_families", list, "a list"),
                             ("facts", dict, "an object")):
        if key in doc:
            if not isinstance(doc[key], want):
                raise _Bad(f"{key} must be {words}", key)
            _check_text(doc[key], key, text_clean)
    if not re.fullmatch(_TOKEN, doc["build"]):
        raise _Bad(f"build {doc['build']!r} is not a build name", "build")
    if not all(isinstance(m, dict) for m in doc["models"].values()):
        raise _Bad("models: every model must be an object", "models")
    if not all(isinstance(c, dict) for c in doc["cable_families"]):
        raise _Bad("cable_families: every family must be an object", "cable_families")
    _check_records(doc, text_clean)


def _models(value: dict[str, Any]) -> dict[str, HardwareModel]:
    """The catalog entries, validated once here as the declaration validates them."""
    out: dict[str, HardwareModel] = {}
    for name, m in value.items():
        if not re.fullmatch(_TOKEN, name):
            raise _Bad(f"models: {name!r} is not a model name", "models")
        try:
            out[name] = HardwareModel.model_validate(m)
        except ValidationError as exc:
            raise _Bad(pydantic_problem(exc, f"models.{name}"), "models") from None
    return out


def _families(value: list[Any]) -> tuple[CableFamily, ...]:
    out = []
    for i, c in enumerate(value):
        try:
            out.append(CableFamily.model_validate(c))
        except ValidationError as exc:
            raise _Bad(pydantic_problem(exc, f"cable_families[{i}]"), "cable_families"
                       ) from None
    return tuple(out)


def _to_plan(doc: dict[str, Any]) -> Plan:
    """A checked document as a Plan (records built positionally: the columns are known; the
    catalog entries and facts decoded into their types, a misfit named by its field)."""
    kwargs: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "schema_version":
            continue
        if key in _RECORDS:
            cls = _RECORDS[key]
            if cls is CheckResult:
                kwargs[key] = tuple(CheckResult(n, p, s, tuple(f)) for n, p, s, f in value["rows"])
            else:
                kwargs[key] = tuple(starmap(cls, value["rows"]))
        elif key == "models":
            kwargs[key] = _models(value)
        elif key == "cable_families":
            kwargs[key] = _families(value)
        elif key == "facts":
            try:
                kwargs[key] = facts_from_json(value)
            except ValueError as exc:
                raise _Bad(str(exc), "facts") from None
        else:
            kwargs[key] = value
    unknown = {d.model for d in kwargs["devices"]}.difference(kwargs["models"])
    if unknown:
        i = _first(kwargs["devices"], lambda d: d.model in unknown)
        raise _Bad(f"model {kwargs['devices'][i].model!r} is not a model of this plan",
                   "devices", i)
    return Plan(**kwargs)


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _offset(text: str, section: str, row: int | None) -> int:
    """Where a top-level key (or the row-th record of its rows) starts in the text."""
    dec = json.JSONDecoder()
    i = _skip_ws(text, 0) + 1                                  # past the top-level '{'
    path: list[str | int] = [section] if row is None else [section, "rows", row]
    while True:
        i = _skip_ws(text, i)
        if text[i] == ",":
            i = _skip_ws(text, i + 1)
        start = i
        key, i = dec.raw_decode(text, i)
        i = _skip_ws(text, i) + 1                              # past ':'
        i = _skip_ws(text, i)
        if key != path[0]:
            i = dec.raw_decode(text, i)[1]
            continue
        if len(path) == 1:
            return start
        if isinstance(path[1], int):                           # inside the rows array
            i += 1
            for _ in range(path[1]):
                i = dec.raw_decode(text, _skip_ws(text, i))[1]
                i = _skip_ws(text, i) + 1                      # past ','
            return _skip_ws(text, i)
        path = path[1:]
        i += 1                                                 # into the object


def _line_of(text: str, bad: _Bad) -> int:
    if bad.line is not None:
        return bad.line
    try:
        if bad.section is not None:
            return text.count("\n", 0, _offset(text, bad.section, bad.row)) + 1
        m = re.search(r"[\[,:]\s*(?:-?Infinity|NaN)\b", text)  # the constants json refused
        dup = re.match(r"key ('.*') given twice", bad.what)
        if dup:
            key = _dump(ast.literal_eval(dup.group(1)))
            hits = [h.start() for h in re.finditer(re.escape(key) + r"\s*:", text)]
            m = None
            if len(hits) > 1:
                return text.count("\n", 0, hits[1]) + 1
        if m:
            return text.count("\n", 0, m.start()) + 1
    except (ValueError, IndexError, SyntaxError):
        pass
    return 1


def _fix(text: str) -> str:
    m = re.search(r'^"build":"([A-Za-z0-9_.-]{1,64})"', text[:4096], re.MULTILINE)
    return f"plan again with `rscctl plan {m.group(1) if m else 'BUILD'}`"


def _error(source: str, text: str, bad: _Bad) -> UserError:
    where = f"{bad.section}: " if bad.section is not None and bad.row is not None else ""
    return UserError(f"{source}:{_line_of(text, bad)}: {where}{bad.what}; {_fix(text)}")


def parse_plan_json(text: str, source: str = "plan.json") -> Plan:
    """Read plan.json text back into a checked Plan; anything wrong is one UserError that names
    the file, the line and what is wrong."""
    try:
        doc = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as exc:
        raise UserError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg}); {_fix(text)}"
                        ) from None
    except RecursionError:
        raise UserError(f"{source}:1: nested too deeply to be a plan; {_fix(text)}") from None
    except _Bad as bad:
        raise _error(source, text, bad) from None
    control = _control_in_json(text)
    try:
        _check_doc(doc, control is None)
        if control is not None:  # not in any field checked: report where it stands
            raise _Bad("a string holds a control character",
                       line=text.count("\n", 0, control) + 1)
        return _to_plan(doc)
    except _Bad as bad:
        raise _error(source, text, bad) from None


def read_plan(path: Path) -> Plan:
    """plan.json from disk, checked (see parse_plan_json); a missing or unreadable file, a
    directory or text that is not UTF-8 is a UserError too."""
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise UserError(f"{path}: a directory, not a plan; {_fix('')}")
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{path}: not a regular file; {_fix('')}")
        if st.st_size > MAX_PLAN_BYTES:
            raise UserError(f"{path}: {st.st_size:,} bytes, larger than any plan; {_fix('')}")
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise UserError(f"{path}: no plan here; run `rscctl plan BUILD` first") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror}); {_fix('')}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(f"{path}:{line}: not UTF-8 text (byte {exc.start}); {_fix('')}") from None
    return parse_plan_json(text, str(path))
