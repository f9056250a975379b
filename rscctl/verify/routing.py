"""`rscctl verify routing`: the worst link load of shift traffic, traced through the fabric's
real forwarding tables.

A shift permutation sends from node i to node i+k (mod N) on every rail at once, as ring and
all-to-all collectives do; with k = 1..N-1 every pair is covered. Each flow is followed hop by
hop: the source HCA's leaf, then at each switch the out port its linear forwarding table (LFT)
gives for the destination LID, to the far end of that port in the discovered topology, until
the destination HCA. The load of a link (in one direction) is the number of flows of one shift
that cross it. On the planned rail-optimized Clos under OpenSM's fat-tree routing it is 1 for
every shift; a miswired fabric that ftree accepts silently (two rails swapped at a node) shows
a higher load here, and only here, before a job runs slowly.

Inputs are text: OpenSM's opensm-lfts.dump (`-D 0x43 --dump_files_dir`) or `dump_fts` (the
same tables read live), and ibnetdiscover's output taken after the subnet manager assigned LIDs.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rscctl.errors import UserError
from rscctl.planner.model import Plan
from rscctl.verify.ibnetdiscover import DiscoveredNode, Topology

_SWITCH = re.compile(r"^Unicast lids \[[^\]]*\] of switch .*?\bguid (0x[0-9a-fA-F]+)\b")
_ENTRY = re.compile(r"^0x([0-9a-fA-F]+)\s+(\d+|UNREACHABLE)\b")
_OTHER = re.compile(r"^(Lid\s+Out|Port\s+Info|\d+ (valid )?lids dumped|ibwarn:|Multicast)")
MAX_HOPS = 64


class LftFileError(UserError):
    """Forwarding tables that are not an LFT dump (exit 2, the line named)."""


def read_lfts(text: str, source: str) -> dict[int, dict[int, int]]:
    """switch GUID -> {destination LID: out port} from opensm-lfts.dump or dump_fts output."""
    out: dict[int, dict[int, int]] = {}
    table: dict[int, int] | None = None
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or _OTHER.match(line):
            continue
        m = _SWITCH.match(line)
        if m:
            table = out.setdefault(int(m.group(1), 16), {})
            continue
        e = _ENTRY.match(line)
        if e is None or table is None:
            raise LftFileError(f"{source}:{no}: {line[:80]!r} is not a line of a forwarding "
                               "table dump; give opensm-lfts.dump or the output of dump_fts")
        if e.group(2) != "UNREACHABLE":
            table[int(e.group(1), 16)] = int(e.group(2))
    if not out:
        raise LftFileError(f"{source}: no 'Unicast lids ... of switch' table; give "
                           "opensm-lfts.dump or the output of dump_fts")
    return out


@dataclass
class RailLoad:
    rail: int
    shifts: int
    worst: int
    worst_shift: int
    busiest: str


@dataclass
class RoutingReport:
    build: str
    nodes: int
    rails: list[RailLoad]
    per_shift: dict[int, int]  # shift k -> worst link load (all rails at once)
    flows: int
    hops: int
    problems: list[str] = field(default_factory=list)

    @property
    def worst(self) -> int:
        return max(self.per_shift.values(), default=0)

    def as_dict(self) -> dict[str, Any]:
        return {"build": self.build, "nodes": self.nodes, "worst": self.worst,
                "flows": self.flows, "hops": self.hops, "problems": self.problems,
                "per_shift": {str(k): v for k, v in sorted(self.per_shift.items())},
                "rails": [vars(r) for r in self.rails]}


def rail_hcas(plan: Plan) -> dict[int, list[str]]:
    """Rail -> the node description of each GPU node's HCA on it, in node order."""
    devices = plan.device_index()
    order = {d.name: (d.index or 0, d.name) for d in plan.devices if d.role == "gpu-node"}
    rails: dict[int, list[tuple[tuple[int, str], str]]] = {}
    for c in plan.cables:
        if c.fabric != "compute" or c.a_device not in order:
            continue
        rail = devices[c.b_device].rail
        if rail is not None:
            rails.setdefault(rail, []).append((order[c.a_device], f"{c.a_device} {c.a_port}"))
    return {r: [desc for _, desc in sorted(v)] for r, v in sorted(rails.items())}


class _Tracer:
    def __init__(self, topo: Topology, lfts: dict[int, dict[int, int]]) -> None:
        self.topo = topo
        self.lfts = lfts
        self.by_desc: dict[str, DiscoveredNode] = {}
        for n in topo.nodes.values():
            self.by_desc.setdefault(n.desc, n)
        self.problems: list[str] = []
        self.hops = 0

    def path(self, src: DiscoveredNode, dst: DiscoveredNode) -> list[tuple[str, int]] | None:
        """Directed links (node id, out port) from src to dst, or None (a problem noted)."""
        if 1 not in src.links:
            self.problems.append(f"{src.desc}: port 1 is dark")
            return None
        links = [(src.node_id, 1)]
        node_id, _, _ = src.links[1]
        for _ in range(MAX_HOPS):
            if node_id == dst.node_id:
                self.hops += len(links)
                return links
            node = self.topo.nodes[node_id]
            table = self.lfts.get(node.guid or 0) if node.kind == "Switch" else None
            port = table.get(dst.lid) if table is not None else None
            if port is None or port not in node.links:
                why = ("no forwarding table" if table is None else
                       f"no route to LID {dst.lid}" if port is None else f"port {port} is dark")
                self.problems.append(f"{src.desc} -> {dst.desc}: {node.desc}: {why}")
                return None
            links.append((node_id, port))
            node_id = node.links[port][0]
        self.problems.append(f"{src.desc} -> {dst.desc}: a loop (over {MAX_HOPS} hops)")
        return None


def shift_loads(plan: Plan, topo: Topology, lfts: dict[int, dict[int, int]]) -> RoutingReport:
    """Worst link load of every shift permutation, all rails at once (see the module)."""
    rails = rail_hcas(plan)
    tr = _Tracer(topo, lfts)
    ends: dict[int, list[DiscoveredNode | None]] = {}
    for rail, descs in rails.items():
        ends[rail] = [tr.by_desc.get(d) for d in descs]
        tr.problems.extend(f"{d}: not in the discovered fabric"
                           for d, n in zip(descs, ends[rail], strict=True) if n is None)
        tr.problems.extend(f"{d}: no LID (discover after the subnet manager ran)"
                           for d, n in zip(descs, ends[rail], strict=True) if n and not n.lid)
    n = max((len(v) for v in rails.values()), default=0)
    per_shift: dict[int, int] = {}
    rail_worst = {r: (0, 0, "") for r in rails}
    flows = 0
    for k in range(1, n):
        load: Counter[tuple[str, int]] = Counter()
        used: dict[int, list[list[tuple[str, int]]]] = {}
        for rail, hcas in ends.items():
            m = len(hcas)
            for i, src in enumerate(hcas):
                dst = hcas[(i + k) % m]
                if src is None or dst is None or not dst.lid or src is dst:
                    continue
                flows += 1
                p = tr.path(src, dst)
                if p is not None:
                    load.update(p)
                    used.setdefault(rail, []).append(p)
        per_shift[k] = max(load.values(), default=0)
        for rail, paths in used.items():
            top, link = max(((load[x], x) for p in paths for x in p), default=(0, ("", 0)))
            if top > rail_worst[rail][0]:
                rail_worst[rail] = (top, k, f"{topo.desc(link[0])}[{link[1]}]")
    loads = [RailLoad(r, max(n - 1, 0), w, k, busiest)
             for r, (w, k, busiest) in rail_worst.items()]
    return RoutingReport(plan.build, n, loads, per_shift, flows, tr.hops,
                         sorted(set(tr.problems))[:1000])


__all__ = ["LftFileError", "RailLoad", "RoutingReport", "rail_hcas", "read_lfts",
           "shift_loads"]
