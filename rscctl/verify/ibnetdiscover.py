"""Parse ibnetdiscover's topology output (or an ibsim network file: the same format).

A pure function of text, tested without a fabric; the code that runs ibnetdiscover lives in the
lab and tests. Links are compared by node description and port, never by GUID, since the
description is what the plan names (`dgx0001 mlx5_0`, `leaf-s001-r1`,
`MF0;spine01:MCS8500/L01/U1`).

Two levels of strictness:
- `parse_ibnetdiscover(text)`: every line must be one ibnetdiscover writes (a comment, a
  `key=value` line of a record, a `Switch`/`Ca`/`Rt` header, a port line with its far end,
  description, lid and rate), else a DiscoveredFileError naming the line. Excerpts parse.
- `read_discovered(text, source)`: that, and the file must be whole: at least one node, every
  far end listed as a node, every link seen from both ends, no port past the node's count.
  A file cut anywhere, or another tool's output, is refused this way (exit 2), never half-read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from rscctl.errors import Finding, UserError

_RATE = r"\d+x(?:SDR|DDR|QDR|FDR10|FDR|EDR|HDR|NDR|XDR)"
# A quoted description with backslash escapes, written as an unrolled loop: the same language as
# `(?:[^"\\]|\\.)*` at a fraction of the cost (no alternation per character).
_QUOTED = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_DESC = r'"([^"\\]*(?:\\.[^"\\]*)*)"'  # _QUOTED, its text captured
_HEADER = re.compile(r'^(Switch|Ca|Rt)\s+(\d+)\s+"([^"]+)"\s*#\s*' + _DESC + r"(.*)$")
# One pattern for a whole port line (one match per line: phase 2 has 96,000 of them), capturing
# only what is kept (port, own port GUID, peer, peer port, a CA's own LID, rate):
# [port](own port guid) "peer"[port](peer port guid)  # [lid N lmc N] "description" lid N RATE
_PORT = re.compile(
    r'\[(\d+)\](?:\(([0-9a-fA-F]+)\))?\s*"([^"]+)"\[(\d+)\](?:\([0-9a-fA-F]+\))?\s*#'
    r"\s*(?:lid\s+(\d+)\s+lmc\s+\d+\s+)?" + _QUOTED + r"\s+lid\s+\d+\s+("
    + _RATE + r")(?:\s.*)?"
)
_KEYS = ("vendid=", "devid=", "sysimgguid=", "switchguid=", "caguid=", "routerguid=")
_LID = re.compile(r"\blid\s+(\d+)")
WHOLE_OUTPUT = "give the whole output of `ibnetdiscover` (redirected to a file, not cut)"


class DiscoveredFileError(UserError, ValueError):
    """A discovered file that is not (whole) ibnetdiscover output: exit 2, file:line named."""


@dataclass
class DiscoveredNode:
    kind: str  # "Switch" | "Ca" | "Rt"
    node_id: str
    desc: str
    ports: int
    guid: int | None = None
    port_guids: dict[int, int] = field(default_factory=dict)
    links: dict[int, tuple[str, int, str]] = field(default_factory=dict)  # port -> id, port, rate
    lid: int = 0  # a switch's LID (header), a CA's port-1 LID (its port line)
    line: int = 0  # where its header is
    port_lines: dict[int, int] = field(default_factory=dict)


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

    def link_count(self) -> int:
        return sum(len(n.links) for n in self.nodes.values()) // 2


def _guid(value: str, source: str, no: int) -> int:
    try:
        return int(value.split("(", 1)[0], 16)
    except ValueError:
        raise DiscoveredFileError(f"{source}:{no}: {value!r} is not a GUID; "
                                  f"{WHOLE_OUTPUT}") from None


def parse_ibnetdiscover(text: str, source: str = "ibnetdiscover output") -> Topology:
    """Nodes and links of an ibnetdiscover topology, every line checked (see the module).

    One loop, the port line (96,000 in phase 2) handled inline: one match, three dict
    stores; errors are worded by _port_error, off the hot path."""
    nodes: dict[str, DiscoveredNode] = {}
    current: DiscoveredNode | None = None
    links: dict[int, tuple[str, int, str]] = {}
    lines: dict[int, int] = {}
    guid: int | None = None
    port_line = _PORT.fullmatch
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            current = None
            continue
        if line[0] == "[":
            m = port_line(line)
            if m is None or current is None:
                raise _port_error(current, line, source, no)
            port_s, own_guid, peer, peer_port, own_lid, rate = m.groups()
            port = int(port_s)
            if port in links:
                raise DiscoveredFileError(f"{source}:{no}: port {port} of {current.desc!r} is "
                                          f"listed twice; {WHOLE_OUTPUT}")
            if own_guid:
                current.port_guids[port] = int(own_guid, 16)
            if own_lid is not None and current.kind == "Ca" and not current.lid:
                current.lid = int(own_lid)
            links[port] = (peer, int(peer_port), rate)
            lines[port] = no
            continue
        if line[0] == "#":
            continue
        if line.startswith(_KEYS):
            key, value = line.split("=", 1)
            if key in ("switchguid", "caguid", "routerguid"):
                guid = _guid(value, source, no)
            continue
        h = _HEADER.match(line)
        if h is None:
            raise DiscoveredFileError(
                f"{source}:{no}: {line[:80]!r} is not a line of ibnetdiscover's topology "
                f"format (Switch/Ca record, port line, key=value, # comment); {WHOLE_OUTPUT}")
        kind, ports, node_id, desc, rest = h.groups()
        if node_id in nodes:
            raise DiscoveredFileError(f"{source}:{no}: node {node_id} is listed twice (first at "
                                      f"line {nodes[node_id].line}); {WHOLE_OUTPUT}")
        lid = _LID.search(rest)
        current = DiscoveredNode(kind, node_id, desc, int(ports), guid,
                                 lid=int(lid.group(1)) if lid else 0, line=no)
        links, lines = current.links, current.port_lines
        nodes[node_id] = current
        guid = None
    return Topology(nodes)


def _port_error(current: DiscoveredNode | None, line: str, source: str,
                no: int) -> DiscoveredFileError:
    if current is None:
        return DiscoveredFileError(f"{source}:{no}: port line outside a Switch or Ca record; "
                                   f"{WHOLE_OUTPUT}")
    return DiscoveredFileError(f"{source}:{no}: cannot read port line {line[:100]!r} (want "
                               '[port] "peer"[port] # "description" lid N 4xHDR); '
                               f"{WHOLE_OUTPUT}")


def check_whole(topo: Topology, source: str) -> None:
    """Refuse a topology that is not a whole discovery (see the module docstring).

    A node passes on one lean loop (port range by min/max, far node, link back); only a node
    that fails is walked again by _refuse_node, port by port, for the first problem's words."""
    nodes = topo.nodes
    if not nodes:
        raise DiscoveredFileError(f"{source}: no Switch or Ca record: not ibnetdiscover "
                                  f"output; {WHOLE_OUTPUT}")
    get = nodes.get
    for node in nodes.values():
        nid, links = node.node_id, node.links
        if not links or min(links) < 1 or max(links) > node.ports:
            _refuse_node(topo, node, source)
        for port, (peer, peer_port, _) in links.items():
            far = get(peer)
            back = far.links.get(peer_port) if far is not None else None
            if back is None or back[1] != port or back[0] != nid:
                _refuse_node(topo, node, source)


def _refuse_node(topo: Topology, node: DiscoveredNode, source: str) -> NoReturn:
    """The first thing wrong with one node's links, as a DiscoveredFileError."""
    if not node.links:  # ibnetdiscover reached it over a link: it lists at least one
        raise DiscoveredFileError(f"{source}:{node.line}: {node.desc!r} lists no link (the "
                                  f"file is cut); {WHOLE_OUTPUT}")
    for port, (peer, peer_port, _) in node.links.items():
        no = node.port_lines[port]
        if port < 1 or port > node.ports:
            raise DiscoveredFileError(f"{source}:{no}: port {port} of {node.desc!r}, which "
                                      f"has {node.ports} ports; {WHOLE_OUTPUT}")
        far = topo.nodes.get(peer)
        if far is None:
            raise DiscoveredFileError(
                f"{source}:{no}: {node.desc!r} port {port} links to {peer}, which the file "
                f"never lists (the file is cut); {WHOLE_OUTPUT}")
        back = far.links.get(peer_port)
        if back is None or back[:2] != (node.node_id, port):
            raise DiscoveredFileError(
                f"{source}:{no}: {node.desc!r} port {port} links to {far.desc!r} port "
                f"{peer_port}, which does not link back (the file is cut or edited); "
                f"{WHOLE_OUTPUT}")
    raise AssertionError(f"check_whole: {node.node_id} failed a check _refuse_node passes")


def read_discovered(text: str, source: str) -> Topology:
    """A whole ibnetdiscover topology from text, or a DiscoveredFileError naming the line."""
    topo = parse_ibnetdiscover(text, source)
    check_whole(topo, source)
    return topo


End = tuple[str, int]
CHECK = "ib-links"


def compare_links(planned: Mapping[tuple[End, End], str], found: Topology) -> list[Finding]:
    """Findings for every planned link the fabric lacks and every link it has unplanned,
    by node description and port; each names the cable and where its ends really go.

    A cable swapped between two rails passes OpenSM's ftree silently; this catches it.
    rscctl.verify.cabling goes further (swaps as one finding, racks, labels, fixes).
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


__all__ = ["CHECK", "DiscoveredFileError", "DiscoveredNode", "Topology", "check_whole",
           "compare_links", "parse_ibnetdiscover", "read_discovered"]
