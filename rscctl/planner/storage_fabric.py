"""The storage fabric: DGX storage ports -> storage leaves -> storage spines <- storage systems.

Cabling rules, all by position so that growth only adds:
- SU s gets `leaves_per_su` (L) leaves in its pod's network rack, `sleaf-s001-1` ... Storage
  port p (0-based, catalog order) of the node in slot k goes to leaf p mod L + 1, on leaf port
  (k-1) * P/L + p div L (P = storage ports per node).
- Leaf uplinks follow the node ports, U/S links to each of the S spines; leaf (s, l) takes spine
  ports ((s-1)*L + l-1) * U/S + j, reserved for every SU slot up to max_sus.
- Storage systems take the spine ports after that reserve: system port slot q (groups in
  declaration order, `reserve` systems each, data ports in catalog order) lands on spine
  q mod S + 1, port reserve + q div S. Servers' storage ports take spine ports from the top down.
- Spines stand in racks of kind network outside the pods; systems in racks of kind storage.

Bandwidth: the deliverable storage -> GPU bandwidth is the max flow from the systems (each
limited by its ports and its declared throughput) through the cabled fabric to the GPU nodes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rscctl.declare.build import Build
from rscctl.declare.catalog import HardwareModel
from rscctl.declare.loader import FieldError
from rscctl.declare.segments import HOST_BASE, storage_leaf_segment, storage_spine_segment
from rscctl.declare.storage import StorageSystemGroup
from rscctl.names import Role, server_name, storage_leaf_name, storage_spine_name, system_name
from rscctl.planner.addressing import AddressPlan, gpu_nodes
from rscctl.planner.builder import ComputeResult, ServersResult, StageBuilder, StorageResult
from rscctl.planner.facts import NfsFacts, StorageFacts, StorageGroupFacts
from rscctl.planner.model import Cable, Device, Rack

FABRIC = "storage"
ROLE_LEAF, ROLE_SPINE, ROLE_SYSTEM = Role.STORAGE_LEAF, Role.STORAGE_SPINE, Role.STORAGE_SYSTEM


@dataclass(frozen=True, slots=True)
class PortSlot:
    """A reserved spine attachment: which system (or server) port, which spine, which index."""

    device: str
    port: str
    present: bool
    spine: int
    index: int


def system_slots(build: Build) -> list[PortSlot]:
    """Every reserved storage-system port slot, present or not, in slot order."""
    s = build.storage
    assert s is not None
    out: list[PortSlot] = []
    q = 0
    for g in s.systems:
        ports = build.model(g.model).ports_of("storage")
        for n in range(1, g.slots + 1):
            for p in ports:
                out.append(PortSlot(system_name(g.name, n), p.name, n <= g.count,
                                    q % s.spines + 1, q // s.spines))
                q += 1
    return out


def server_slots(build: Build) -> list[PortSlot]:
    """The servers' storage ports, spread over the spines, indexed from the top down."""
    s = build.storage
    assert s is not None
    out: list[PortSlot] = []
    u = 0
    for g in build.servers:
        for n in range(1, g.count + 1):
            for p in build.model(g.model).ports_of("storage"):
                out.append(PortSlot(server_name(g.name, n), p.name, True,
                                    u % s.spines + 1, u // s.spines))
                u += 1
    return out


def _spine_racks(pb: StageBuilder) -> list[Rack]:
    racks = [r for r in pb.racks if r.kind == "network" and r.su is None]
    if not racks:
        raise FieldError(
            pb.build, "floorplan.halls",
            "floorplan: the storage spines need racks of kind network outside the pods; "
            "add some to a row without pods (e.g. {at: 23, count: 8, kind: network})"
        )
    return racks


def _system_racks(pb: StageBuilder, g: StorageSystemGroup, i: int) -> list[Rack]:
    racks = [r for r in pb.racks if r.kind == "storage" and (not g.rows or r.row in g.rows)]
    if not racks:
        where = f" in rows {', '.join(g.rows)}" if g.rows else ""
        raise FieldError(
            pb.build, f"storage.systems[{i}].rows",
            f"storage.systems[{i}] ({g.name}): no racks of kind storage{where}; "
            "declare storage racks in the floor plan"
        )
    return racks


def place_devices(pb: StageBuilder) -> None:
    """Leaves in each pod's network rack, spines in network racks, systems in storage racks."""
    b = pb.build
    s = b.storage
    assert s is not None
    for su in range(1, b.compute.scalable_units + 1):
        net = pb.racks_of("network", su)
        for leaf in range(1, s.leaves_per_su + 1):
            pb.place_in(net, Device(storage_leaf_name(b.naming, su, leaf), ROLE_LEAF,
                                    s.leaf_model, "", 0, su, None, leaf))
    racks = _spine_racks(pb)
    for n in range(1, s.spines + 1):
        pb.place_in(racks, Device(storage_spine_name(b.naming, n), ROLE_SPINE, s.spine_model, "",
                                  0, None, None, n))
    for i, g in enumerate(s.systems):
        racks = _system_racks(pb, g, i)
        for n in range(1, g.count + 1):
            pb.place_in(racks, Device(system_name(g.name, n), ROLE_SYSTEM, g.model, "", 0, None,
                                      None, n))


def cable(pb: StageBuilder) -> None:
    """Node-leaf, leaf-spine, system-spine and server-spine cables, in position order."""
    b = pb.build
    s = b.storage
    assert s is not None
    L, S = s.leaves_per_su, s.spines
    node_ports = b.model(b.compute.node_model).ports_of("storage")
    per_leaf = len(node_ports) // L
    leaf_m, spine_m = b.model(s.leaf_model), b.model(s.spine_model)
    for su, slot, _n, node in gpu_nodes(b):
        for p, port in enumerate(node_ports):
            idx = (slot - 1) * per_leaf + p // L
            pb.connect(f"S1-S{su:03d}-N{slot:02d}-P{p + 1}", FABRIC, node, port.name,
                       storage_leaf_name(b.naming, su, p % L + 1), leaf_m.switch_port_name(idx),
                       s.cable_class)
    down = b.compute.nodes_per_su * per_leaf
    per_spine = s.uplinks_per_leaf // S
    for su in range(1, b.compute.scalable_units + 1):
        for leaf in range(1, L + 1):
            for k in range(1, S + 1):
                for j in range(per_spine):
                    up = down + (k - 1) * per_spine + j
                    sp = ((su - 1) * L + (leaf - 1)) * per_spine + j
                    suffix = f"-L{j + 1}" if per_spine > 1 else ""
                    pb.connect(f"S2-S{su:03d}-L{leaf}-SP{k:02d}{suffix}", FABRIC,
                               storage_leaf_name(b.naming, su, leaf), leaf_m.switch_port_name(up),
                               storage_spine_name(b.naming, k), spine_m.switch_port_name(sp),
                               s.cable_class)
    reserve = b.compute.max_sus * L * per_spine
    classes = {system_name(g.name, n): g.cable_class
               for g in s.systems for n in range(1, g.count + 1)}
    for slot_ in system_slots(b):
        if slot_.present:
            pb.connect(f"S3-{slot_.device}-{slot_.port}", FABRIC, slot_.device, slot_.port,
                       storage_spine_name(b.naming, slot_.spine),
                       spine_m.switch_port_name(reserve + slot_.index),
                       classes[slot_.device])
    for slot_ in server_slots(b):
        pb.connect(f"S4-{slot_.device}-{slot_.port}", FABRIC, slot_.device, slot_.port,
                   storage_spine_name(b.naming, slot_.spine),
                   spine_m.switch_port_name(spine_m.switch_ports - 1 - slot_.index),
                   s.server_cable_class)


def address(pb: StageBuilder) -> None:
    """Storage network: a segment per leaf (its nodes) and per spine (its systems, servers)."""
    b = pb.build
    s = b.storage
    assert s is not None
    ap = AddressPlan(b)
    out = pb.addresses
    L = s.leaves_per_su
    spine_seg = {k: storage_spine_segment(b.compute.max_sus, L, k) for k in range(1, s.spines + 1)}
    node_ports = b.model(b.compute.node_model).ports_of("storage")
    per_leaf = len(node_ports) // L
    for su in range(1, b.compute.scalable_units + 1):
        for leaf in range(1, L + 1):
            seg = ap.segment("storage", storage_leaf_segment(L, su, leaf))
            ap.add(out, storage_leaf_name(b.naming, su, leaf), f"vlan{seg.vlan}", "storage",
                   seg.index, 1)
    for su, slot, _n, node in gpu_nodes(b):
        for p, port in enumerate(node_ports):
            seg_i = storage_leaf_segment(L, su, p % L + 1)
            ap.add(out, node, port.name, "storage", seg_i, HOST_BASE + (slot - 1) * per_leaf
                   + p // L)
    top = ap.hosts_per_segment("storage")
    sys_max = max((x.index for x in system_slots(b)), default=-1)
    srv_max = max((x.index for x in server_slots(b)), default=-1)
    if HOST_BASE + sys_max >= top - srv_max:
        raise FieldError(
            b, "networks.storage.segment_prefix",
            f"networks.storage.segment_prefix: a spine segment of {top} hosts cannot hold "
            f"{sys_max + 1} storage-system and {srv_max + 1} server ports per spine; "
            "shorten segment_prefix"
        )
    for k in range(1, s.spines + 1):
        seg = ap.segment("storage", spine_seg[k])
        ap.add(out, storage_spine_name(b.naming, k), f"vlan{seg.vlan}", "storage", seg.index, 1)
    for x in system_slots(b):
        if x.present:
            ap.add(out, x.device, x.port, "storage", spine_seg[x.spine],
                   HOST_BASE + x.index)
    for x in server_slots(b):
        ap.add(out, x.device, x.port, "storage", spine_seg[x.spine],
               top - x.index)


# -- bandwidth ------------------------------------------------------------------------------

def deliverable_gbps(
    cables: Iterable[Cable],
    roles: Mapping[str, str],
    speed: Mapping[tuple[str, str], float],
    throughput_gbps: Mapping[str, float],
) -> float:
    """Max flow, in Gb/s, from the storage systems to the GPU nodes over the storage cables.

    Each cable carries the slower of its two ports; a system serves at most its declared
    throughput (0: its ports only). GPU nodes are merged into their leaves' sinks, which keeps
    the flow network small (a few hundred vertices for 2,000 nodes).
    """
    import networkx as nx  # here, not at the top: builds without storage skip its import

    cap: dict[tuple[str, str], float] = defaultdict(float)
    served: dict[str, float] = defaultdict(float)
    for c in cables:
        if c.fabric != FABRIC:
            continue
        bw = min(speed.get((c.a_device, c.a_port), 0.0), speed.get((c.b_device, c.b_port), 0.0))
        ra, rb = roles.get(c.a_device, ""), roles.get(c.b_device, "")
        if ra == Role.GPU_NODE:
            cap[(c.b_device, "__gpus__")] += bw
        elif rb == Role.GPU_NODE:
            cap[(c.a_device, "__gpus__")] += bw
        elif ra == ROLE_SYSTEM:
            served[c.a_device] += bw
            cap[(c.a_device, c.b_device)] += bw
        elif rb == ROLE_SYSTEM:
            served[c.b_device] += bw
            cap[(c.b_device, c.a_device)] += bw
        elif ROLE_SPINE in (ra, rb) and ROLE_LEAF in (ra, rb):
            cap[(c.b_device, c.a_device) if rb == ROLE_SPINE else (c.a_device, c.b_device)] += bw
    for system, port_bw in served.items():
        limit = throughput_gbps.get(system, 0.0)
        cap[("__src__", system)] = min(port_bw, limit) if limit > 0 else port_bw
    g = nx.DiGraph()
    for (u, v), bw in sorted(cap.items()):
        g.add_edge(u, v, capacity=bw)
    if "__src__" not in g or "__gpus__" not in g:
        return 0.0
    return float(nx.maximum_flow_value(g, "__src__", "__gpus__"))


def leaf_oversubscription(
    cables: Iterable[Cable], roles: Mapping[str, str], speed: Mapping[tuple[str, str], float],
    designed_down_gbps: float,
) -> dict[str, float]:
    """Per storage leaf: node-facing (at least as designed for a full SU) over spine-facing."""
    down: dict[str, float] = defaultdict(float)
    up: dict[str, float] = defaultdict(float)
    for c in cables:
        if c.fabric != FABRIC:
            continue
        for me, port, other in ((c.a_device, c.a_port, c.b_device),
                                (c.b_device, c.b_port, c.a_device)):
            if roles.get(me) != ROLE_LEAF:
                continue
            bw = speed.get((me, port), 0.0)
            if roles.get(other) == Role.GPU_NODE:
                down[me] += bw
            elif roles.get(other) == ROLE_SPINE:
                up[me] += bw
    leaves = sorted({*down, *up, *(d for d, r in roles.items() if r == ROLE_LEAF)})
    return {
        leaf: (max(down[leaf], designed_down_gbps) / up[leaf]) if up[leaf] else float("inf")
        for leaf in leaves
    }


def port_speeds(models: Mapping[str, HardwareModel], cables: Iterable[Cable],
                model_of: Mapping[str, str]) -> dict[tuple[str, str], float]:
    """Speed of every cabled storage port, from the catalog entries the plan carries."""
    per_model = {k: ({p.name: p.speed_gbps for p in m.ports}, m.switch_port_speed_gbps)
                 for k, m in models.items()}
    per_device = {dev: per_model[m] for dev, m in model_of.items() if m in per_model}
    out: dict[tuple[str, str], float] = {}
    for c in cables:
        if c.fabric != FABRIC:
            continue
        for dev, port in ((c.a_device, c.a_port), (c.b_device, c.b_port)):
            spec = per_device.get(dev)
            if spec is not None:
                out[(dev, port)] = spec[0].get(port, spec[1])
    return out


def _facts(pb: StageBuilder) -> StorageFacts:
    b = pb.build
    s = b.storage
    assert s is not None
    devices = pb.all_devices()
    roles = {d.name: d.role for d in devices}
    model_of = {d.name: d.model for d in devices}
    speed = port_speeds(b.catalog.models, pb.cables, model_of)
    throughput = {d.name: b.model(d.model).throughput_gbytes_s * 8 for d in devices
                  if d.role == ROLE_SYSTEM}
    node_ports = b.model(b.compute.node_model).ports_of("storage")
    per_leaf = len(node_ports) // s.leaves_per_su
    designed = b.compute.nodes_per_su * per_leaf * node_ports[0].speed_gbps
    over = leaf_oversubscription(pb.cables, roles, speed, designed)
    gbps = deliverable_gbps(pb.cables, roles, speed, throughput)
    target = s.target_tbytes_s * 8000
    groups: dict[str, StorageGroupFacts] = {}
    capacity = 0.0
    for g in s.systems:
        capacity += g.count * b.model(g.model).capacity_pb
        m = b.model(g.model)
        groups[g.name] = StorageGroupFacts(
            model=g.model, count=g.count, reserve=g.slots,
            systems=tuple(system_name(g.name, n) for n in range(1, g.count + 1)),
            data_ports=tuple(p.name for p in m.ports_of("storage")),
            export=g.export, mount_point=g.mount_point,
            capacity_pb=round(g.count * m.capacity_pb, 3),
            throughput_tbytes_s=round(g.count * m.throughput_gbytes_s / 1000, 3),
        )
    n = s.nfs
    return StorageFacts(
        target_tbytes_s=s.target_tbytes_s,
        deliverable_tbytes_s=round(gbps / 8000, 3),
        headroom_pct=round((gbps / target - 1) * 100, 1),
        max_oversubscription=s.max_oversubscription,
        leaf_oversubscription=round(max(over.values(), default=0.0), 3),
        designed_leaf_down_gbps=designed,
        capacity_pb=round(capacity, 3),
        leaves_per_su=s.leaves_per_su,
        spines=s.spines,
        systems=groups,
        nfs=NfsFacts(ca_path=n.ca_path, cert_path=n.cert_path, key_path=n.key_path,
                     mount_options=tuple(n.mount_options), cert_days=n.cert_days,
                     ca_days=n.ca_days),
    )


def plan_storage(build: Build, racks: tuple[Rack, ...], compute: ComputeResult,
                 servers: ServersResult) -> StorageResult:
    """Place, cable and address the storage fabric (nothing when no storage is declared):
    in the racks compute and servers left, cabled to their nodes and servers."""
    if build.storage is None:
        return StorageResult()
    sb = StageBuilder(build, racks, compute, servers)
    place_devices(sb)
    cable(sb)
    address(sb)
    return StorageResult(*sb.parts(), facts=_facts(sb))
