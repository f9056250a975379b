"""Rows of the tabular deliverables, generated once, written by thin writers (CSV, XLSX, HTML)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from rscctl.planner.model import Plan

DEVICE_COLUMNS = ("name", "role", "model", "su", "hall", "row", "rack", "ru")
CABLE_COLUMNS = (
    "cable_id", "fabric", "a_device", "a_port", "a_rack", "b_device", "b_port", "b_rack",
    "media", "part_number", "length_m", "label_a", "label_b",
)
BOM_COLUMNS = ("category", "item", "part_number", "length_m", "count")
# The same columns as staff read them (cabling.xlsx, index.html); bom.csv keeps BOM_COLUMNS,
# the field names every other table and tool uses.
BOM_HEADINGS = ("category", "item", "part number", "length m", "count")
Row = tuple[str | int | float, ...]


def fmt_length(length: float) -> str:
    """1.5 -> '1.5', 10.0 -> '10': how a stocked length is written on a sheet."""
    return f"{length:g}"


def device_rows(plan: Plan) -> Iterator[Row]:
    racks = plan.rack_index()
    for d in plan.devices:
        r = racks[d.rack]
        yield (d.name, d.role, d.model, "" if d.su is None else d.su, r.hall, r.row, d.rack, d.ru)


def cable_rows(plan: Plan) -> Iterator[Row]:
    for c in plan.cables:
        yield (c.cable_id, c.fabric, c.a_device, c.a_port, c.a_rack, c.b_device, c.b_port,
               c.b_rack, c.media, c.part_number, fmt_length(c.length_m), c.label_a, c.label_b)


def bom_rows(plan: Plan) -> Iterator[Row]:
    """Count per model, per cable part and length, and the transceivers fibre runs need."""
    models = Counter(d.model for d in plan.devices)
    for model in sorted(models):
        yield ("device", model, plan.models[model].part_number, "", models[model])
    cables = Counter((c.media, c.part_number, c.length_m) for c in plan.cables)
    # by medium, then length as a number (1, 2, 10 m, not "1", "10", "2" through the part)
    for (media, part, length), n in sorted(cables.items(),
                                           key=lambda kv: (kv[0][0], kv[0][2], kv[0][1])):
        yield ("cable", media, part, fmt_length(length), n)
    transceivers: Counter[str] = Counter()
    by_family: dict[tuple[str, str], str | None] = {
        (f.media, p): f.transceiver for f in plan.cable_families for p in f.parts.values()}
    for (media, part, _), n in cables.items():
        xcvr = by_family.get((media, part))
        if xcvr:
            transceivers[xcvr] += 2 * n
    for part, n in sorted(transceivers.items()):
        yield ("transceiver", "transceiver", part, "", n)
