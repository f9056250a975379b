"""The rules of a build across its parts (storage, management and networks against the
compute fabric, the floor plan, the catalog), one function per rule, run by Build.

They read the build through `Build` below, a Protocol of what they need, so this module
imports the parts and never build.py: imports in rscctl.declare run one way (parts, storage,
policy -> rules -> build).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Protocol

from rscctl.declare import segments
from rscctl.declare.catalog import Catalog, HardwareModel
from rscctl.declare.parts import ComputeFabric, FloorPlan, Network, ServerGroup
from rscctl.declare.storage import Management, StorageFabric


class Build(Protocol):
    """What the rules read of a build (rscctl.declare.build.Build)."""

    @property
    def catalog(self) -> Catalog: ...
    @property
    def compute(self) -> ComputeFabric: ...
    @property
    def floorplan(self) -> FloorPlan: ...
    @property
    def networks(self) -> Mapping[str, Network]: ...
    @property
    def servers(self) -> tuple[ServerGroup, ...]: ...
    @property
    def storage(self) -> StorageFabric | None: ...
    @property
    def management(self) -> Management | None: ...
    @property
    def rails(self) -> int: ...
    def model(self, name: str) -> HardwareModel: ...



def check_networks_declared(build: Build) -> None:
    """Every rule of storage, management and networks; the first broken one raises."""
    if build.storage is not None:
        _storage_models(build, build.storage)
        _storage_ports(build, build.storage)
        _storage_oversubscription(build, build.storage)
        _storage_capacity(build, build.storage)
    if build.management is not None:
        _management_models(build, build.management)
    _networks_fit(build)


def _need_model(build: Build, field: str, name: str, kinds: set[str]) -> None:
    models = build.catalog.models
    if name not in models:
        known = ", ".join(sorted(models))
        raise ValueError(f"{field}: unknown model {name!r}; use one of: {known}")
    if models[name].kind not in kinds:
        raise ValueError(
            f"{field}: {name!r} is a {models[name].kind}, not a {' or '.join(sorted(kinds))}"
        )


def _need_cable(build: Build, field: str, cable_class: str) -> None:
    if not any(f.cable_class == cable_class for f in build.catalog.cables):
        classes = sorted({f.cable_class for f in build.catalog.cables})
        raise ValueError(
            f"{field}: no cable of class {cable_class!r} in the catalog; use one of: "
            f"{', '.join(classes)}"
        )


def _need_network(build: Build, field: str, name: str) -> None:
    if name not in build.networks:
        raise ValueError(
            f"networks: {field} needs a network named {name!r}; declare "
            f"networks.{name}.supernet (e.g. 10.18.0.0/16)"
        )


def _storage_models(build: Build, s: StorageFabric) -> None:
    """The storage fabric names switches, storage systems and cables the catalog has."""
    _need_model(build, "storage.leaf_model", s.leaf_model, {"switch"})
    _need_model(build, "storage.spine_model", s.spine_model, {"switch", "director"})
    _need_cable(build, "storage.cable_class", s.cable_class)
    _need_cable(build, "storage.server_cable_class", s.server_cable_class)
    _need_network(build, "storage", "storage")
    seen: set[str] = set()
    for i, g in enumerate(s.systems):
        if g.name in seen:
            raise ValueError(f"storage.systems[{i}].name: group {g.name!r} is declared twice")
        seen.add(g.name)
        _need_model(build, f"storage.systems[{i}].model", g.model, {"storage"})
        _need_cable(build, f"storage.systems[{i}].cable_class", g.cable_class)
        if not build.model(g.model).ports_of("storage"):
            raise ValueError(
                f"storage.systems[{i}].model: {g.model!r} declares no storage ports; "
                "add ports of kind storage to it in the catalog"
            )


def storage_ports_per_node(build: Build) -> int:
    return len(build.model(build.compute.node_model).ports_of("storage"))


def system_port_slots(build: Build) -> int:
    """Spine ports reserved for storage systems: reserve x data ports of every group."""
    s = build.storage
    if s is None:
        return 0
    return sum(g.slots * len(build.model(g.model).ports_of("storage")) for g in s.systems)


def server_port_slots(build: Build) -> int:
    """Spine ports taken by the service hosts' storage ports (bastions, ingest gateways)."""
    return sum(g.count * len(build.model(g.model).ports_of("storage")) for g in build.servers)


def _storage_ports(build: Build, s: StorageFabric) -> None:
    """Leaves and spines have the ports the fabric needs, spread evenly (growth reserved)."""
    per_node = storage_ports_per_node(build)
    if per_node == 0 or per_node % s.leaves_per_su:
        raise ValueError(
            f"storage.leaves_per_su={s.leaves_per_su} does not divide the {per_node} storage "
            f"ports of a {build.compute.node_model}; declare a divisor of {per_node}"
        )
    leaf = build.model(s.leaf_model)
    down = build.compute.nodes_per_su * per_node // s.leaves_per_su
    if down + s.uplinks_per_leaf > leaf.switch_ports:
        raise ValueError(
            f"storage.uplinks_per_leaf={s.uplinks_per_leaf}: a {s.leaf_model} has "
            f"{leaf.switch_ports} ports and {down} go to nodes; declare at most "
            f"{leaf.switch_ports - down} uplinks or more leaves_per_su"
        )
    if s.uplinks_per_leaf % s.spines:
        raise ValueError(
            f"storage.spines={s.spines} does not divide uplinks_per_leaf={s.uplinks_per_leaf}; "
            "every leaf needs the same number of links to every spine"
        )
    spine = build.model(s.spine_model)
    leaf_side = build.compute.max_sus * s.leaves_per_su * (s.uplinks_per_leaf // s.spines)
    systems = -(-system_port_slots(build) // s.spines)
    servers = -(-server_port_slots(build) // s.spines)
    if leaf_side + systems + servers > spine.switch_ports:
        raise ValueError(
            f"storage.spines={s.spines}: each {s.spine_model} needs {leaf_side} leaf ports "
            f"(max_sus={build.compute.max_sus}) + {systems} storage-system ports + {servers} "
            f"server ports but has {spine.switch_ports}; declare more spines or fewer reserves"
        )


def _storage_oversubscription(build: Build, s: StorageFabric) -> None:
    """A full SU's leaf is no more oversubscribed than declared (node ports : uplinks)."""
    node_ports = build.model(build.compute.node_model).ports_of("storage")
    leaf = build.model(s.leaf_model)
    down = build.compute.nodes_per_su * len(node_ports) // s.leaves_per_su
    ratio = down * node_ports[0].speed_gbps / (s.uplinks_per_leaf * leaf.switch_port_speed_gbps)
    if ratio > s.max_oversubscription + 1e-9:
        need = -(-down * node_ports[0].speed_gbps // (s.max_oversubscription
                                                      * leaf.switch_port_speed_gbps))
        need = -(-int(need) // s.spines) * s.spines
        raise ValueError(
            f"storage.uplinks_per_leaf={s.uplinks_per_leaf} oversubscribes each leaf "
            f"{ratio:g}:1 ({down} node ports), more than max_oversubscription="
            f"{s.max_oversubscription:g}; declare at least {need} uplinks"
        )


def _storage_capacity(build: Build, s: StorageFabric) -> None:
    """A group with a declared capacity has enough systems of its model to hold it."""
    for i, g in enumerate(s.systems):
        each = build.model(g.model).capacity_pb
        if g.capacity_pb is not None and g.count * each + 1e-9 < g.capacity_pb:
            need = -(-g.capacity_pb // each) if each else 0
            raise ValueError(
                f"storage.systems[{i}].count={g.count} x {each} PB of {g.model} is less than "
                f"capacity_pb={g.capacity_pb}; declare count: {int(need)}"
                if each else f"storage.systems[{i}].model: {g.model} declares no capacity_pb"
            )


def _management_models(build: Build, m: Management) -> None:
    """Management names switches, a PDU and cables the catalog has, and both networks."""
    _need_model(build, "management.access_model", m.access_model, {"switch"})
    _need_model(build, "management.core_model", m.core_model, {"switch", "director"})
    _need_model(build, "management.pdu_model", m.pdu_model, {"pdu"})
    _need_cable(build, "management.access_cable_class", m.access_cable_class)
    _need_cable(build, "management.uplink_cable_class", m.uplink_cable_class)
    _need_network(build, "management", "inband")
    _need_network(build, "management", "oob")
    access = build.model(m.access_model)
    if len(access.ports_of("uplink")) < m.cores:
        raise ValueError(
            f"management.cores={m.cores}: a {m.access_model} has "
            f"{len(access.ports_of('uplink'))} uplink ports; it needs one per core"
        )


def rows_without_pods(build: Build) -> int:
    """Rows of racks without pods: each is a segment of inband and oob (the planner's rows)."""
    return sum(1 for h in build.floorplan.halls for r in h.rows if not r.sus and r.racks)


def segments_needed(build: Build, network: str) -> int:
    """Segments a network's layout takes, growth included (rscctl.declare.segments)."""
    s = build.storage
    return segments.segments_needed(
        network, max_sus=build.compute.max_sus, rows_without_pods=rows_without_pods(build),
        rails=build.rails, storage=None if s is None else (s.leaves_per_su, s.spines))


def _networks_fit(build: Build) -> None:
    """Supernets do not overlap and hold every segment of their layout."""
    nets = sorted(build.networks.items(), key=lambda kv: kv[1].supernet)
    for (n1, a), (n2, b) in itertools.pairwise(nets):
        if a.supernet.overlaps(b.supernet):
            raise ValueError(
                f"networks: {n1} ({a.supernet}) and {n2} ({b.supernet}) overlap; "
                "give each network its own supernet"
            )
    for name, net in build.networks.items():
        have = 2 ** (net.segment_prefix - net.supernet.prefixlen)
        need = segments_needed(build, name)
        if need > have:
            raise ValueError(
                f"networks.{name}.supernet {net.supernet} holds {have} segments of "
                f"/{net.segment_prefix} but the plan needs {need}; widen the supernet or "
                "lengthen segment_prefix"
            )
        if name == "ipoib":
            hosts = 2 ** (32 - net.segment_prefix) - 2
            nodes = build.compute.max_sus * build.compute.nodes_per_su
            if nodes > hosts:
                raise ValueError(
                    f"networks.ipoib.segment_prefix={net.segment_prefix} holds {hosts} hosts "
                    f"per rail but max_sus x nodes_per_su = {nodes}; shorten the prefix"
                )
