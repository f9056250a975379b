"""index.html: one static page with everything inline (no server, no network): the summary,
the bill of materials, the work orders, the drawings and a cable search.

Phase 2 has 50,000 cables: they travel as one inline block of gzipped JSON (rows of plain
values, work orders as indexes), unpacked by the browser, searched in memory, and at most
LIMIT rows are rendered, so the page stays quick on a tablet. A query equal to a cable ID or
to one of its labels shows exactly that cable; anything else is a case-insensitive AND of
words over every column. A full `device:port` (as printed on every label) is exact too: it
shows the one cable on that port, not every port it is a prefix of (`leaf-s001-r1:1` is not
`:10`-`:19`).
`index.html#q=TEXT` opens with TEXT searched (a link or QR code on a label can point there).
"""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from typing import TYPE_CHECKING

from rscctl.export.drawings import drawing_files
from rscctl.export.tables import BOM_HEADINGS, bom_rows
from rscctl.export.workorders import Walker, work_orders
from rscctl.outputs import Files
from rscctl.planner.model import Plan
from rscctl.templating import render

if TYPE_CHECKING:
    from rscctl.growth.steps import Growth

LIMIT = 200
DRAWINGS = (
    ("fabric-compute", "Compute fabric: SUs, rails, spines"),
    ("fabrics", "Fabrics: roles and cables"),
    ("floorplan", "Floor plan"),
)
CABLE_HEADER = (
    "cable ID", "work order", "A rack", "A U", "A device", "A port", "B rack", "B U",
    "B device", "B port", "media", "length m", "part number", "label A", "label B",
)


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def cable_json(plan: Plan) -> str:
    """The cables in work-order walking order, as compact JSON."""
    walker = Walker(plan)
    ru = walker.ru
    orders = work_orders(plan)
    rows = [
        (c.cable_id, n, c.a_rack, ru(c.a_device), c.a_device, c.a_port, c.b_rack,
         ru(c.b_device), c.b_device, c.b_port, c.media, _num(c.length_m), c.part_number,
         c.label_a, c.label_b)
        for n, wo in enumerate(orders) for c in wo.cables
    ]
    doc = {"columns": CABLE_HEADER, "orders": [wo.sheet for wo in orders], "rows": rows}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def cable_data(plan: Plan) -> str:
    """cable_json gzipped (fixed mtime: same bytes every time) and base64: 14 MB of JSON for
    phase 2 travels as 2.6 MB, so the page opens faster on a tablet. Level 1 costs 0.1 s."""
    packed = gzip.compress(cable_json(plan).encode("utf-8"), compresslevel=1, mtime=0)
    return base64.b64encode(packed).decode("ascii")


def _svg(data: bytes) -> str:
    return data.decode("utf-8")


def growth_view(growth: Growth) -> dict[str, object]:
    """What the report shows of a growth (`rscctl plan B --from A`): counts and the steps."""
    d = growth.diff
    return {
        "old": d.old.build,
        "cards": [
            ("cables to add", f"{len(d.added):,}"),
            ("devices to add", f"{len(d.added_devices):,}"),
            ("cables moved or removed", f"{d.moved_cables:,}"),
            ("addresses changed", f"{d.changed_addresses:,}"),
            ("steps", f"{len(growth.steps):,}"),
        ],
        "steps": [(s.number, s.order.sheet, s.order.tier, len(s.order.cables),
                   s.order.length_m, len(s.power_on)) for s in growth.steps],
    }


def export_html(plan: Plan) -> Files:
    return export_html_growth(plan, None)


def export_html_growth(plan: Plan, growth: Growth | None) -> Files:
    """The report; with `growth` (`rscctl plan --from`), also its growth section."""
    roles = sorted(Counter(d.role for d in plan.devices).items())
    devs = plan.device_index()
    tiers = Counter((c.fabric, f"{devs[c.a_device].role} > {devs[c.b_device].role}")
                    for c in plan.cables)
    orders = work_orders(plan)
    cards = [
        ("GPU nodes", f"{sum(n for r, n in roles if r == 'gpu-node'):,}"),
        ("devices", f"{len(plan.devices):,}"),
        ("racks", f"{len(plan.racks):,}"),
        ("cables", f"{len(plan.cables):,}"),
        ("cable ends to label", f"{2 * len(plan.cables):,}"),
        ("work orders", f"{len(orders):,}"),
        ("checks", "all passed" if plan.passed else "FAILED"),
    ]
    svgs = drawing_files(plan)
    drawings = [(title, _svg(svgs[f"drawings/{name}.svg"])) for name, title in DRAWINGS
                if f"drawings/{name}.svg" in svgs]
    rows = dict.fromkeys((r.hall, r.row) for r in plan.racks)
    elevations = [(f"{h}-{r}", f"hall {h}, row {r}", _svg(svgs[f"drawings/racks-{h}-{r}.svg"]))
                  for h, r in rows]
    page = render(
        "report/index.html.j2",
        build=plan.build, description=plan.description, cards=cards, roles=roles,
        tiers=[(f, t, n) for (f, t), n in tiers.items()],
        checks=[(c.name, c.passed, c.summary) for c in plan.checks],
        bom_columns=BOM_HEADINGS, bom=list(bom_rows(plan)),
        orders=[(wo.sheet, wo.fabric, wo.tier, len(wo.cables), wo.length_m) for wo in orders],
        drawings=drawings, elevations=elevations, cable_header=CABLE_HEADER,
        cable_data=cable_data(plan), limit=LIMIT,
        growth=growth_view(growth) if growth is not None else None,
    )
    return {"index.html": page.encode("utf-8")}


__all__ = ["CABLE_HEADER", "LIMIT", "cable_data", "cable_json", "export_html",
           "export_html_growth", "growth_view"]
