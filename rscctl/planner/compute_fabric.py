"""The cabling rules of the compute fabric: a rail-optimized, non-blocking two-level Clos.

- SU s holds nodes (s-1)*N+1 .. s*N (N = nodes_per_su); node slot k is on leaf port k.
- Rail i: HCA of rail i of every node of SU s goes to leaf (s, i). Nothing else does.
- 1:1: a leaf sends N uplinks, ports N+1..2N, spread evenly: N/S links to each of S spines.
- Spine ports are reserved per SU slot, whether or not the SU exists yet:
  spine port index = ((s-1) * rails + (i-1)) * (N/S) + k. Growing a build adds SUs and so adds
  cables, and every existing cable keeps both ends.
- A partial last SU is cabled for the full SU (all leaves and leaf-spine cables); its missing
  nodes' leaf ports stay dark (NVIDIA SuperPOD rule).
"""

from __future__ import annotations

from rscctl.declare.build import Build
from rscctl.names import Role, leaf_name, node_name, node_number, spine_name
from rscctl.planner.builder import ComputeResult, StageBuilder
from rscctl.planner.facts import ComputeFacts
from rscctl.planner.model import Device, Rack

FABRIC = "compute"


def spine_port_index(rails: int, links_per_spine: int, su: int, rail: int, link: int) -> int:
    """The leaf-to-spine rule: the 0-based port of a spine that leaf (su, rail) uses for its
    `link`-th link to it (the planner cables by it, spine-reservation checks by it)."""
    return ((su - 1) * rails + (rail - 1)) * links_per_spine + link


def place_devices(pb: StageBuilder) -> None:
    """Nodes two per GPU rack of their SU's pod; leaves in the pod's network rack; spines."""
    c = pb.build.compute
    rails = pb.build.rails
    for su in range(1, c.scalable_units + 1):
        gpu_racks = pb.racks_of("gpu", su)
        count = min(c.nodes_per_su, c.gpu_nodes - (su - 1) * c.nodes_per_su)
        for slot in range(1, count + 1):
            rack = gpu_racks[(slot - 1) // c.nodes_per_rack]
            name = node_name(pb.build.naming, c.nodes_per_su, su, slot)
            index = node_number(c.nodes_per_su, su, slot)
            pb.place_in([rack], Device(name, Role.GPU_NODE, c.node_model, "", 0, su, None, index))
        net = pb.racks_of("network", su)
        for rail in range(1, rails + 1):
            dev = Device(leaf_name(pb.build.naming, su, rail), Role.COMPUTE_LEAF, c.leaf_model,
                         "", 0, su, rail)
            pb.place_in(net, dev)
    spine_racks = pb.racks_of("spine")
    for n in range(1, c.spines + 1):
        dev = Device(spine_name(pb.build.naming, n), Role.COMPUTE_SPINE, c.spine_model, "", 0,
                     None, None, n)
        pb.place_in(spine_racks, dev)


def cable(pb: StageBuilder) -> None:
    """Node-leaf cables, then leaf-spine cables, in SU, rail, port order."""
    c = pb.build.compute
    b = pb.build
    node_model = b.model(c.node_model)
    leaf_model = b.model(c.leaf_model)
    spine_model = b.model(c.spine_model)
    hca = {p.rail: p.name for p in node_model.ports_of("compute")}
    n_per = c.nodes_per_su
    rails, per_spine = b.rails, b.links_per_spine
    leaf_port = leaf_model.switch_port_names()
    spine_port = spine_model.switch_port_names()
    spines = {s: spine_name(b.naming, s) for s in range(1, c.spines + 1)}
    for su in range(1, c.scalable_units + 1):
        count = min(n_per, c.gpu_nodes - (su - 1) * n_per)
        leaves = {rail: leaf_name(b.naming, su, rail) for rail in range(1, rails + 1)}
        for slot in range(1, count + 1):
            node = node_name(b.naming, n_per, su, slot)
            for rail in range(1, rails + 1):
                pb.connect(
                    f"C1-S{su:03d}-N{slot:02d}-R{rail}", FABRIC, node, hca[rail],
                    leaves[rail], leaf_port[slot - 1], c.cable_class,
                )
    for su in range(1, c.scalable_units + 1):
        for rail in range(1, rails + 1):
            leaf = leaf_name(b.naming, su, rail)
            for s in range(1, c.spines + 1):
                for k in range(per_spine):
                    up = n_per + (s - 1) * per_spine + k
                    sp = spine_port_index(rails, per_spine, su, rail, k)
                    suffix = f"-L{k + 1}" if per_spine > 1 else ""
                    pb.connect(
                        f"C2-S{su:03d}-R{rail}-SP{s:02d}{suffix}", FABRIC,
                        leaf, leaf_port[up], spines[s], spine_port[sp], c.cable_class,
                    )


def plan_compute(build: Build, racks: tuple[Rack, ...]) -> ComputeResult:
    """The first stage: nodes, leaves and spines in the empty floor plan, and the Clos."""
    sb = StageBuilder(build, racks)
    place_devices(sb)
    cable(sb)
    return ComputeResult(*sb.parts(), facts=compute_facts(build),
                         guids=dict(sorted(build.compute.guids.items())))


def compute_facts(build: Build) -> ComputeFacts:
    """The Clos's figures as declared and derived: what checks and drawings hold cables to."""
    c = build.compute
    return ComputeFacts(
        gpu_nodes=c.gpu_nodes, gpus=c.gpus, scalable_units=c.scalable_units,
        nodes_per_su=c.nodes_per_su, rails=build.rails, spines=c.spines,
        links_per_spine=build.links_per_spine, max_sus=c.max_sus,
        port_speed_gbps=build.model(c.leaf_model).switch_port_speed_gbps,
    )
