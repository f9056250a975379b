"""cabling.xlsx: a summary sheet and one sheet per work order, set up for the floor and print.

The summary holds the counts, the bill of materials and a line per work order (cables, metres,
media) linked to its sheet. Each work-order sheet lists its cables in walking order with both
ends, the part to pick, both labels and an empty `done` column to tick.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rscctl.export.tables import BOM_HEADINGS, bom_rows
from rscctl.export.workorders import Walker, WorkOrder, work_orders
from rscctl.formats.xlsx import BOLD, HEADER, TITLE, TOP, WRAP, Sheet, Table, Value, write_xlsx
from rscctl.outputs import Files
from rscctl.planner.model import Plan

ORDER_COLUMNS = (
    "#", "cable ID", "A rack", "A U", "A device", "A port", "B rack", "B U", "B device",
    "B port", "media", "part number", "length m", "label A", "label B", "done",
)


def _num(length: float) -> int | float:
    """10.0 -> 10 so a sheet shows the stocked length as written on the part."""
    return int(length) if length == int(length) else length


NUMERIC = tuple(c in ("#", "A U", "B U", "length m") for c in ORDER_COLUMNS[:-1])
# Labels wrap in narrower columns so a printed page (fit to width) stays legible.
STYLES = tuple(WRAP if c.startswith("label") else TOP for c in ORDER_COLUMNS)


def order_sheet(wo: WorkOrder, walker: Walker) -> Table:
    """The work order's cables in walking order, column by column."""
    cs = wo.cables
    ru = walker.ru
    columns: list[Sequence[str | int | float]] = [
        range(1, len(cs) + 1),
        [c.cable_id for c in cs],
        [c.a_rack for c in cs],
        [ru(c.a_device) for c in cs],
        [c.a_device for c in cs],
        [c.a_port for c in cs],
        [c.b_rack for c in cs],
        [ru(c.b_device) for c in cs],
        [c.b_device for c in cs],
        [c.b_port for c in cs],
        [c.media for c in cs],
        [c.part_number for c in cs],
        [_num(c.length_m) for c in cs],
        [c.label_a for c in cs],
        [c.label_b for c in cs],
    ]
    return Table(wo.sheet, ORDER_COLUMNS, columns, NUMERIC, styles=STYLES)


class SummaryRows:
    """A Summary sheet built row by row: each row's style and links to work-order sheets."""

    def __init__(self) -> None:
        self.rows: list[Sequence[Value]] = []
        self.styles: dict[int, int] = {}
        self.links: list[tuple[int, int, str]] = []

    def add(self, row: Sequence[Value], style: int | None = None) -> None:
        if style is not None:
            self.styles[len(self.rows)] = style
        self.rows.append(row)

    def link(self, column: int, sheet: str) -> None:
        """The next row's cell in `column` opens `sheet`."""
        self.links.append((len(self.rows), column, sheet))

    def sheet(self) -> Sheet:
        return Sheet("Summary", self.rows, header=None, row_styles=self.styles,
                     links=self.links, max_width=45.0)


def summary_sheet(plan: Plan, orders: list[WorkOrder]) -> Sheet:
    summary = SummaryRows()
    add = summary.add
    add((f"{plan.build}: cabling work orders",), TITLE)
    add((plan.description,))
    add(())
    add(("Counts",), BOLD)
    add(("what", "count"), HEADER)
    for role, n in sorted(Counter(d.role for d in plan.devices).items()):
        add((f"devices: {role}", n))
    for fabric, n in Counter(c.fabric for c in plan.cables).items():
        add((f"cables: {fabric}", n))
    add(("cables: total", len(plan.cables)), BOLD)
    add(("cable ends to label", 2 * len(plan.cables)))
    add(("work orders", len(orders)))
    add(())
    add(("Bill of materials",), BOLD)
    add(BOM_HEADINGS, HEADER)
    for r in bom_rows(plan):
        add(tuple(_num(float(v)) if i == 3 and v != "" else v for i, v in enumerate(r)))
    add(())
    add(("Work orders (click a sheet name to open it)",), BOLD)
    media = sorted({c.media for c in plan.cables})
    add(("sheet", "fabric", "scope", "tier", "cables", "length m", *media), HEADER)
    for wo in orders:
        counts = wo.media
        summary.link(0, wo.sheet)
        add((wo.sheet, wo.fabric, wo.scope, wo.tier, len(wo.cables), _num(wo.length_m),
             *(counts.get(m, 0) for m in media)))
    add(("total", "", "", "", len(plan.cables),
         _num(round(sum(c.length_m for c in plan.cables), 2)),
         *(sum(wo.media.get(m, 0) for wo in orders) for m in media)), BOLD)
    return summary.sheet()


def export_xlsx(plan: Plan) -> Files:
    walker = Walker(plan)
    orders = work_orders(plan)
    sheets: list[Sheet | Table] = [summary_sheet(plan, orders)]
    sheets.extend(order_sheet(wo, walker) for wo in orders)
    return {"cabling.xlsx": write_xlsx(sheets)}


__all__ = ["ORDER_COLUMNS", "export_xlsx"]
