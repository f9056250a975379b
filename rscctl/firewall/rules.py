"""From the policy to ruleset data: a networkx graph of roles, zones and flows, read per zone.

Each internal zone's ruleset accepts, on input, the flows whose edge ends at the zone and, on
output, the flows whose edge starts at it (a flow inside one zone gives both). The border
forwards only edges that start outside the enclave. Everything else falls to `policy drop`.
The data returned here is exactly what the Jinja2 template (and Ansible) render.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from rscctl.firewall.zones import ZoneMap

TABLE = "rscctl"
CHAINS = ("input", "forward", "output")


def policy_graph(zm: ZoneMap) -> nx.MultiDiGraph:
    """Zones (and the roles that belong to them) as nodes, one edge per flow and zone pair."""
    g = nx.MultiDiGraph()
    for z in zm.zones:
        g.add_node(z.name, type="zone", kind=z.kind, ruleset=z.ruleset,
                   prefixes=[str(p) for p in z.prefixes])
    for decl in zm.policy.zones:
        for role in decl.roles:
            g.add_node(f"role:{role}", type="role")
            g.add_edge(f"role:{role}", decl.name, key="member", type="member")
    for f in zm.policy.flows:
        for src in f.from_:
            for dst in f.to:
                g.add_edge(src, dst, key=f.name, type="flow", flow=f.name, proto=f.proto,
                           ports=f.port_ranges, description=f.description)
    return g


def _ports(ranges: tuple[tuple[int, int], ...]) -> str:
    items = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges]
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _port_text(ranges: tuple[tuple[int, int], ...]) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)


def _rule(src: str | None, dst: str | None, e: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    return {
        "saddr": f"zone_{src}" if src else None,
        "daddr": f"zone_{dst}" if dst else None,
        "proto": e["proto"],
        "ports": _ports(e["ports"]),
        "comment": f"flow {e['flow']}: {a} -> {b} {e['proto']}/{_port_text(e['ports'])}",
    }


def _flow_edges(g: nx.MultiDiGraph) -> list[tuple[str, str, dict[str, Any]]]:
    edges = [(u, v, d) for u, v, d in g.edges(data=True) if d["type"] == "flow"]
    return sorted(edges, key=lambda t: (t[2]["flow"], t[0], t[1]))


def _sets(zm: ZoneMap, names: set[str]) -> list[dict[str, Any]]:
    out = []
    for z in zm.zones:
        if z.name not in names:
            continue
        note = " (provisional: network not yet in the address plan)" if z.provisional else ""
        out.append({
            "name": f"zone_{z.name}",
            "comment": f"zone {z.name} ({z.kind}){note}",
            "elements": [str(p) for p in z.prefixes],
        })
    return out


def host_ruleset(zm: ZoneMap, g: nx.MultiDiGraph, zone: str, build: str) -> dict[str, Any]:
    """The ruleset of the hosts of one internal zone."""
    chains: dict[str, list[dict[str, Any]]] = {c: [] for c in CHAINS}
    used: set[str] = set()
    for u, v, e in _flow_edges(g):
        if v == zone:
            chains["input"].append(_rule(u, None, e, u, v))
            used.add(u)
        if u == zone:
            chains["output"].append(_rule(None, v, e, u, v))
            used.add(v)
    z = zm.zone(zone)
    return _ruleset(zm, z.ruleset or zone, f"hosts of zone {zone} ({z.kind})", build, chains, used)


def border_ruleset(zm: ZoneMap, g: nx.MultiDiGraph, build: str) -> dict[str, Any]:
    """The enclave's border: forwards only what external zones may open to the inside."""
    chains: dict[str, list[dict[str, Any]]] = {c: [] for c in CHAINS}
    used: set[str] = set()
    outside = {z.name for z in zm.zones if z.ruleset is None}
    for u, v, e in _flow_edges(g):
        if u in outside and v not in outside:
            chains["forward"].append(_rule(u, v, e, u, v))
            used.update((u, v))
    return _ruleset(zm, zm.policy.border_ruleset, "the enclave's border", build, chains, used)


def _ruleset(
    zm: ZoneMap, name: str, title: str, build: str,
    chains: dict[str, list[dict[str, Any]]], used: set[str],
) -> dict[str, Any]:
    log = zm.policy.drop_log
    return {
        "name": name,
        "title": title,
        "build": build,
        "table": TABLE,
        "sets": _sets(zm, used),
        "chains": chains,
        "log": {"rate_per_minute": log.rate_per_minute, "burst": log.burst,
                "prefix": log.prefix},
    }


def rulesets(zm: ZoneMap, build: str) -> dict[str, dict[str, Any]]:
    """Every ruleset of the plan by file stem: one per internal zone, and the border's."""
    g = policy_graph(zm)
    out = {
        z.ruleset: host_ruleset(zm, g, z.name, build)
        for z in zm.zones if z.ruleset is not None
    }
    out[zm.policy.border_ruleset] = border_ruleset(zm, g, build)
    return dict(sorted(out.items()))
