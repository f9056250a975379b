"""drawings/: SVG rack elevations per row, a floor plan and fabric diagrams, from the plan alone.

- `racks-<hall>-<row>.svg`: every rack of a row, every device at its rack units, coloured by
  role and named, with the rack's used power.
- `floorplan.svg`: every rack where it stands, coloured by SU (network racks darker), spine
  and management racks in their own colours, with used / available kW.
- `fabric-compute.svg`: the compute Clos at the level of SUs, rails and spines: link counts
  per SU, per rail and per spine, and the SU x spine link matrix (a wrong count shows red).
- `fabrics.svg`: every fabric (compute, storage, management...) as device roles and the
  cable counts between them, so fabrics added later are drawn without code here.

Plain SVG text, no scripts or external fonts, so the same files go inline into index.html.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from xml.sax.saxutils import escape

from rscctl.declare.catalog import HardwareModel
from rscctl.export.memo import last_plan
from rscctl.outputs import Files
from rscctl.planner.model import Device, Plan, Rack

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

# Colours of the roles the planner knows; others get one of the spare colours, in name order.
ROLE_COLOURS = {
    "gpu-node": "#7fc97f",
    "compute-leaf": "#4f81bd",
    "compute-spine": "#8064a2",
    "storage-leaf": "#c0504d",
    "storage-spine": "#943634",
    "storage": "#d99694",
    "inband-switch": "#f79646",
    "oob-switch": "#4bacc6",
    "bastion": "#ffd966",
    "ingest-gateway": "#ffc000",
}
SPARE_COLOURS = ("#b2abd2", "#fdb863", "#a6dba0", "#f4a582", "#92c5de", "#d9d9d9")
# Racks outside SUs in greys (with their letter), so no SU's colour reads as a rack kind.
KIND_COLOURS = {"spine": "#8c8c8c", "management": "#d9d9d9", "storage": "#b3b3b3",
                "network": "#f2f2f2"}
DARK_KINDS = {"spine"}
KIND_LETTERS = {"gpu": "G", "network": "N", "spine": "SP", "storage": "ST", "management": "M"}


def kind_letter(kind: str) -> str:
    return KIND_LETTERS.get(kind, kind[:2].upper())
DARK_ROLES = {"compute-leaf", "compute-spine", "storage-spine", "storage-leaf"}


def role_colours(roles: Iterable[str]) -> dict[str, str]:
    out = dict(ROLE_COLOURS)
    spare = 0
    for role in sorted(set(roles)):
        if role not in out:
            out[role] = SPARE_COLOURS[spare % len(SPARE_COLOURS)]
            spare += 1
    return out


def su_colour(su: int, dark: bool = False) -> str:
    """Neighbouring SUs get clearly different hues (golden-angle steps), saturated enough to
    stand apart from the grey rack kinds of the legend."""
    hue = (su * 137.508) % 360
    return f"hsl({hue:.0f},55%,{38 if dark else 78}%)"


def t(s: object) -> str:
    return escape(str(s))


class Svg:
    """An SVG document built as a list of elements."""

    def __init__(self, width: float, height: float, title: str) -> None:
        self.w, self.h = width, height
        self.parts: list[str] = [f"<title>{t(title)}</title>",
                                 f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fff"/>']

    def rect(self, x: float, y: float, w: float, h: float, fill: str, stroke: str = "#333",
             sw: float = 1.0, extra: str = "") -> None:
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                          f'fill="{fill}" stroke="{stroke}" stroke-width="{sw}"{extra}/>')

    def text(self, x: float, y: float, s: object, size: float = 11, anchor: str = "start",
             weight: str = "normal", fill: str = "#000", extra: str = "") -> None:
        bold = ' font-weight="bold"' if weight == "bold" else ""
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" '
                          f'text-anchor="{anchor}"{bold} fill="{fill}"{extra}>{t(s)}</text>')

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = "#333",
             sw: float = 1.0) -> None:
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                          f'stroke="{stroke}" stroke-width="{sw}"/>')

    def raw(self, s: str) -> None:
        self.parts.append(s)

    def legend(self, x: float, y: float, items: list[tuple[str, str]], cols: int = 6) -> float:
        """Colour swatches with names; returns the y below the legend."""
        for i, (name, colour) in enumerate(items):
            cx, cy = x + (i % cols) * 190, y + (i // cols) * 20
            self.rect(cx, cy, 14, 14, colour, sw=0.6)
            self.text(cx + 20, cy + 11, name, 12)
        return y + ((len(items) + cols - 1) // cols) * 20

    def render(self) -> bytes:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w:.0f}" '
                f'height="{self.h:.0f}" viewBox="0 0 {self.w:.0f} {self.h:.0f}" '
                f'font-family="{FONT}">')
        return (head + "\n".join(self.parts) + "</svg>\n").encode("utf-8")


@dataclass(frozen=True)
class Layout:
    """Shared lookups: devices per rack, power used per rack, role colours."""

    racks: tuple[Rack, ...]
    by_rack: dict[str, list[Device]]
    power: dict[str, float]
    colours: dict[str, str]
    models: Mapping[str, HardwareModel]

    @classmethod
    def of(cls, plan: Plan) -> Layout:
        by_rack: dict[str, list[Device]] = defaultdict(list)
        power: dict[str, float] = defaultdict(float)
        for d in plan.devices:
            by_rack[d.rack].append(d)
            power[d.rack] += plan.models[d.model].power_kw
        return cls(plan.racks, dict(by_rack), dict(power),
                   role_colours(d.role for d in plan.devices), plan.models)

    def units(self, d: Device) -> int:
        return self.models[d.model].rack_units


# -- rack elevations ------------------------------------------------------------------------

U_PX = 14
RACK_W = 150
RACK_GAP = 34
ELEV_TOP = 110


def elevation(plan: Plan, lay: Layout, hall: str, row: str, racks: list[Rack]) -> bytes:
    """One row's racks side by side, U1 at the bottom, each device boxed at its units."""
    units = max(r.units for r in racks)
    width = 40 + len(racks) * (RACK_W + RACK_GAP)
    roles = sorted({d.role for r in racks for d in lay.by_rack.get(r.name, [])})
    legend_rows = (len(roles) + 5) // 6
    top = ELEV_TOP + 20 * max(legend_rows - 1, 0)
    zero = max((sum(1 for d in lay.by_rack.get(r.name, []) if lay.units(d) == 0)
                for r in racks), default=0)
    height = top + units * U_PX + 30 + 12 * zero
    svg = Svg(width, height, f"{plan.build}: rack elevations, hall {hall} row {row}")
    svg.text(20, 30, f"{plan.build} - rack elevations - hall {hall}, row {row}", 20, weight="bold")
    svg.legend(20, 44, [(role, lay.colours[role]) for role in roles])
    frames: set[int] = set()
    for i, rack in enumerate(racks):
        x = 40 + i * (RACK_W + RACK_GAP)
        base = top + units * U_PX  # y of the bottom of U1
        su = f" SU{rack.su:03d}" if rack.su is not None else ""
        svg.text(x + RACK_W / 2, top - 22, rack.name, 13, "middle", "bold")
        used = lay.power.get(rack.name, 0.0)
        svg.text(x + RACK_W / 2, top - 7, f"{rack.kind}{su} {used:.1f}/{rack.power_kw:g} kW",
                 10, "middle", fill="#c00000" if used > rack.power_kw else "#333")
        if rack.units not in frames:
            frames.add(rack.units)
            svg.raw(rack_frame(rack.units))
        svg.raw(f'<use href="#rack{rack.units}u" x="{x}" y="{base - rack.units * U_PX}"/>')
        zero_u = 0
        for d in lay.by_rack.get(rack.name, []):
            n = lay.units(d)
            fill = lay.colours[d.role]
            if n == 0:  # zero-U (PDUs): a bar beside the rack, named below it
                svg.rect(x + RACK_W + 2 + 6 * zero_u, base - rack.units * U_PX, 5,
                         rack.units * U_PX, fill, sw=0.5)
                svg.text(x, base + 14 + 12 * zero_u, f"0U {d.name}", 9)
                zero_u += 1
                continue
            dy = base - (d.ru + n - 1) * U_PX
            ink = "#fff" if d.role in DARK_ROLES else "#000"
            svg.rect(x + 2, dy + 1, RACK_W - 4, n * U_PX - 2, fill, sw=0.8)
            if n >= 3:
                svg.text(x + RACK_W / 2, dy + n * U_PX / 2, d.name, 13, "middle", "bold", ink)
                svg.text(x + RACK_W / 2, dy + n * U_PX / 2 + 15, f"{d.model}  U{d.ru}-"
                         f"U{d.ru + n - 1}", 10, "middle", fill=ink)
            else:
                svg.text(x + 6, dy + n * U_PX / 2 + 4, f"U{d.ru} {d.name}", 10, fill=ink)
    return svg.render()


def rack_frame(units: int) -> str:
    """An empty rack with its unit lines and numbers, defined once and <use>d per rack."""
    h = units * U_PX
    lines = "".join(f"M0 {u * U_PX}h{RACK_W}" for u in range(1, units))
    nums = "".join(f'<text x="-3" y="{h - (u - 1) * U_PX - 3}">{u}</text>'
                   for u in range(1, units + 1))
    return (f'<defs><g id="rack{units}u"><rect width="{RACK_W}" height="{h}" fill="#f2f2f2" '
            f'stroke="#333" stroke-width="1.5"/><path d="{lines}" stroke="#ddd" '
            f'stroke-width="0.5"/><g font-size="8" text-anchor="end" fill="#777">{nums}</g>'
            "</g></defs>")


def elevations(plan: Plan, lay: Layout) -> Files:
    rows: dict[tuple[str, str], list[Rack]] = {}
    for r in plan.racks:
        rows.setdefault((r.hall, r.row), []).append(r)
    return {f"drawings/racks-{hall}-{row}.svg": elevation(plan, lay, hall, row, racks)
            for (hall, row), racks in rows.items()}


# -- floor plan -----------------------------------------------------------------------------

PX_M = 44  # pixels per metre on the floor plan
RACK_DEPTH_M = 1.2


def floorplan(plan: Plan, lay: Layout) -> bytes:
    racks = plan.racks
    rw = min((b.x_m - a.x_m for a, b in pairwise(racks)
              if a.row == b.row and b.x_m > a.x_m), default=0.6)
    x0, x1 = min(r.x_m for r in racks), max(r.x_m for r in racks) + rw
    y0, y1 = min(r.y_m for r in racks), max(r.y_m for r in racks) + RACK_DEPTH_M
    left, top = 110, 160
    used_total = sum(lay.power.values())
    letters = ", ".join(f"{kind_letter(k)} {k}" for k in sorted({r.kind for r in racks}))
    captions = [
        (30, 20, f"{plan.build} - floor plan: {len(racks):,} racks, {used_total:,.0f} kW used "
                 f"of {sum(r.power_kw for r in racks):,.0f} kW"),
        (52, 12, f"Each rack: its kind ({letters}) and used kW."),
        (68, 12, "Colour = SU (its network rack darker); grey = racks outside SUs. Names "
                 "left = hall-row; the number under each rack is its position in the row."),
    ]
    kinds = sorted({r.kind for r in racks} - {"gpu", "network"})
    items = [("gpu rack of an SU", su_colour(1)), ("network rack of an SU", su_colour(1, True))]
    items += [(f"{k} rack", KIND_COLOURS.get(k, "#d9d9d9")) for k in kinds]
    if any(r.kind == "network" and r.su is None for r in racks):
        items.append(("network rack, shared", KIND_COLOURS["network"]))
    # Wide enough for the captions (~0.6 em a character) and the legend, not only the racks:
    # a small floor plan would otherwise cut off the legend's rack kinds.
    width = max(left + (x1 - x0) * PX_M + 200, 20 + min(len(items), 4) * 190,
                max(20 + 0.6 * size * len(s) for _, size, s in captions))
    height = top + (y1 - y0) * PX_M + 40
    svg = Svg(width, height, f"{plan.build}: floor plan")
    for cy, size, s in captions:
        svg.text(20, cy, s, size, weight="bold" if size == 20 else "normal")
    svg.legend(20, 80, items, cols=4)
    rows_seen: dict[tuple[str, str], tuple[float, float]] = {}
    su_span: dict[int, list[float]] = {}
    for r in racks:
        x = left + (r.x_m - x0) * PX_M
        y = top + (r.y_m - y0) * PX_M
        w, h = rw * PX_M, RACK_DEPTH_M * PX_M
        if r.su is not None and r.kind in ("gpu", "network"):
            fill = su_colour(r.su, dark=r.kind == "network")
            su_span.setdefault(r.su, [x, x + w, y])[1] = x + w
        else:
            fill = KIND_COLOURS.get(r.kind, "#d9d9d9")
        ink = ("#fff" if (r.kind == "network" and r.su is not None) or
               (r.su is None and r.kind in DARK_KINDS) else "#000")
        used = lay.power.get(r.name, 0.0)
        over = used > r.power_kw
        svg.rect(x, y, w, h, fill, "#c00000" if over else "#444", 2.0 if over else 0.6,
                 f' data-rack="{t(r.name)}"')
        svg.text(x + w / 2, y + 15, kind_letter(r.kind), 11, "middle", "bold", ink)
        svg.text(x + w / 2, y + 31, f"{used:.1f}", 10, "middle", fill=ink)
        svg.text(x + w / 2, y + 44, "kW", 8, "middle", fill=ink)
        svg.text(x + w / 2, y + h + 10, f"{r.position:02d}", 8, "middle", fill="#444")
        rows_seen.setdefault((r.hall, r.row), (y, x))
    for (hall, row), (y, _) in rows_seen.items():
        svg.text(left - 8, y + 32, f"{hall}-{row}", 13, "end", "bold")
    for su, (sx0, sx1, y) in sorted(su_span.items()):
        svg.text((sx0 + sx1) / 2, y - 3, f"SU{su:03d}", 10, "middle", "bold")
    return svg.render()


# -- compute fabric -------------------------------------------------------------------------


def compute_fabric(plan: Plan) -> bytes | None:
    """SUs, rails and spines of the compute fabric, with link counts; None without leaves."""
    devs = plan.device_index()
    leaves = [d for d in plan.devices if d.role == "compute-leaf"]
    spines = [d for d in plan.devices if d.role == "compute-spine"]
    if not leaves or not spines:
        return None
    sus = sorted({d.su for d in leaves if d.su is not None})
    rails = sorted({d.rail for d in leaves if d.rail is not None})
    down: Counter[tuple[int, int]] = Counter()  # (su, rail) -> node links
    up: Counter[tuple[int, str]] = Counter()  # (su, spine) -> leaf-spine links
    rail_up: Counter[tuple[int, str]] = Counter()
    spine_links: Counter[str] = Counter()
    nodes: Counter[int] = Counter(d.su for d in plan.devices if d.role == "gpu-node"
                                  and d.su is not None)
    for c in plan.cables:
        if c.fabric != "compute":
            continue
        a, b = devs[c.a_device], devs[c.b_device]
        if b.role == "compute-leaf" and b.su is not None and b.rail is not None:
            down[(b.su, b.rail)] += 1
        elif a.role == "compute-leaf" and b.role == "compute-spine" and a.su is not None:
            up[(a.su, b.name)] += 1
            rail_up[(a.rail or 0, b.name)] += 1
            spine_links[b.name] += 1
    lps = plan.facts.compute.links_per_spine
    want_cell = len(rails) * lps
    sp_names = [s.name for s in spines]
    cell, label_w, per_block, per_row, bh = 28, 64, 50, 10, 44.0
    blocks = (len(sus) + per_block - 1) // per_block
    block_w = label_w + len(sp_names) * cell + 30
    width = max(1500, 40 + blocks * block_w)
    su_rows = (len(sus) + per_row - 1) // per_row
    mat_top = 292 + su_rows * (bh + 4) + 40
    height = mat_top + 40 + min(len(sus), per_block) * 18 + 40
    svg = Svg(width, height, f"{plan.build}: compute fabric")
    svg.text(20, 30, f"{plan.build} - compute fabric: {len(sus)} SUs x {len(rails)} rails "
             f"-> {len(spines)} spines", 20, weight="bold")
    total_down, total_up = sum(down.values()), sum(up.values())
    svg.text(20, 52, f"{sum(nodes.values()):,} GPU nodes, {len(leaves):,} leaves; "
             f"{total_down:,} node-leaf links, {total_up:,} leaf-spine links "
             f"({'1:1, non-blocking' if total_up == total_down else 'NOT 1:1'})", 13)
    # Tier drawing: spines on top, the spine bus, rails, SU blocks.
    spine_w = (width - 80) / len(sp_names)
    for i, s in enumerate(sp_names):
        x = 40 + i * spine_w
        svg.rect(x + 2, 80, spine_w - 4, 58, ROLE_COLOURS["compute-spine"], sw=0.8)
        svg.text(x + spine_w / 2, 96, s, 11, "middle", "bold", "#fff")
        ports = plan.models[devs[s].model].switch_ports or "?"
        svg.text(x + spine_w / 2, 111, f"{spine_links[s]:,} links", 10, "middle", fill="#fff")
        svg.text(x + spine_w / 2, 125, f"of {ports} ports", 9, "middle", fill="#fff")
        svg.line(x + spine_w / 2, 138, x + spine_w / 2, 150, "#555", 1.2)
    svg.line(40, 150, width - 40, 150, "#555", 4)
    svg.text(20, 70, f"every leaf -> every spine, {lps} link(s) each: "
             f"{len(spines) * lps} uplinks per leaf, {len(rails) * len(spines) * lps} per SU",
             12)
    rail_w = (width - 80) / max(len(rails), 1)
    for i, rail in enumerate(rails):
        x = 40 + i * rail_w
        n_leaf = sum(1 for d in leaves if d.rail == rail)
        n_down = sum(v for (_, r), v in down.items() if r == rail)
        n_up = sum(v for (r, _), v in rail_up.items() if r == rail)
        svg.line(x + rail_w / 2, 150, x + rail_w / 2, 190, "#555", 1.2)
        svg.rect(x + 4, 190, rail_w - 8, 62, rail_colour(rail), sw=0.8)
        svg.text(x + rail_w / 2, 208, f"rail {rail}: {n_leaf} leaves", 12, "middle", "bold")
        svg.text(x + rail_w / 2, 225, f"{n_down:,} node links (HCA {rail})", 10, "middle")
        svg.text(x + rail_w / 2, 241, f"{n_up:,} uplinks", 10, "middle")
    # SU blocks: a small box per SU, a tick per rail leaf.
    bw = (width - 80) / per_row
    svg.text(20, 282, "SUs: nodes, leaves by rail, node links / uplinks (green = 1:1)", 13,
             weight="bold")
    for i, su in enumerate(sus):
        x = 40 + (i % per_row) * bw
        y = 292 + (i // per_row) * (bh + 4)
        d_su = sum(down[(su, r)] for r in rails)
        u_su = sum(up[(su, s)] for s in sp_names)
        svg.rect(x + 2, y, bw - 4, bh, "#e2efda" if d_su == u_su else "#f8cbad", sw=0.6,
                 extra=f' data-su="{su}"')
        svg.text(x + 7, y + 14, f"SU{su:03d}", 11, weight="bold")
        svg.text(x + bw - 7, y + 14, f"{nodes[su]} nodes", 10, "end")
        tick = (bw - 14) / max(len(rails), 1)
        for j, rail in enumerate(rails):
            svg.rect(x + 7 + j * tick, y + 19, tick - 1, 8, rail_colour(rail), "#666", 0.3)
        svg.text(x + bw / 2, y + bh - 5, f"{d_su} / {u_su} links", 10, "middle")
    # The SU x spine matrix of leaf-spine link counts, in blocks of 50 SUs side by side.
    svg.text(20, mat_top, f"leaf-spine links per SU (row) and spine (column): expected "
             f"{want_cell} in every cell (one per rail and link); red = different", 13,
             weight="bold")
    for i, su in enumerate(sus):
        bx = 40 + (i // per_block) * block_w + label_w
        y = mat_top + 30 + (i % per_block) * 18
        if i % per_block == 0:
            for j, s in enumerate(sp_names):
                svg.text(bx + j * cell + cell / 2, mat_top + 24, s.removeprefix("spine"), 10,
                         "middle", "bold")
        svg.text(bx - 6, y + 13, f"SU{su:03d}", 10, "end")
        for j, s in enumerate(sp_names):
            v = up[(su, s)]
            svg.rect(bx + j * cell, y, cell - 1, 17, "#e2efda" if v == want_cell else "#ff7c80",
                     "#fff", 0.5)
            svg.text(bx + j * cell + cell / 2, y + 13, v, 10, "middle")
    return svg.render()


def rail_colour(rail: int) -> str:
    return f"hsl({(rail - 1) * 45:.0f},70%,80%)"


# -- every fabric as roles ------------------------------------------------------------------


def fabrics(plan: Plan, lay: Layout) -> bytes:
    """Per fabric: each pair of device roles cabled together, with cable and device counts."""
    devs = plan.device_index()
    role_n = Counter(d.role for d in plan.devices)
    pairs: dict[str, Counter[tuple[str, str]]] = {}
    media: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for c in plan.cables:
        ra, rb = devs[c.a_device].role, devs[c.b_device].role
        pairs.setdefault(c.fabric, Counter())[(ra, rb)] += 1
        media[(c.fabric, ra, rb)][c.media] += 1
    rows = sum(len(p) for p in pairs.values())
    height = 80 + len(pairs) * 44 + rows * 56 + 20
    svg = Svg(1100, height, f"{plan.build}: fabrics")
    svg.text(20, 30, f"{plan.build} - fabrics: device roles and the cables between them", 20,
             weight="bold")
    y = 60.0
    for fabric, counter in pairs.items():
        svg.text(20, y + 24, f"{fabric}: {sum(counter.values()):,} cables", 15, weight="bold")
        y += 40
        for (ra, rb), n in counter.items():  # plan order: lower tiers first
            for x, role in ((40, ra), (760, rb)):
                svg.rect(x, y, 300, 42, lay.colours[role], sw=0.8)
                ink = "#fff" if role in DARK_ROLES else "#000"
                svg.text(x + 150, y + 18, role, 13, "middle", "bold", ink)
                svg.text(x + 150, y + 34, f"{role_n[role]:,} devices", 11, "middle", fill=ink)
            svg.line(340, y + 21, 760, y + 21, "#333", 2)
            svg.raw(f'<path d="M 760 {y + 21:.1f} l -10 -5 v 10 z" fill="#333"/>')
            mix = ", ".join(f"{m} {k:,}" for m, k in sorted(media[(fabric, ra, rb)].items()))
            svg.text(550, y + 15, f"{n:,} cables", 13, "middle", "bold")
            svg.text(550, y + 35, mix, 11, "middle")
            y += 56
    return svg.render()


@last_plan
def drawing_files(plan: Plan) -> Files:
    """Every drawing of the plan (shared by the drawings and html exporters)."""
    lay = Layout.of(plan)
    files = elevations(plan, lay)
    files["drawings/floorplan.svg"] = floorplan(plan, lay)
    files["drawings/fabrics.svg"] = fabrics(plan, lay)
    fabric = compute_fabric(plan)
    if fabric is not None:
        files["drawings/fabric-compute.svg"] = fabric
    return files


def export_drawings(plan: Plan) -> Files:
    return dict(drawing_files(plan))


__all__ = ["drawing_files", "export_drawings", "role_colours"]
