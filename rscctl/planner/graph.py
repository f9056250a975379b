"""The plan as a networkx multigraph: devices are vertices, cables are edges."""

from __future__ import annotations

import networkx as nx

from rscctl.planner.model import Plan


def fabric_graph(plan: Plan, fabric: str | None = None) -> nx.MultiGraph:
    """Devices with their attributes, one edge per cable (keyed by cable ID)."""
    g = nx.MultiGraph()
    for d in plan.devices:
        g.add_node(d.name, role=d.role, model=d.model, su=d.su, rail=d.rail, rack=d.rack)
    g.add_edges_from(
        (c.a_device, c.b_device, c.cable_id,
         {"a_port": c.a_port, "b_port": c.b_port, "a": c.a_device})
        for c in plan.cables
        if fabric is None or c.fabric == fabric
    )
    return g
