"""devices.csv, cabling.csv and bom.csv: the tables everyone else's tools read."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from rscctl.export.addresses import ADDRESS_COLUMNS, address_rows
from rscctl.export.escape import FORMULA_START, csv_cell
from rscctl.export.tables import (
    BOM_COLUMNS,
    CABLE_COLUMNS,
    DEVICE_COLUMNS,
    bom_rows,
    cable_rows,
    device_rows,
)
from rscctl.outputs import Files
from rscctl.planner.model import Plan


def plain_line(row: Sequence[Any]) -> str | None:
    """The row as csv.writer writes it when no field needs quoting, else None.

    csv.writer tests every character of every field against the delimiter, quote and line
    terminator; on phase 2's ~100,000 rows of long labels that is most of the CSV time. A row of
    two or more fields, none of them None, whose joined text holds no quote, no line break and
    exactly one comma per gap needs no quoting, so joining it gives the same bytes.
    """
    if len(row) < 2 or None in row:
        return None
    line = ",".join(map(str, row))
    if line.count(",") != len(row) - 1 or '"' in line or "\n" in line or "\r" in line:
        return None
    return line


# A joined line holding none of these has no cell that begins with a formula character.
_FORMULA_AFTER_COMMA = tuple("," + c for c in FORMULA_START)


def guarded(row: Sequence[Any]) -> Sequence[Any]:
    """The row with every text cell a spreadsheet would run as a formula neutralised."""
    return tuple(csv_cell(v) for v in row)


def cr_line(row: Sequence[Any]) -> str:
    """A row holding a carriage return, quoted as RFC 4180 says: csv.writer with a "\n"
    terminator leaves a lone CR unquoted, and every reader then ends the row there."""
    if len(row) == 1 and row[0] in ("", None):
        return '""'
    cells = []
    for v in row:
        text = "" if v is None else str(v)
        if any(c in text for c in ',"\n\r'):
            text = '"' + text.replace('"', '""') + '"'
        cells.append(text)
    return ",".join(cells)


def csv_bytes(columns: Iterable[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The one CSV writer of every table rscctl writes: csv.writer's bytes, with text cells
    that begin with =, +, -, @, tab or CR prefixed by ' (CSV injection; numbers stay numbers)
    and a cell holding a CR quoted (cr_line)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(guarded(tuple(columns)))
    for row in rows:
        line = plain_line(row)
        if line is not None and not line.startswith(FORMULA_START) and not any(
                p in line for p in _FORMULA_AFTER_COMMA):
            buf.write(line + "\n")
        else:
            row = guarded(row)
            if any(isinstance(v, str) and "\r" in v for v in row):
                buf.write(cr_line(row) + "\n")
            else:
                w.writerow(row)
    return buf.getvalue().encode("utf-8")


def export_csv(plan: Plan) -> Files:
    return {
        "devices.csv": csv_bytes(DEVICE_COLUMNS, device_rows(plan)),
        "cabling.csv": csv_bytes(CABLE_COLUMNS, cable_rows(plan)),
        "bom.csv": csv_bytes(BOM_COLUMNS, bom_rows(plan)),
        "addresses.csv": csv_bytes(ADDRESS_COLUMNS, address_rows(plan)),
    }
