"""The fixes of `verify cabling` as a work order: the cabling sheet of cabling.xlsx (same
columns, walking order: A-end rack, U, device, port), with what was found and what to do
before the `done` column, so a technician walks the floor with one kind of sheet."""

from __future__ import annotations

from collections.abc import Sequence

from rscctl.export.xlsx import ORDER_COLUMNS
from rscctl.formats.xlsx import TOP, WRAP, Table, write_xlsx
from rscctl.planner.model import Plan
from rscctl.verify.cabling import CablingReport, walking_order

SHEET = "fixes"
COLUMNS = (*ORDER_COLUMNS[:-1], "finding", "found", "fix", ORDER_COLUMNS[-1])
NUMERIC = tuple(c in ("#", "A U", "B U", "length m") for c in COLUMNS[:-1])
STYLES = tuple(WRAP if c.startswith(("label", "found", "fix")) else TOP for c in COLUMNS)


def _num(length: float) -> int | float:
    return int(length) if length == int(length) else length


def fixes_sheet(rep: CablingReport, plan: Plan) -> Table:
    """One row per planned cable a finding names (a swap: both cables, one finding number)."""
    cables = {c.cable_id: c for c in plan.cables}
    items = walking_order(rep)
    rows = [(n, f, ref, cables[ref.cable_id]) for n, f, ref in items]
    columns: list[Sequence[str | int | float]] = [
        range(1, len(rows) + 1),
        [r.cable_id for _, _, r, _ in rows],
        [r.a.rack for _, _, r, _ in rows],
        [r.a.ru or 0 for _, _, r, _ in rows],
        [r.a.device for _, _, r, _ in rows],
        [r.a.port for _, _, r, _ in rows],
        [r.b.rack for _, _, r, _ in rows],
        [r.b.ru or 0 for _, _, r, _ in rows],
        [r.b.device for _, _, r, _ in rows],
        [r.b.port for _, _, r, _ in rows],
        [c.media for *_, c in rows],
        [c.part_number for *_, c in rows],
        [_num(c.length_m) for *_, c in rows],
        [r.label_a for _, _, r, _ in rows],
        [r.label_b for _, _, r, _ in rows],
        [f"{n} {f.kind}" for n, f, _, _ in rows],
        [f.found for _, f, _, _ in rows],
        [f.fix for _, f, _, _ in rows],
    ]
    return Table(SHEET, COLUMNS, columns, NUMERIC, styles=STYLES)


def fixes_xlsx(rep: CablingReport, plan: Plan) -> bytes:
    return write_xlsx([fixes_sheet(rep, plan)])


__all__ = ["COLUMNS", "fixes_sheet", "fixes_xlsx"]
