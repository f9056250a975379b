"""Sets of integers (IPv4 addresses, ports) as sorted disjoint inclusive spans.

The proofs ask "does this rule's source set meet the internet?" and "is it inside the bastion
zone?"; spans answer both exactly without enumerating addresses. Here in the planner because
zone resolution (rscctl.planner.zones) needs them; rscctl.firewall.intervals re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, summarize_address_range

Span = tuple[int, int]
Spans = tuple[Span, ...]

ADDRESS_MAX = 2**32 - 1
PORT_MAX = 65535
ALL_ADDRESSES: Spans = ((0, ADDRESS_MAX),)
ALL_PORTS: Spans = ((0, PORT_MAX),)
EMPTY: Spans = ()

__all__ = [
    "ADDRESS_MAX",
    "ALL_ADDRESSES",
    "ALL_PORTS",
    "EMPTY",
    "PORT_MAX",
    "Span",
    "Spans",
    "complement",
    "contains",
    "intersection",
    "meets",
    "normalize",
    "of_networks",
    "show_addresses",
    "to_networks",
    "union",
    "within",
]


def normalize(items: Iterable[Span]) -> Spans:
    """Sorted, merged spans (adjacent spans join)."""
    out: list[list[int]] = []
    for lo, hi in sorted(items):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def of_networks(nets: Iterable[IPv4Network]) -> Spans:
    return normalize((int(n.network_address), int(n.broadcast_address)) for n in nets)


def union(*sets: Spans) -> Spans:
    return normalize(s for spans in sets for s in spans)


def intersection(a: Spans, b: Spans) -> Spans:
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def complement(a: Spans, top: int = ADDRESS_MAX) -> Spans:
    out: list[Span] = []
    nxt = 0
    for lo, hi in a:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= top:
        out.append((nxt, top))
    return tuple(out)


def meets(a: Spans, b: Spans) -> bool:
    return bool(intersection(a, b))


def within(a: Spans, b: Spans) -> bool:
    """a is a subset of b."""
    return intersection(a, b) == normalize(a)


def contains(a: Spans, value: int) -> bool:
    return any(lo <= value <= hi for lo, hi in a)


def to_networks(a: Spans) -> list[IPv4Network]:
    """The fewest CIDR blocks covering exactly these addresses."""
    return [
        net for lo, hi in a
        for net in summarize_address_range(IPv4Address(lo), IPv4Address(hi))
    ]


def show_addresses(a: Spans, limit: int = 3) -> str:
    nets = to_networks(a)
    text = ", ".join(str(n) for n in nets[:limit])
    return text + (f" (+{len(nets) - limit} more)" if len(nets) > limit else "")
