"""Parse ibnetdiscover's topology output (or an ibsim network file: the same format).

A pure function of text, tested without a fabric; the code that runs ibnetdiscover lives in the
lab and tests. Links are compared by node description and port, never by GUID, since the
description is what the plan names (`dgx0001 mlx5_0`, `leaf-s001-r1`,
`MF0;spine01:MCS8500/L01/U1`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from rscctl.errors import Finding

_HEADER = re.compile(r'^(Switch|Ca|Rt)\s+(\d+)\s+"([^"]+)"\s*(?:#\s*"((?:[^"\\]|\\.)*)")?')
_PORT = re.compile(
    r'^\[(\d+)\](?:\(([0-9a-fA-F]+)\))?\s+"([^"]+)"\[(\d+)\](?:\(([0-9a-fA-F]+)\))?'
    r'\s*(?:#.*?(?:"((?:[^"\\]|\\.)*)")?\s*(?:lid\s+\d+\s+)?(\d+x\w+)?\s*)?$'
)


@dataclass
class DiscoveredNode:
    kind: str  # "Switch" | "Ca"
    node_id: str
    desc: str
    ports: int
    guid: int | None = None
    port_guids: dict[int, int] = field(default_factory=dict)
    links: dict[int, tuple[str, int, str]] = field(default_factory=dict)  # port -> id, port, rate


@dataclass
class Topology:
    nodes: dict[str, DiscoveredNode]  # by node id ("S-<guid>", "H-<guid>")

    def desc(self, node_id: str) -> str:
        return self.nodes[node_id].desc if node_id in self.nodes else node_id

    def links(self) -> set[tuple[tuple[str, int], tuple[str, int]]]:
        """Every link once, as a sorted pair of (node description, port) ends."""
        out: set[tuple[tuple[str, int], tuple[str, int]]] = set()
        for node in self.nodes.values():
            for port, (peer, peer_port, _) in node.links.items():
                a, b = (node.desc, port), (self.desc(peer), peer_port)
                out.add((a, b) if a <= b else (b, a))
        return out

    def rates(self) -> set[str]:
        return {rate for n in self.nodes.values() for (_, _, rate) in n.links.values()}


def parse_ibnetdiscover(text: str) -> Topology:
    """Nodes and links of an ibnetdiscover topology; unknown lines (vendid=...) are skipped."""
    nodes: dict[str, DiscoveredNode] = {}
    current: DiscoveredNode | None = None
    guid: int | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            current = None
            continue
        if line.startswith(("switchguid=", "caguid=", "routerguid=")):
            guid = int(line.split("=", 1)[1].split("(", 1)[0], 16)
            continue
        m = _HEADER.match(line)
        if m:
            kind, ports, node_id, desc = m.groups()
            current = DiscoveredNode(kind, node_id, desc or node_id, int(ports), guid)
            nodes[node_id] = current
            guid = None
            continue
        if current is None or not line.startswith("["):
            continue
        p = _PORT.match(line)
        if p is None:
            raise ValueError(f"ibnetdiscover: cannot read port line {line!r}")
        port, own_guid, peer, peer_port, _, _, rate = p.groups()
        if own_guid:
            current.port_guids[int(port)] = int(own_guid, 16)
        current.links[int(port)] = (peer, int(peer_port), rate or "")
    return Topology(nodes)


End = tuple[str, int]
CHECK = "ib-links"


def compare_links(planned: Mapping[tuple[End, End], str], found: Topology) -> list[Finding]:
    """Findings for every planned link the fabric lacks and every link it has unplanned,
    by node description and port; each names the cable and where its ends really go.

    A cable swapped between two rails passes OpenSM's ftree silently; this catches it.
    """
    have = found.links()
    where: dict[End, End] = {}
    for a, b in have:
        where[a], where[b] = b, a

    def goes(end: End) -> str:
        far = where.get(end)
        return f"{end[0]}[{end[1]}] goes to {far[0]}[{far[1]}]" if far else (
            f"{end[0]}[{end[1]}] is dark")

    out: list[Finding] = []
    for (a, b), cable in sorted(planned.items()):
        if (a, b) not in have:
            what = f"cable {cable}" if cable else "director-internal link"
            out.append(Finding(
                CHECK, (a[0], b[0]),
                f"{what} {a[0]}[{a[1]}] - {b[0]}[{b[1]}] is not in the fabric; "
                f"{goes(a)}, {goes(b)}",
                f"recable {cable} as its labels say" if cable else "check the director",
            ))
    for a, b in sorted(have - planned.keys()):
        out.append(Finding(CHECK, (a[0], b[0]), f"unplanned link {a[0]}[{a[1]}] - "
                           f"{b[0]}[{b[1]}]", "remove it or plan it"))
    return out


__all__ = ["CHECK", "DiscoveredNode", "Topology", "compare_links", "parse_ibnetdiscover"]
