"""`rscctl verify cabling`: the discovered InfiniBand fabric against the plan, cable by cable.

OpenSM's fat-tree routing accepts cables swapped between rails or between uplinks without a
word (../shared/lab.md); only a comparison by name against the plan catches them. Links are
matched by node description and port (what ibnetdiscover reports and the plan names). A node
whose description is not planned is recognised by its GUID (declared or derived, as in
rscctl.export.ibfabric), else by where it is cabled, and reported as a wrong description; only
then are links compared, so one unnamed HCA is one finding, not a missing and an unexpected link.

Differences are grouped into what a technician does: two cables exchanged are ONE swap with the
fix ("swap the cables at leaf-s003-r2 ports 3 and 5"), a cable with one end in the wrong port is
one move, and the rest are missing or unexpected links. Every finding names the cable IDs, both
labels, and rack and rack unit of both ends.

A pure function of the plan and the parsed discovery; the CLI reads files and runs tools.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress
from operator import attrgetter, eq, itemgetter, not_
from typing import Any

from rscctl.declare.catalog import HardwareModel
from rscctl.export.ibfabric import DirectorLayout, IbFabric, IbLink, ib_fabric
from rscctl.planner.model import Cable, Device, Plan
from rscctl.verify.ibnetdiscover import DiscoveredNode, Topology

# Order findings are reported in: what changes the fabric most first.
KINDS = ("unknown-device", "wrong-description", "duplicate-description", "swapped", "moved",
         "miswired", "missing", "unexpected", "wrong-rate")

NodeEnd = tuple[int, int]  # (node index, port): planned nodes first, unknown ones after
_A, _A_PORT, _B, _B_PORT, _RATE = map(attrgetter, ("a", "a_port", "b", "b_port", "rate"))


def hardware_models(plan: Plan) -> Mapping[str, HardwareModel]:
    """The plan's models as catalog records."""
    return plan.models


@dataclass(frozen=True, slots=True)
class PortRef:
    """One end where a technician finds it: device, port, rack and rack unit."""

    device: str
    port: str
    rack: str
    ru: int | None

    def __str__(self) -> str:
        where = f"{self.rack} U{self.ru:02d}" if self.ru is not None else self.rack
        return f"{self.device}:{self.port} ({where})"


@dataclass(frozen=True, slots=True)
class CableRef:
    """A planned cable (or a director-internal link, cable_id '') a finding is about."""

    cable_id: str
    label_a: str
    label_b: str
    a: PortRef
    b: PortRef


@dataclass(frozen=True)
class CablingFinding:
    kind: str
    cables: tuple[CableRef, ...]
    found: str
    fix: str
    ports: tuple[PortRef, ...] = ()  # ends of unplanned links (no cable names them)

    def as_dict(self) -> dict[str, Any]:
        def end(p: PortRef) -> dict[str, Any]:
            return {"device": p.device, "port": p.port, "rack": p.rack, "ru": p.ru}
        return {
            "kind": self.kind, "found": self.found, "fix": self.fix,
            "cables": [{"cable_id": c.cable_id, "label_a": c.label_a, "label_b": c.label_b,
                        "a": end(c.a), "b": end(c.b)} for c in self.cables],
            "ports": [end(p) for p in self.ports],
        }


@dataclass
class CablingReport:
    build: str
    cables: int  # planned cables of the fabric
    planned_links: int  # with the directors' internal links
    discovered_links: int
    discovered_nodes: int
    findings: list[CablingFinding] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(KINDS, 0)
        for f in self.findings:
            out[f.kind] += 1
        return {k: v for k, v in out.items() if v}


class PortNames:
    """Node-level ends (node index, port) of the fabric as box-level ends (device, port)."""

    def __init__(self, plan: Plan, fab: IbFabric) -> None:
        self.fab = fab
        self.devices: dict[str, Device] = plan.device_index()
        self.models = hardware_models(plan)
        self._switch: dict[str, tuple[str, ...]] = {}
        self._layout: dict[str, DirectorLayout] = {}

    def _names(self, model: str) -> tuple[str, ...]:
        if model not in self._switch:
            self._switch[model] = self.models[model].switch_port_names()
        return self._switch[model]

    def port_name(self, node: int, port: int) -> str:
        n = self.fab.nodes[node]
        if n.role == "hca":
            return n.desc.split(" ", 1)[1]
        model = self.devices[n.device].model
        if n.role == "switch":
            names = self._names(model)
            return names[port - 1] if 0 < port <= len(names) else str(port)
        if model not in self._layout:
            self._layout[model] = DirectorLayout.of(model, self.models[model])
        lay = self._layout[model]
        unit = n.desc.rsplit("/", 2)
        if n.role == "director-leaf" and port <= lay.external:
            m, u = int(unit[-2][1:]), int(unit[-1][1:])
            index = (m - 1) * lay.ports_per_module + (u - 1) * lay.external + port - 1
            return self._names(model)[index]
        return f"{unit[-2]}/{unit[-1]} port {port} (internal)"

    def ref(self, node: int, port: int) -> PortRef:
        n = self.fab.nodes[node]
        d = self.devices[n.device]
        return PortRef(n.device, self.port_name(node, port), d.rack, d.ru)


def _unknown_ref(node: DiscoveredNode, port: int) -> PortRef:
    guid = f"GUID 0x{node.guid:016x}" if node.guid is not None else node.node_id
    return PortRef(f"{node.desc!r}", str(port), f"unknown {node.kind} {guid}", None)


class _Matcher:
    """One comparison: resolves discovered nodes to planned ones, then compares links."""

    def __init__(self, plan: Plan, fab: IbFabric, found: Topology) -> None:
        self.plan = plan
        self.fab = fab
        self.found = found
        self.names = PortNames(plan, fab)
        self.cables: dict[str, Cable] = {c.cable_id: c for c in plan.cables
                                         if c.fabric == fab.fabric}
        self.findings: list[CablingFinding] = []
        n = len(fab.nodes)
        self.index: dict[str, int] = {}  # discovered node id -> node index
        self.unknown: list[DiscoveredNode] = []
        self._first_unknown = n

    @cached_property
    def ends(self) -> tuple[list[NodeEnd], list[NodeEnd]]:
        """The A and B end of every planned link, in link order (built in C: zip, attrgetter)."""
        links = self.fab.links
        return (list(zip(map(_A, links), map(_A_PORT, links), strict=True)),
                list(zip(map(_B, links), map(_B_PORT, links), strict=True)))

    @cached_property
    def planned(self) -> dict[NodeEnd, tuple[NodeEnd, IbLink]]:
        """End -> (far end, link) of every planned link; built only when something differs
        (a matching phase-2 fabric never needs its 96,000 entries), at C speed."""
        a, b = self.ends
        links = self.fab.links
        out = dict(zip(a, zip(b, links, strict=True), strict=True))
        out.update(zip(b, zip(a, links, strict=True), strict=True))
        return out

    # -- naming ---------------------------------------------------------------------------
    def ref(self, end: NodeEnd) -> PortRef:
        node, port = end
        if node < self._first_unknown:
            return self.names.ref(node, port)
        return _unknown_ref(self.unknown[node - self._first_unknown], port)

    def cable_ref(self, link: IbLink) -> CableRef:
        a, b = self.ref((link.a, link.a_port)), self.ref((link.b, link.b_port))
        c = self.cables.get(link.cable_id)
        if c is None:
            return CableRef("", f"inside {a.device}", "", a, b)
        return CableRef(c.cable_id, c.label_a, c.label_b, a, b)

    def what(self, link: IbLink) -> str:
        return link.cable_id or f"the internal link {self.ref((link.a, link.a_port)).port}"

    # -- nodes ----------------------------------------------------------------------------
    def resolve(self) -> None:
        fab, found = self.fab, self.found
        by_desc = {x.desc: i for i, x in enumerate(fab.nodes)}
        by_guid = {x.guid: i for i, x in enumerate(fab.nodes)}
        taken: dict[int, str] = {}
        groups: dict[str, list[DiscoveredNode]] = {}
        for node in found.nodes.values():
            groups.setdefault(node.desc, []).append(node)
        pending: list[DiscoveredNode] = []
        for desc, nodes in groups.items():
            i = by_desc.get(desc)
            if i is None:
                pending.extend(nodes)
                continue
            if len(nodes) > 1:
                self._duplicates(i, nodes, by_guid)
                nodes = [x for x in nodes
                         if x.guid is not None and by_guid.get(x.guid) == i] or nodes[:1]
                pending.extend(x for x in groups[desc] if x is not nodes[0])
            self.index[nodes[0].node_id] = i
            taken[i] = nodes[0].node_id
        still: list[DiscoveredNode] = []
        for node in pending:
            i = by_guid.get(node.guid) if node.guid is not None else None
            if i is not None and i not in taken:
                self._rename(node, i, "its GUID")
                taken[i] = node.node_id
            else:
                still.append(node)
        for node in still:
            i = self._by_position(node)
            if i is not None and i not in taken:
                self._rename(node, i, "where it is cabled")
                taken[i] = node.node_id
            else:
                self.index[node.node_id] = self._first_unknown + len(self.unknown)
                self.unknown.append(node)

    def _by_position(self, node: DiscoveredNode) -> int | None:
        """The planned node every link of `node` lands where, if exactly one."""
        cands: set[int | None] = set()
        for port, (peer, peer_port, _) in node.links.items():
            j = self.index.get(peer)
            far = self.planned.get((j, peer_port)) if j is not None else None
            cands.add(far[0][0] if far and far[0][1] == port else None)
        return cands.pop() if len(cands) == 1 else None

    def _node_cables(self, i: int) -> tuple[CableRef, ...]:
        ends = [self.planned[(i, p)][1] for p in range(1, self.fab.nodes[i].ports + 1)
                if (i, p) in self.planned and self.planned[(i, p)][1].cable_id]
        return tuple(self.cable_ref(link) for link in ends)

    def _rename(self, node: DiscoveredNode, i: int, how: str) -> None:
        self.index[node.node_id] = i
        planned = self.fab.nodes[i]
        guid = f"0x{node.guid:016x}" if node.guid is not None else node.node_id
        if planned.kind == "Ca":
            hca = planned.desc.split(" ", 1)[1]
            fix = (f"set the node description of {planned.device}'s {hca} to "
                   f"{planned.desc!r} (rdma-ndd does it from the host name; by hand: echo "
                   f"-n '{planned.desc}' > /sys/class/infiniband/{hca}/node_desc)")
        else:
            fix = f"set the switch's node description (system name) to {planned.desc!r}"
        self.findings.append(CablingFinding(
            "wrong-description", self._node_cables(i),
            f"{node.kind} {guid} describes itself as {node.desc!r}; by {how} it is "
            f"{planned.desc!r}", fix))

    def _duplicates(self, i: int, nodes: list[DiscoveredNode], by_guid: dict[int, int]) -> None:
        guids = ", ".join(f"0x{x.guid:016x}" if x.guid is not None else x.node_id
                          for x in nodes)
        self.findings.append(CablingFinding(
            "duplicate-description", self._node_cables(i),
            f"{len(nodes)} nodes describe themselves as {self.fab.nodes[i].desc!r} ({guids})",
            "give each node its own description (rdma-ndd uses the host name: check for "
            "two hosts with one name)"))

    # -- links ----------------------------------------------------------------------------
    def compare(self) -> None:
        """Planned links first, all at once: the discovered far end at each link's A end
        against the planned one, as whole columns (map, zip, compress: a matching phase-2
        fabric costs no Python loop per link). Only nodes with a port that did not match are
        then indexed end by end for the grouping into swaps, moves, missing and unexpected."""
        found = self.found.nodes
        index = self.index
        first = self._first_unknown
        ids: list[str | None] = [None] * first  # planned node index -> discovered node id
        for nid, i in index.items():
            if i < first:
                ids[i] = nid
        unseen: dict[int, tuple[str, int, str]] = {}  # the ports of a node not discovered
        at = [found[nid].links if nid is not None else unseen for nid in ids]
        links = self.fab.links
        got = list(map(dict.get, map(at.__getitem__, map(_A, links)), map(_A_PORT, links)))
        want = list(zip(map(ids.__getitem__, map(_B, links)), map(_B_PORT, links),
                        map(_RATE, links), strict=True))
        same = list(map(eq, got, want))
        matched: Counter[str | None] = Counter(compress(map(ids.__getitem__, map(_A, links)),
                                                        same))
        matched.update(compress(map(itemgetter(0), want), same))
        missing: dict[IbLink, None] = {}
        for k in compress(range(len(links)), map(not_, same)):  # a few, or none
            link, g, w = links[k], got[k], want[k]
            if g is None or g[1] != w[1] or g[0] != w[0]:
                missing[link] = None
                continue
            self._rate(link, g[2])  # in place but at another rate: matched all the same
            matched[ids[link.a]] += 1
            matched[g[0]] += 1
        have: dict[NodeEnd, tuple[NodeEnd, str]] = {}
        for node in found.values():
            if matched.get(node.node_id, 0) == len(node.links):
                continue
            i = index[node.node_id]
            for port, (peer, peer_port, rate) in node.links.items():
                have[(i, port)] = ((index[peer], peer_port), rate)
        unexpected: dict[tuple[NodeEnd, NodeEnd], None] = {}
        planned = self.planned if have else {}
        for x, (y, _) in have.items():
            if x < y:
                far = planned.get(x)
                if far is None or far[0] != y:
                    unexpected[(x, y)] = None
        self._unknown_devices(have, missing, unexpected)
        self._swaps(have, missing, unexpected)
        self._moves(have, missing, unexpected)
        for link in missing:
            self._missing(link, have)
        for x, y in unexpected:
            self.findings.append(CablingFinding(
                "unexpected", (), f"{self.ref(x)} - {self.ref(y)} is not in the plan",
                "remove the cable (or plan it)", (self.ref(x), self.ref(y))))

    def _rate(self, link: IbLink, rate: str) -> None:
        def split(r: str) -> tuple[str, str]:
            w, _, s = r.partition("x")
            return w, s
        (pw, ps), (fw, fs) = split(link.rate), split(rate)
        what = " and ".join(w for w, bad in (("width", pw != fw), ("speed", ps != fs)) if bad)
        self.findings.append(CablingFinding(
            "wrong-rate", (self.cable_ref(link),),
            f"{self.what(link)} runs at {rate}, planned {link.rate} (wrong {what})",
            "reseat both ends; if it stays, replace the cable with its planned part"))

    def _unknown_devices(self, have: dict[NodeEnd, tuple[NodeEnd, str]],
                         missing: dict[IbLink, None],
                         unexpected: dict[tuple[NodeEnd, NodeEnd], None]) -> None:
        first = self._first_unknown
        for k, node in enumerate(self.unknown):
            i = first + k
            ports: list[PortRef] = []
            cables: list[CableRef] = []
            for port in sorted(node.links):
                y, _ = have[(i, port)]
                key = ((i, port), y) if (i, port) < y else (y, (i, port))
                unexpected.pop(key, None)
                if y[0] >= first:
                    continue
                ports.append(self.ref(y))
                far = self.planned.get(y)
                if far is not None and far[1] in missing:
                    del missing[far[1]]
                    cables.append(self.cable_ref(far[1]))
            guid = f"0x{node.guid:016x}" if node.guid is not None else node.node_id
            at = ", ".join(map(str, ports)) or "nothing planned"
            self.findings.append(CablingFinding(
                "unknown-device", tuple(cables),
                f"{node.kind} {node.desc!r} ({guid}) is not in the plan; it is cabled to {at}",
                "remove it, or plan it (and declare its GUID in compute.guids)", tuple(ports)))

    def _swaps(self, have: dict[NodeEnd, tuple[NodeEnd, str]], missing: dict[IbLink, None],
               unexpected: dict[tuple[NodeEnd, NodeEnd], None]) -> None:
        for x, y in list(unexpected):
            if (x, y) not in unexpected:
                continue
            fx, fy = self.planned.get(x), self.planned.get(y)
            if fx is None or fy is None or fx[1] is fy[1]:
                continue
            (px, l1), (py, l2) = fx, fy
            if l1 not in missing or l2 not in missing:
                continue
            got = have.get(px)
            if got is None or got[0] != py:
                continue
            del unexpected[(x, y)]
            unexpected.pop((px, py) if px < py else (py, px), None)
            del missing[l1], missing[l2]
            self.findings.append(self._swap_finding(l1, l2, (x, py), (px, y), have))

    def _swap_finding(self, l1: IbLink, l2: IbLink, pair1: tuple[NodeEnd, NodeEnd],
                      pair2: tuple[NodeEnd, NodeEnd],
                      have: dict[NodeEnd, tuple[NodeEnd, str]]) -> CablingFinding:
        """Exchanging the plugs of either pair of ends repairs the fabric: name the pair on
        one device (a node's two HCAs, a leaf's two ports), else the upper (B) ends."""
        def one_device(p: tuple[NodeEnd, NodeEnd]) -> bool:
            return self.ref(p[0]).device == self.ref(p[1]).device
        b_ends = {(l1.b, l1.b_port), (l2.b, l2.b_port)}
        pairs = sorted((pair1, pair2), key=lambda p: (not one_device(p), set(p) != b_ends))
        chosen = sorted(pairs[0], key=lambda e: (self.ref(e).device,
                                                 _port_key(self.ref(e).port)))
        pairs[0] = (chosen[0], chosen[1])
        e1, e2 = (self.ref(e) for e in pairs[0])
        if e1.device == e2.device:
            fix = f"swap the cables at {e1.device} ports {e1.port} and {e2.port}"
        else:
            fix = f"swap the cables at {e1.device}:{e1.port} and {e2.device}:{e2.port}"
        found = (f"{self.what(l1)} and {self.what(l2)} are exchanged: "
                 f"{self._reaches(pairs[0][0], have)}, {self._reaches(pairs[0][1], have)}")
        return CablingFinding("swapped", (self.cable_ref(l1), self.cable_ref(l2)), found, fix)

    def _reaches(self, end: NodeEnd, have: dict[NodeEnd, tuple[NodeEnd, str]]) -> str:
        r, got, want = self.ref(end), self.ref(have[end][0]), self.ref(self.planned[end][0])
        return (f"{r.device}:{r.port} reaches {got.device}:{got.port} (planned "
                f"{want.device}:{want.port})")

    def _moves(self, have: dict[NodeEnd, tuple[NodeEnd, str]], missing: dict[IbLink, None],
               unexpected: dict[tuple[NodeEnd, NodeEnd], None]) -> None:
        for x, y in list(unexpected):
            fx, fy = self.planned.get(x), self.planned.get(y)
            lx = fx[1] if fx is not None and fx[1] in missing else None
            ly = fy[1] if fy is not None and fy[1] in missing else None
            if lx is not None and ly is not None:
                del unexpected[(x, y)]
                del missing[lx], missing[ly]
                self.findings.append(CablingFinding(
                    "miswired", (self.cable_ref(lx), self.cable_ref(ly)),
                    f"{self.ref(x)} reaches {self.ref(y)}; planned: {self.what(lx)} to "
                    f"{self.ref(fx[0]) if fx else ''}, {self.what(ly)} to "
                    f"{self.ref(fy[0]) if fy else ''}",
                    f"recable {self.what(lx)} and {self.what(ly)} as their labels say"))
                continue
            if lx is None and ly is None:
                continue
            # One end is a planned cable's, the other a port no missing cable needs.
            right, wrong, link = (x, y, lx) if lx is not None else (y, x, ly)
            assert link is not None
            want = self.planned[right][0]
            del unexpected[(x, y)]
            del missing[link]
            w, r, p = self.ref(wrong), self.ref(right), self.ref(want)
            self.findings.append(CablingFinding(
                "moved", (self.cable_ref(link),),
                f"{self.what(link)}: the end at {r.device}:{r.port} is in place, its far end is "
                f"at {w}, planned at {p}",
                f"move {self.what(link)} from {w.device} port {w.port} to {p.device} port "
                f"{p.port}", (w,)))

    def _missing(self, link: IbLink, have: dict[NodeEnd, tuple[NodeEnd, str]]) -> None:
        def state(end: NodeEnd) -> str:
            r = self.ref(end)
            got = have.get(end)
            return (f"{r.device}:{r.port} is dark" if got is None
                    else f"{r.device}:{r.port} reaches {self.ref(got[0])}")
        a, b = (link.a, link.a_port), (link.b, link.b_port)
        fix = (f"connect {link.cable_id} as its labels say (check both plugs, then the cable)"
               if link.cable_id else f"check {self.ref(a).device}: an internal link is down")
        self.findings.append(CablingFinding(
            "missing", (self.cable_ref(link),),
            f"{self.what(link)} is not in the fabric: {state(a)}, {state(b)}", fix))

    def report(self) -> CablingReport:
        self.resolve()
        self.compare()
        order = {k: n for n, k in enumerate(KINDS)}
        self.findings.sort(key=lambda f: (order[f.kind], [c.cable_id for c in f.cables],
                                          f.found))
        return CablingReport(self.plan.build, len(self.cables), len(self.fab.links),
                             self.found.link_count(), len(self.found.nodes), self.findings)


def verify_cabling(plan: Plan, found: Topology, fab: IbFabric | None = None) -> CablingReport:
    """Every difference between the planned compute fabric and a discovered one."""
    return _Matcher(plan, fab or ib_fabric(plan), found).report()


# -- rows for the table, CSV and the work order ---------------------------------------------

ROW_COLUMNS = ("finding", "kind", "cable_id", "label_a", "label_b", "a_device", "a_port",
               "a_rack", "a_ru", "b_device", "b_port", "b_rack", "b_ru", "found", "fix")


def finding_rows(rep: CablingReport) -> Iterator[tuple[str | int, ...]]:
    """One row per cable of each finding (a swap gives two rows with one finding number);
    a finding without a planned cable gives one row with the ports it saw."""
    for n, f in enumerate(rep.findings, start=1):
        for c in f.cables:
            yield (n, f.kind, c.cable_id, c.label_a, c.label_b, c.a.device, c.a.port, c.a.rack,
                   _ru(c.a), c.b.device, c.b.port, c.b.rack, _ru(c.b), f.found, f.fix)
        if not f.cables:
            a = f.ports[0] if f.ports else PortRef("", "", "", None)
            b = f.ports[1] if len(f.ports) > 1 else PortRef("", "", "", None)
            yield (n, f.kind, "", "", "", a.device, a.port, a.rack, _ru(a), b.device, b.port,
                   b.rack, _ru(b), f.found, f.fix)


def _ru(p: PortRef) -> str | int:
    return "" if p.ru is None else p.ru


def walking_order(rep: CablingReport) -> list[tuple[int, CablingFinding, CableRef]]:
    """The cables to touch, in the cabling sheets' walking order (A-end rack, U, device, port)."""
    items = [(n, f, c) for n, f in enumerate(rep.findings, start=1) for c in f.cables
             if c.cable_id]
    key = _port_key
    items.sort(key=lambda t: (t[2].a.rack, t[2].a.ru or 0, t[2].a.device, key(t[2].a.port)))
    return items


def _port_key(port: str) -> Sequence[int | str]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", port)]


__all__ = ["KINDS", "ROW_COLUMNS", "CableRef", "CablingFinding", "CablingReport", "PortNames",
           "PortRef", "finding_rows", "hardware_models", "verify_cabling", "walking_order"]
