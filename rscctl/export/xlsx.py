"""cabling.xlsx: a summary sheet and one sheet per work order, set up for the floor and print.

The summary holds the counts, the bill of materials and a line per work order (cables, metres,
media) linked to its sheet. Each work-order sheet lists its cables in walking order with both
ends, the part to pick, both labels and an empty `done` column to tick.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rscctl.export.tables import BOM_COLUMNS, bom_rows
from rscctl.export.workorders import Walker, WorkOrder, work_orders
from rscctl.export.xlsxml import BOLD, HEADER, TITLE, Sheet, Value, write_xlsx
from rscctl.outputs import Files
from rscctl.planner.model import Plan

ORDER_COLUMNS = (
    "#", "cable ID", "A rack", "A U", "A device", "A port", "B rack", "B U", "B device",
    "B port", "media", "part number", "length m", "label A", "label B", "done",
)


def _num(length: float) -> int | float:
    """10.0 -> 10 so a sheet shows the stocked length as written on the part."""
    return int(length) if float(length).is_integer() else length


def order_sheet(wo: WorkOrder, walker: Walker) -> Sheet:
    ru = walker.ru
    rows: list[Sequence[Value]] = [ORDER_COLUMNS]
    rows.extend(
        (i, c.cable_id, c.a_rack, ru(c.a_device), c.a_device, c.a_port, c.b_rack,
         ru(c.b_device), c.b_device, c.b_port, c.media, c.part_number, _num(c.length_m),
         c.label_a, c.label_b, None)
        for i, c in enumerate(wo.cables, start=1)
    )
    return Sheet(wo.sheet, rows, header=0, row_styles={0: HEADER}, max_width=80.0)


def summary_sheet(plan: Plan, orders: list[WorkOrder]) -> Sheet:
    rows: list[Sequence[Value]] = []
    styles: dict[int, int] = {}
    links: list[tuple[int, int, str]] = []

    def add(row: Sequence[Value], style: int | None = None) -> None:
        if style is not None:
            styles[len(rows)] = style
        rows.append(row)

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
    add(BOM_COLUMNS, HEADER)
    for r in bom_rows(plan):
        add(tuple(_num(float(v)) if i == 3 and v != "" else v for i, v in enumerate(r)))
    add(())
    add(("Work orders (click a sheet name to open it)",), BOLD)
    media = sorted({c.media for c in plan.cables})
    add(("sheet", "fabric", "scope", "tier", "cables", "length m", *media), HEADER)
    for wo in orders:
        counts = wo.media_counts()
        links.append((len(rows), 0, wo.sheet))
        add((wo.sheet, wo.fabric, wo.scope, wo.tier, len(wo.cables), _num(wo.length_m),
             *(counts.get(m, 0) for m in media)))
    add(("total", "", "", "", len(plan.cables),
         _num(round(sum(c.length_m for c in plan.cables), 2)),
         *(sum(wo.media_counts().get(m, 0) for wo in orders) for m in media)), BOLD)
    return Sheet("Summary", rows, header=None, row_styles=styles, links=links, max_width=45.0)


def export_xlsx(plan: Plan) -> Files:
    walker = Walker(plan)
    orders = work_orders(plan)
    sheets = [summary_sheet(plan, orders), *(order_sheet(wo, walker) for wo in orders)]
    return {"cabling.xlsx": write_xlsx(sheets)}


__all__ = ["ORDER_COLUMNS", "export_xlsx"]
