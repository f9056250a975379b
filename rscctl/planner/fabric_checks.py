"""The checks of the cabled plan: ports, the compute Clos, racks and cable stock.

Each returns findings, empty when it holds, and reads only the Plan (devices, cables, the models
it carries and its facts) through the check context, so it runs on a fresh plan, on plan.json
read back, and on a plan a test has broken on purpose. They are declared, with their summaries
and premises, in rscctl.planner.checks.

full-bisection is proved from the structure: a two-level Clos whose every leaf has at least as
many uplinks as node ports (m >= n) spread evenly over all spines is rearrangeably non-blocking
(Clos 1953; Benes), so any permutation of traffic runs at full rate and any bisection carries
half the endpoints' bandwidth. The spines are directors, themselves non-blocking two-level trees
of ASICs (checked from their ASIC layout). Tests cross-check this with max-flow on small builds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import pairwise

from rscctl.errors import Finding
from rscctl.planner.check_context import Context
from rscctl.planner.compute_fabric import spine_port_index
from rscctl.planner.model import Plan


def check_ports_unique(plan: Plan, ctx: Context) -> list[Finding]:
    """No port carries two cables."""
    seen: dict[tuple[str, str], str] = {}
    out: list[Finding] = []
    for c in plan.cables:
        for end in ((c.a_device, c.a_port), (c.b_device, c.b_port)):
            if end in seen:
                out.append(Finding(
                    "ports-unique", (end[0],),
                    f"port {end[0]}:{end[1]} carries cables {seen[end]} and {c.cable_id}",
                    "give one of the cables another port",
                ))
            else:
                seen[end] = c.cable_id
    return out


def check_ports_exist(plan: Plan, ctx: Context) -> list[Finding]:
    """Every cable end is a port its device's model has."""
    out: list[Finding] = []
    ports = {d.name: ctx.port_names(d.model) for d in plan.devices}
    for c in plan.cables:
        for dev, port in ((c.a_device, c.a_port), (c.b_device, c.b_port)):
            names = ports.get(dev)
            if names is None:
                out.append(Finding("ports-exist", (dev,), f"cable {c.cable_id} ends at unknown "
                                   f"device {dev}", "plan the device or drop the cable"))
            elif port not in names:
                d = ctx.devices[dev]
                out.append(Finding(
                    "ports-exist", (dev,),
                    f"cable {c.cable_id} uses port {port!r}, which a {d.model} does not have",
                    f"use a port of {d.model} (the catalog lists them)",
                ))
    return out


def check_leaf_1to1(plan: Plan, ctx: Context) -> list[Finding]:
    """Every leaf has as much uplink as downlink bandwidth (its SU's full node ports)."""
    per_su = ctx.facts.nodes_per_su
    out: list[Finding] = []
    for leaf, links in ctx.leaf_links.items():
        down, up = links.down, links.up
        need = max(down, per_su)
        if up < need:
            out.append(Finding(
                "leaf-1to1", (leaf,),
                f"{leaf} has {up} uplinks for {need} node ports ({up}:{need} is oversubscribed)",
                f"cable {need - up} more uplinks from {leaf} to the spines",
            ))
    return out


def check_spine_spread(plan: Plan, ctx: Context) -> list[Finding]:
    """Every leaf reaches every spine with the same number of links."""
    spines = ctx.of_role("compute-spine")
    links = ctx.leaf_links
    counts = Counter(n for ll in links.values() for s in spines for n in [ll.per_spine.get(s, 0)])
    if not counts:
        return []
    expected = counts.most_common(1)[0][0] if len(counts) > 1 else next(iter(counts))
    out: list[Finding] = []
    if expected == 0:
        return [Finding("spine-spread", tuple(spines), "no leaf reaches the spines",
                        "cable the leaf uplinks")]
    for leaf, ll in links.items():
        ps = ll.per_spine
        for s in spines:
            if ps.get(s, 0) != expected:
                out.append(Finding(
                    "spine-spread", (leaf, s),
                    f"{leaf} has {ps.get(s, 0)} links to {s}, every other pair has {expected}",
                    f"move uplinks of {leaf} so that each spine gets {expected}",
                ))
    return out


def check_rail_alignment(plan: Plan, ctx: Context) -> list[Finding]:
    """HCA of rail i of a node goes to its own SU's rail-i leaf, and nothing else does."""
    node_rails: dict[str, dict[str, int]] = {}
    for name, m in ctx.models.items():
        node_rails[name] = {p.name: p.rail for p in m.ports if p.kind == "compute" and p.rail}
    out: list[Finding] = []
    for c in plan.cables:
        if c.fabric != "compute":
            continue
        a, b = ctx.devices.get(c.a_device), ctx.devices.get(c.b_device)
        if a is None or b is None or a.role != "gpu-node":
            continue
        rail = node_rails.get(a.model, {}).get(c.a_port)
        if b.role != "compute-leaf":
            out.append(Finding("rail-alignment", (a.name, b.name),
                               f"{a.name}:{c.a_port} goes to {b.role} {b.name}, not a leaf",
                               "cable node HCAs only to their rail leaves"))
        elif rail != b.rail or a.su != b.su:
            out.append(Finding(
                "rail-alignment", (a.name, b.name),
                f"cable {c.cable_id}: {a.name}:{c.a_port} (SU {a.su}, rail {rail}) lands on "
                f"{b.name} (SU {b.su}, rail {b.rail})",
                f"move it to the rail-{rail} leaf of SU {a.su}",
            ))
    return out


def check_spine_reservation(plan: Plan, ctx: Context) -> list[Finding]:
    """Each leaf uses the spine ports reserved for its SU slot and rail (growth adds only)."""
    rails = ctx.facts.rails
    per = ctx.facts.links_per_spine
    out: list[Finding] = []
    # (spine model, SU, rail) -> the ports reserved for that leaf, the same on every spine
    reserved: dict[tuple[str, int, int | None], set[str]] = {}
    for c in plan.cables:
        if c.fabric != "compute":
            continue
        leaf, spine = ctx.devices.get(c.a_device), ctx.devices.get(c.b_device)
        if leaf is None or spine is None or spine.role != "compute-spine" or leaf.su is None:
            continue
        key = (spine.model, leaf.su, leaf.rail)
        if key not in reserved:
            m = ctx.models[spine.model]
            idx = [spine_port_index(rails, per, leaf.su, leaf.rail or 1, k) for k in range(per)]
            reserved[key] = {m.switch_port_name(i) for i in idx if i < m.switch_ports}
        allowed = reserved[key]
        if c.b_port not in allowed:
            out.append(Finding(
                "spine-reservation", (leaf.name, spine.name),
                f"cable {c.cable_id} lands on {spine.name}:{c.b_port}, outside the ports "
                f"reserved for SU {leaf.su} rail {leaf.rail} ({', '.join(sorted(allowed))})",
                "use the reserved port, or growth would have to move this cable",
            ))
    return out


def check_full_bisection(plan: Plan, ctx: Context) -> list[Finding]:
    """From structure: 1:1 leaves spread evenly over non-blocking spines, every HCA cabled.

    Its premises leaf-1to1 and spine-spread are declared with it (rscctl.planner.checks): the
    runner reports it as not proven when one of them fails."""
    out: list[Finding] = []
    rails = ctx.facts.rails
    for node in ctx.of_role("gpu-node"):
        degree = len(ctx.compute_peers.get(node, ()))
        if degree != rails:
            out.append(Finding("full-bisection", (node,),
                               f"{node} has {degree} compute links, not {rails}",
                               "cable every compute HCA of the node"))
    for spine in ctx.of_role("compute-spine"):
        m = ctx.models[ctx.devices[spine].model]
        if m.asics and m.asics.external_ports_per_leaf_asic > m.asics.spine_asics:
            out.append(Finding(
                "full-bisection", (spine,),
                f"{m.part_number}: a leaf ASIC has {m.asics.external_ports_per_leaf_asic} front "
                f"ports but only {m.asics.spine_asics} links up inside the director",
                "use a non-blocking director",
            ))
    return out




def check_rack_capacity(plan: Plan, ctx: Context) -> list[Finding]:
    """No rack holds more units or power than it has; no two devices share a rack unit."""
    racks = plan.rack_index()
    used: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    power: dict[str, float] = defaultdict(float)
    out: list[Finding] = []
    for d in plan.devices:
        m = ctx.models[d.model]
        used[d.rack].append((d.ru, d.ru + m.rack_units - 1, d.name))
        power[d.rack] += m.power_kw
    for rack, spans in used.items():
        r = racks.get(rack)
        if r is None:
            out.append(Finding("rack-capacity", tuple(s[2] for s in spans),
                               f"devices placed in unknown rack {rack}", "declare the rack"))
            continue
        spans.sort()
        for (lo1, hi1, n1), (lo2, _hi2, n2) in pairwise(spans):
            if lo2 <= hi1:
                out.append(Finding("rack-capacity", (n1, n2),
                                   f"{n1} (U{lo1}-U{hi1}) and {n2} (from U{lo2}) overlap "
                                   f"in {rack}", "move one of them"))
        if spans and (spans[0][0] < 1 or spans[-1][1] > r.units):
            out.append(Finding("rack-capacity", (spans[-1][2],),
                               f"{rack} is used beyond U1-U{r.units}", "move the device"))
        if power[rack] > r.power_kw + 1e-9:
            out.append(Finding("rack-capacity", tuple(s[2] for s in spans),
                               f"{rack} draws {power[rack]:.1f} kW of its {r.power_kw} kW",
                               "move devices to another rack or raise the rack's power"))
    return out


def check_cable_stock(plan: Plan, ctx: Context) -> list[Finding]:
    """Every cable has a stocked part long enough; copper never beyond its reach."""
    limits: dict[tuple[str, str], float] = {
        (f.media, f.cable_class): f.max_length_m for f in plan.cable_families}
    reach = {media: max(v for (m, _), v in limits.items() if m == media)
             for media, _ in limits}
    out: list[Finding] = []
    for c in plan.cables:
        if not c.part_number:
            out.append(Finding("cable-stock", (c.a_device, c.b_device),
                               f"cable {c.cable_id} needs {c.length_m} m, longer than any "
                               "stocked cable", "stock a longer cable or move the racks closer"))
        elif c.length_m > reach.get(c.media, 0) + 1e-9:
            out.append(Finding("cable-stock", (c.a_device, c.b_device),
                               f"cable {c.cable_id}: {c.media} of {c.length_m} m is past its "
                               f"reach of {reach.get(c.media)} m", "use a longer-reach medium"))
    return out


def bisection_summary(plan: Plan, ctx: Context) -> str:
    hcas = len(ctx.of_role("gpu-node")) * ctx.facts.rails
    speed = ctx.facts.port_speed_gbps
    return (
        f"proved from structure (Clos m >= n): {hcas:,} HCAs x {speed:g} Gb/s, "
        f"bisection {hcas * speed / 2 / 1000:,.1f} Tb/s"
    )
