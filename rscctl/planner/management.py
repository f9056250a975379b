"""The management networks: in-band and out-of-band Ethernet, access switches and a core pair.

- Every rack gets `pdus_per_rack` zero-U PDUs (feeds a, b, ...), named for their rack.
- Each pod (SU) and each row without pods is one segment of each network. Its endpoints are
  laid out by position: in a pod, from the declaration alone (node slot, rail, storage leaf,
  switch, pod rack and feed), with positions kept for nodes not yet installed; in a row, rack by
  rack in position order, devices bottom-up, ports in catalog order.
- Endpoint i of a segment goes to port i mod P of access switch i div P + 1 (P = the access
  model's switch ports) and gets host HOST_BASE + i of the segment (addressing.py).
- Pod switches stand in the pod's network rack, row switches in the row's management racks;
  each access switch sends one uplink to each core. Core ports are reserved per SU slot (up to
  max_sus) and per row (`row_switch_block`), so growth only adds.
- An oob access switch's own management port is reached in-band through its uplink, so it is
  not cabled; it gets host .5 + j-1 of its segment.
- Growth: a pod's layout is fixed by the declaration, so new SUs never move anything. A row
  without pods is laid out from what stands in it, so grow such rows by appending racks or
  rows (phase 2 adds rows ST3-ST6); a device added inside an existing rack of such a row
  would shift the positions after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rscctl.declare.build import Build
from rscctl.declare.loader import FieldError
from rscctl.declare.segments import (
    CORE_HOST_BASE,
    HOST_BASE,
    SWITCH_HOST_BASE,
    row_segment,
    su_segment,
)
from rscctl.declare.storage import Management
from rscctl.names import (
    Role,
    access_name,
    core_name,
    leaf_name,
    node_name,
    pdu_name,
    pod_scope,
    row_scope,
    storage_leaf_name,
)
from rscctl.planner.addressing import AddressPlan
from rscctl.planner.builder import (
    ComputeResult,
    ManagementResult,
    ServersResult,
    StageBuilder,
    StorageResult,
)
from rscctl.planner.facts import ManagementFacts
from rscctl.planner.model import Device, Rack

ROLE_INBAND, ROLE_OOB, ROLE_CORE, ROLE_PDU = (Role.INBAND_SWITCH, Role.OOB_SWITCH,
                                              Role.MGMT_CORE, Role.PDU)
NET_KINDS = {"inband": ("inband",), "oob": ("bmc", "mgmt")}
ACCESS_ROLES = {"inband": ROLE_INBAND, "oob": ROLE_OOB}
CABLE_PREFIX = {"inband": "MI", "oob": "MO"}

Endpoint = tuple[str, str] | None


@dataclass
class Segment:
    """One pod or row: its endpoints per network and the switches that take them."""

    scope: str
    su: int | None
    segment: int
    core_base: int
    racks: list[Rack]
    endpoints: dict[str, list[Endpoint]]
    switches: dict[str, list[str]]


def _ports(pb: StageBuilder, model: str, network: str) -> list[str]:
    return [p.name for p in pb.build.model(model).ports if p.kind in NET_KINDS[network]]


def _switch_count(pb: StageBuilder, n: int) -> int:
    per = pb.build.model(_mgmt(pb).access_model).switch_ports
    return max(1, -(-n // per))


def _mgmt(pb: StageBuilder) -> Management:
    m = pb.build.management
    assert m is not None
    return m


def pod_endpoints(pb: StageBuilder, su: int) -> dict[str, list[Endpoint]]:
    """A pod's endpoints by position, from the declaration (absent nodes keep their place)."""
    b = pb.build
    c = b.compute
    count = min(c.nodes_per_su, c.gpu_nodes - (su - 1) * c.nodes_per_su)
    present = {slot: node_name(b.naming, c.nodes_per_su, su, slot)
               for slot in range(1, count + 1)}
    inband: list[Endpoint] = []
    oob: list[Endpoint] = []
    for slot in range(1, c.nodes_per_su + 1):
        node = present.get(slot)
        inband += [(node, p) if node else None for p in _ports(pb, c.node_model, "inband")]
        oob += [(node, p) if node else None for p in _ports(pb, c.node_model, "oob")]
    for rail in range(1, b.rails + 1):
        leaf = leaf_name(b.naming, su, rail)
        oob += [(leaf, p) for p in _ports(pb, c.leaf_model, "oob")]
    if b.storage is not None:
        for leaf_n in range(1, b.storage.leaves_per_su + 1):
            oob += [(storage_leaf_name(b.naming, su, leaf_n), p)
                    for p in _ports(pb, b.storage.leaf_model, "oob")]
    for j in range(1, _switch_count(pb, len(inband)) + 1):
        sw = access_name("inband", pod_scope(su), j)
        oob += [(sw, p) for p in _ports(pb, _mgmt(pb).access_model, "oob")]
    for rack in sorted((r for r in pb.racks if r.su == su), key=lambda r: r.position):
        for feed in range(1, _mgmt(pb).pdus_per_rack + 1):
            oob += [(pdu_name(rack.name, feed), p) for p in _ports(pb, _mgmt(pb).pdu_model, "oob")]
    return {"inband": inband, "oob": oob}


def row_endpoints(pb: StageBuilder, racks: list[Rack], scope: str) -> dict[str, list[Endpoint]]:
    """A row's endpoints: rack by rack, devices bottom-up, ports in catalog order."""
    by_rack: dict[str, list[Device]] = {r.name: [] for r in racks}
    for d in pb.all_devices():
        if d.rack in by_rack and d.role not in (ROLE_INBAND, ROLE_OOB):
            by_rack[d.rack].append(d)
    out: dict[str, list[Endpoint]] = {"inband": [], "oob": []}
    for rack in racks:
        for d in sorted(by_rack[rack.name], key=lambda d: (d.ru, d.name)):
            for net in ("inband", "oob"):
                out[net] += [(d.name, p) for p in _ports(pb, d.model, net)]
    if out["inband"]:
        for j in range(1, _switch_count(pb, len(out["inband"])) + 1):
            sw = access_name("inband", scope, j)
            out["oob"] += [(sw, p) for p in _ports(pb, _mgmt(pb).access_model, "oob")]
    return out


def _segments(pb: StageBuilder) -> list[Segment]:
    """Every pod, then every row without pods that has endpoints, with its switch names."""
    b = pb.build
    out: list[Segment] = []
    for su in range(1, b.compute.scalable_units + 1):
        eps = pod_endpoints(pb, su)
        sw = {net: [access_name(net, pod_scope(su), j)
                    for j in range(1, _switch_count(pb, len(eps[net])) + 1)]
              for net in ("inband", "oob")}
        out.append(Segment(pod_scope(su), su, su_segment(su), 0, pb.racks_of("network", su),
                           eps, sw))
    # Every pod has the same layout (it comes from the declaration), so the same switch count.
    pod_switches = max((len(s.switches["inband"]) + len(s.switches["oob"]) for s in out),
                       default=0)
    for seg in out:
        seg.core_base = ((seg.su or 1) - 1) * pod_switches
    reserved = b.compute.max_sus * pod_switches
    rows: dict[tuple[str, str], list[Rack]] = {}
    for h in b.floorplan.halls:
        for r in h.rows:
            if not r.sus and r.racks:
                rows[(h.name, r.name)] = []
    for rack in pb.racks:
        if (rack.hall, rack.row) in rows and rack.su is None:
            rows[(rack.hall, rack.row)].append(rack)
    for ordinal, ((hall, row), racks) in enumerate(rows.items()):
        if not racks:
            continue
        scope = row_scope(racks[0].hall, racks[0].row)
        eps = row_endpoints(pb, racks, scope)
        sw = {net: [access_name(net, scope, j)
                    for j in range(1, _switch_count(pb, len(eps[net])) + 1)] if eps[net] else []
              for net in ("inband", "oob")}
        if not (eps["inband"] or eps["oob"]):
            continue
        block = _mgmt(pb).row_switch_block
        if len(sw["inband"]) + len(sw["oob"]) > block:
            raise FieldError(
                b, "management.row_switch_block",
                f"management.row_switch_block={block}: row {hall}-{row} needs "
                f"{len(sw['inband']) + len(sw['oob'])} access switches; raise it"
            )
        homes = [r for r in racks if r.kind == "management"]
        if not homes:
            raise FieldError(
                b, "floorplan.halls",
                f"floorplan: row {hall}-{row} has devices to manage but no rack of kind "
                "management for its access switches; add one to the row"
            )
        out.append(Segment(scope, None, row_segment(b.compute.max_sus, ordinal),
                           reserved + ordinal * block, homes, eps, sw))
    return out


def place_pdus(pb: StageBuilder) -> None:
    """Zero-U PDUs at the back of every rack (rack unit 1 is where their cable leaves)."""
    m = _mgmt(pb)
    for rack in pb.racks:
        for feed in range(1, m.pdus_per_rack + 1):
            pb.place(Device(pdu_name(rack.name, feed), ROLE_PDU, m.pdu_model, rack.name, 1,
                            rack.su, None, feed))


def place_cores(pb: StageBuilder) -> None:
    racks = pb.racks_of("management")
    if not racks:
        raise FieldError(pb.build, "floorplan.halls",
                         "floorplan: the management core needs racks of kind management; add some")
    m = _mgmt(pb)
    for k in range(1, m.cores + 1):
        pb.place_in(racks, Device(core_name(k), ROLE_CORE, m.core_model, "", 0, None, None, k))


def cable_segment(pb: StageBuilder, seg: Segment) -> None:
    """Place a segment's access switches, cable its endpoints and the switches' uplinks."""
    m = _mgmt(pb)
    access = pb.build.model(m.access_model)
    core = pb.build.model(m.core_model)
    uplinks = [p.name for p in access.ports_of("uplink")]
    j = 0
    for net in ("inband", "oob"):
        for i, name in enumerate(seg.switches[net], start=1):
            pb.place_in(seg.racks, Device(name, ACCESS_ROLES[net], m.access_model, "", 0,
                                          seg.su, None, i))
            port = seg.core_base + j
            if port >= core.switch_ports:
                raise FieldError(
                    pb.build, "management.core_model",
                    f"management.core_model={m.core_model} has {core.switch_ports} ports; "
                    f"access switch {name} needs port {port + 1}; use a bigger core or fewer "
                    "reserved SU slots"
                )
            for k in range(1, m.cores + 1):
                pb.connect(f"MU-{name}-C{k}", net, name, uplinks[k - 1], core_name(k),
                           core.switch_port_name(port), m.uplink_cable_class)
            j += 1
        per = access.switch_ports
        for i, ep in enumerate(seg.endpoints[net]):
            if ep is None:
                continue
            sw = seg.switches[net][i // per]
            pb.connect(f"{CABLE_PREFIX[net]}-{sw}-{i % per + 1:02d}", net, ep[0], ep[1], sw,
                       access.switch_port_name(i % per), m.access_cable_class)


def address_segment(pb: StageBuilder, seg: Segment, ap: AddressPlan) -> None:
    """Cores' gateways, oob switches' own addresses, then every endpoint by position."""
    m = _mgmt(pb)
    mgmt_port = [p.name for p in pb.build.model(m.access_model).ports_of("mgmt")]
    for net in ("inband", "oob"):
        if not seg.switches[net]:
            continue
        s = ap.segment(net, seg.segment)
        for k in range(1, m.cores + 1):
            ap.add(pb.addresses, core_name(k), f"vlan{s.vlan}", net, seg.segment,
                   CORE_HOST_BASE + k - 1)
    if len(seg.switches["oob"]) > HOST_BASE - SWITCH_HOST_BASE:
        raise FieldError(
            pb.build, "floorplan.halls",
            f"segment {seg.scope} needs {len(seg.switches['oob'])} oob switches; at most "
            f"{HOST_BASE - SWITCH_HOST_BASE} fit the reserved hosts; split the row"
        )
    for j, sw in enumerate(seg.switches["oob"]):
        for port in mgmt_port[:1]:
            ap.add(pb.addresses, sw, port, "oob", seg.segment, SWITCH_HOST_BASE + j)
    for net in ("inband", "oob"):
        for i, ep in enumerate(seg.endpoints[net]):
            if ep is not None:
                ap.add(pb.addresses, ep[0], ep[1], net, seg.segment, HOST_BASE + i)


def plan_management(build: Build, racks: tuple[Rack, ...], compute: ComputeResult,
                    servers: ServersResult, storage: StorageResult) -> ManagementResult:
    """PDUs, the core pair, every segment's access switches, cables and addresses: the last
    stage to take rack space, cabled to the devices of every earlier one."""
    if build.management is None:
        return ManagementResult()
    pb = StageBuilder(build, racks, compute, servers, storage)
    place_pdus(pb)
    place_cores(pb)
    ap = AddressPlan(pb.build)
    segments = _segments(pb)
    for seg in segments:
        cable_segment(pb, seg)
        address_segment(pb, seg, ap)
    m = _mgmt(pb)
    facts = ManagementFacts(
        segments=len(segments),
        access_switches=sum(len(s.switches[n]) for s in segments for n in s.switches),
        cores=m.cores,
        pdus_per_rack=m.pdus_per_rack,
    )
    return ManagementResult(*pb.parts(), facts=facts)
