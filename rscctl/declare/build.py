"""A build declaration: its parts (parts.py, storage.py, policy.py) put together, and the
rules across them (here for the compute fabric and floor plan, rules.py for the rest).

Each validator checks one rule and says how to fix it, naming fields as the user writes them.
"""

from __future__ import annotations

from collections import Counter

from pydantic import Field, model_validator

from rscctl import names
from rscctl.declare.catalog import Catalog, HardwareModel, Strict
from rscctl.declare.fields import (
    LABEL_MAX,
    LABEL_RULE,
    MAX_NODES,
    Label,
    ShortText,
    Text,
    label_problem,
    longest,
)
from rscctl.declare.mirrors import Mirrors, check_in_enclave
from rscctl.declare.parts import (
    ComputeFabric,
    FloorPlan,
    Hall,
    Naming,
    Network,
    RackGroup,
    RackKind,
    Route,
    Row,
    ServerGroup,
)
from rscctl.declare.policy import Policy, check_against_networks
from rscctl.declare.rules import check_networks_declared
from rscctl.declare.storage import Dns, Management, StorageFabric


class Build(Strict):
    """A whole build, with `extends` already resolved and its catalog attached."""

    name: Label = Field(description="the build's name; also the output directory's name")
    description: Text = ""
    site: ShortText = Field(default="", description="the datacenter site (NetBox); default: name")
    catalog: Catalog
    naming: Naming = Naming()
    compute: ComputeFabric
    floorplan: FloorPlan
    networks: dict[Label, Network] = Field(default_factory=dict)
    servers: tuple[ServerGroup, ...] = ()
    storage: StorageFabric | None = None
    management: Management | None = None
    dns: Dns = Dns()
    policy: Policy | None = None
    mirrors: Mirrors = Mirrors()

    # -- derived facts, used by validators and the planner ---------------------------------

    def model(self, name: str) -> HardwareModel:
        return self.catalog.models[name]

    @property
    def rails(self) -> int:
        return len(self.model(self.compute.node_model).ports_of("compute"))

    @property
    def uplinks_per_leaf(self) -> int:
        """1:1: a leaf sends up as many links as it has node ports."""
        return self.compute.nodes_per_su

    @property
    def links_per_spine(self) -> int:
        return self.uplinks_per_leaf // self.compute.spines

    # -- validators, one rule each ----------------------------------------------------------

    @model_validator(mode="after")
    def _models_known(self) -> Build:
        """Every model named in compute is in the catalog and of the right kind."""
        c = self.compute
        wanted = {
            "compute.node_model": (c.node_model, {"gpu-node"}),
            "compute.leaf_model": (c.leaf_model, {"switch"}),
            "compute.spine_model": (c.spine_model, {"switch", "director"}),
        }
        for field, (name, kinds) in wanted.items():
            if name not in self.catalog.models:
                known = ", ".join(sorted(self.catalog.models))
                raise ValueError(f"{field}: unknown model {name!r}; use one of: {known}")
            if self.catalog.models[name].kind not in kinds:
                raise ValueError(
                    f"{field}: {name!r} is a {self.catalog.models[name].kind}, "
                    f"not a {' or '.join(sorted(kinds))}"
                )
        if not any(f.cable_class == c.cable_class for f in self.catalog.cables):
            raise ValueError(
                f"compute.cable_class: no cable of class {c.cable_class!r} in the catalog"
            )
        return self

    @model_validator(mode="after")
    def _gpus_match(self) -> Build:
        """Declared GPUs = nodes x GPUs per node."""
        c = self.compute
        per = self.model(c.node_model).gpus
        if c.gpus != c.gpu_nodes * per:
            raise ValueError(
                f"compute.gpus={c.gpus} but {c.gpu_nodes} nodes x {per} GPUs = "
                f"{c.gpu_nodes * per}; set compute.gpus to {c.gpu_nodes * per}"
            )
        return self

    @model_validator(mode="after")
    def _nodes_fill_sus(self) -> Build:
        """The nodes fit the declared SUs, and only the last SU may be partial."""
        c = self.compute
        lo, hi = (c.scalable_units - 1) * c.nodes_per_su + 1, c.scalable_units * c.nodes_per_su
        if not lo <= c.gpu_nodes <= hi:
            need = -(-c.gpu_nodes // c.nodes_per_su)
            raise ValueError(
                f"compute.gpu_nodes={c.gpu_nodes} does not fit {c.scalable_units} SUs of "
                f"{c.nodes_per_su} ({lo}-{hi} nodes); set compute.scalable_units to {need}"
            )
        if c.scalable_units > c.max_sus:
            raise ValueError(
                f"compute.scalable_units={c.scalable_units} exceeds compute.max_sus={c.max_sus}; "
                f"raise max_sus (spine ports reserved) or declare fewer SUs"
            )
        return self

    @model_validator(mode="after")
    def _leaf_radix(self) -> Build:
        """A leaf takes one HCA per node of its SU and as many uplinks (1:1)."""
        c = self.compute
        leaf = self.model(c.leaf_model)
        node = self.model(c.node_model)
        if self.rails == 0:
            raise ValueError(f"model {c.node_model!r} declares no compute ports")
        rails = sorted(p.rail or 0 for p in node.ports_of("compute"))
        if rails != list(range(1, self.rails + 1)):
            raise ValueError(
                f"model {c.node_model!r}: compute ports must carry rails 1..{self.rails} "
                f"once each (got {rails})"
            )
        need = 2 * c.nodes_per_su
        if leaf.switch_ports < need:
            raise ValueError(
                f"compute.nodes_per_su={c.nodes_per_su} needs {need} ports per leaf "
                f"({c.nodes_per_su} down + {c.nodes_per_su} up) but {c.leaf_model} has "
                f"{leaf.switch_ports}; declare at most {leaf.switch_ports // 2} nodes per SU"
            )
        if self.uplinks_per_leaf % c.spines:
            raise ValueError(
                f"compute.spines={c.spines} does not divide the {self.uplinks_per_leaf} uplinks "
                "of each leaf evenly; declare a number of spines that divides it"
            )
        return self

    @model_validator(mode="after")
    def _mirrors_in_enclave(self) -> Build:
        check_in_enclave(self.mirrors, self.dns.domain,
                         {k: n.supernet for k, n in self.networks.items()})
        return self

    @model_validator(mode="after")
    def _spines_have_ports(self) -> Build:
        """The spines take every uplink of every leaf of every reserved SU slot."""
        c = self.compute
        spine = self.model(c.spine_model)
        leaves = c.max_sus * self.rails
        need = leaves * self.uplinks_per_leaf
        have = c.spines * spine.switch_ports
        if need > have:
            per_spine_su = self.rails * self.links_per_spine
            fit = spine.switch_ports // per_spine_su if per_spine_su else 0
            raise ValueError(
                f"compute.spines={c.spines} x {spine.switch_ports} ports cannot take "
                f"{leaves} leaves x {self.uplinks_per_leaf} uplinks ({need:,} ports needed, "
                f"{have:,} available); declare compute.max_sus of at most {fit}"
            )
        return self

    @model_validator(mode="after")
    def _racks_hold_nodes(self) -> Build:
        """A GPU rack's space and power take its nodes; a pod's racks take an SU."""
        c, f = self.compute, self.floorplan
        node = self.model(c.node_model)
        if c.nodes_per_rack * node.rack_units > f.rack_units:
            raise ValueError(
                f"compute.nodes_per_rack={c.nodes_per_rack} x {node.rack_units}U exceeds "
                f"floorplan.rack_units={f.rack_units}"
            )
        power = c.nodes_per_rack * node.power_kw
        if power > f.rack_power_kw:
            raise ValueError(
                f"compute.nodes_per_rack={c.nodes_per_rack} x {node.power_kw} kW = {power} kW "
                f"exceeds floorplan.rack_power_kw={f.rack_power_kw}; "
                "put fewer nodes per rack or raise the rack's power"
            )
        gpu_racks = f.pod_layout.count("gpu")
        if gpu_racks * c.nodes_per_rack < c.nodes_per_su:
            raise ValueError(
                f"floorplan.pod_layout has {gpu_racks} gpu racks x {c.nodes_per_rack} nodes, "
                f"fewer than compute.nodes_per_su={c.nodes_per_su}; add gpu racks to the pod"
            )
        if "network" not in f.pod_layout:
            raise ValueError("floorplan.pod_layout needs a network rack for the SU's leaves")
        leaf = self.model(c.leaf_model)
        if self.rails * leaf.rack_units > f.rack_units:
            raise ValueError(
                f"{self.rails} leaves x {leaf.rack_units}U do not fit a network rack of "
                f"{f.rack_units}U"
            )
        return self

    @model_validator(mode="after")
    def _floor_unique(self) -> Build:
        """Hall and row names are unique, no two racks share a position, each SU placed once."""
        # Counted case-blind: H1 and h1 would give the same host names (pdu-h1-...).
        halls = Counter(h.name.lower() for h in self.floorplan.halls)
        for name, n in halls.items():
            if n > 1:
                raise ValueError(f"floorplan.halls: hall {name!r} is declared {n} times")
        pod = len(self.floorplan.pod_layout)
        placed: Counter[int] = Counter()
        for hall in self.floorplan.halls:
            rows = Counter(r.name.lower() for r in hall.rows)
            for name, n in rows.items():
                if n > 1:
                    raise ValueError(f"hall {hall.name}: row {name!r} is declared {n} times")
            for row in hall.rows:
                taken: dict[int, str] = {}
                spans = [
                    (row.first_position + i * pod, pod, f"pod of SU {su}")
                    for i, su in enumerate(row.sus)
                ] + [(g.at, g.count, f"{g.kind} racks at {g.at}") for g in row.racks]
                for start, count, what in spans:
                    for pos in range(start, start + count):
                        if pos in taken:
                            raise ValueError(
                                f"hall {hall.name} row {row.name}: rack position {pos} is "
                                f"declared twice ({taken[pos]} and {what}); "
                                "move one of them to a free position"
                            )
                        taken[pos] = what
                placed.update(row.sus)
                placed.update(g.su for g in row.racks if g.su and g.kind == "gpu")
        c = self.compute
        twice = sorted(su for su, n in placed.items() if n > 1)
        if twice:
            raise ValueError(f"floorplan: SU {twice[0]} is placed more than once")
        extra = sorted(su for su in placed if su > c.scalable_units)
        if extra:
            raise ValueError(
                f"floorplan: SU {extra[0]} is placed but compute.scalable_units="
                f"{c.scalable_units}; remove it from the rows or raise scalable_units"
            )
        missing = [su for su in range(1, c.scalable_units + 1) if su not in placed]
        if missing:
            raise ValueError(
                f"floorplan: SU {missing[0]} has no place ({len(missing)} SUs unplaced); "
                "add it to a row's `sus`"
            )
        return self

    @model_validator(mode="after")
    def _servers_known(self) -> Build:
        """Server groups name catalog models of kind server, once each, and have racks."""
        names = Counter(g.name for g in self.servers)
        for name, n in names.items():
            if n > 1:
                raise ValueError(f"servers: group {name!r} is declared {n} times")
        for i, g in enumerate(self.servers):
            if g.model not in self.catalog.models:
                known = ", ".join(sorted(self.catalog.models))
                raise ValueError(
                    f"servers[{i}].model: unknown model {g.model!r}; use one of: {known}"
                )
        if self.servers and not any(
            g.kind == "management" for h in self.floorplan.halls for r in h.rows for g in r.racks
        ):
            raise ValueError("servers need racks of kind management in the floor plan; add some")
        return self

    @model_validator(mode="after")
    def _policy_networks(self) -> Build:
        """The firewall policy names declared networks and keeps outsiders outside them."""
        if self.policy is not None:
            check_against_networks(
                self.policy, {k: v.supernet for k, v in self.networks.items()}
            )
        return self

    @model_validator(mode="after")
    def _spine_racks(self) -> Build:
        """There are enough spine racks for the spines, one director per rack at most."""
        c, f = self.compute, self.floorplan
        spine = self.model(c.spine_model)
        racks = sum(
            g.count for h in f.halls for r in h.rows for g in r.racks if g.kind == "spine"
        )
        per_rack = min(f.rack_units // spine.rack_units, int(f.rack_power_kw // spine.power_kw))
        if per_rack == 0:
            raise ValueError(
                f"a {c.spine_model} ({spine.rack_units}U, {spine.power_kw} kW) does not fit a "
                f"rack of {f.rack_units}U and {f.rack_power_kw} kW"
            )
        if racks * per_rack < c.spines:
            need = -(-c.spines // per_rack)
            raise ValueError(
                f"floorplan: {racks} spine racks hold {racks * per_rack} of the "
                f"{c.spines} spines; declare at least {need} racks of kind spine"
            )
        return self

    @model_validator(mode="after")
    def _storage_management_known(self) -> Build:
        """Storage, management and network declarations are consistent (rscctl.declare.rules)."""
        check_networks_declared(self)
        return self

    @model_validator(mode="after")
    def _names_fit(self) -> Build:
        """Every device name the build can produce (growth included) is a host name, and so is
        each DNS name made of it and a port (dgx0001-mlx5-8)."""
        for field, name, model in self._longest_names():
            problem = label_problem(name)
            if problem:
                raise ValueError(
                    f"{field}: the longest name the build can need (growth included), "
                    f"{name!r}, {problem}; {LABEL_RULE}; shorten it"
                )
            if model is None:
                continue
            m = self.model(model)
            ports = [p.name for p in m.ports] + (
                ["vlan4094"] if m.kind in ("switch", "director") else [])
            port = max(ports, key=lambda p: len(names.port_label(p)), default="")
            dns = names.iface_name(name, port)
            if port and len(dns) > LABEL_MAX:
                raise ValueError(
                    f"{field}: {name!r} with its port {port!r} gives the DNS name {dns!r} of "
                    f"{len(dns)} characters (at most {LABEL_MAX}); shorten the name"
                )
        return self

    def _longest_names(self) -> list[tuple[str, str, str | None]]:
        """(field, longest device name, model whose ports get names) of every kind of device,
        formatted with the largest numbers the build can need, by rscctl.names."""
        c, n = self.compute, self.naming
        if c.max_sus * c.nodes_per_su > MAX_NODES:
            raise ValueError(
                f"compute.max_sus={c.max_sus} x nodes_per_su={c.nodes_per_su} reserves more "
                f"than {MAX_NODES:,} nodes; declare fewer SU slots"
            )
        out: list[tuple[str, str, str | None]] = [
            ("naming.node", longest(n.node, {"n": c.max_sus * c.nodes_per_su, "su": c.max_sus,
                                             "slot": c.nodes_per_su}), c.node_model),
            ("naming.leaf", longest(n.leaf, {"su": c.max_sus, "rail": self.rails}),
             c.leaf_model),
            ("naming.spine", longest(n.spine, {"n": c.spines}), c.spine_model),
        ]
        out += [(f"servers[{i}].name", names.server_name(g.name, g.count), g.model)
                for i, g in enumerate(self.servers)]
        s = self.storage
        if s is not None:
            out += [(f"storage.systems[{i}].name", names.system_name(g.name, g.slots), g.model)
                    for i, g in enumerate(s.systems)]
            out += [("naming.storage_leaf",
                     longest(n.storage_leaf, {"su": c.max_sus, "leaf": s.leaves_per_su}),
                     s.leaf_model),
                    ("naming.storage_spine", longest(n.storage_spine, {"n": s.spines}),
                     s.spine_model)]
        m = self.management
        if m is not None:
            rows = [(h.name, r) for h in self.floorplan.halls for r in h.rows]
            pod = len(self.floorplan.pod_layout)
            last = max(
                max([r.first_position + len(r.sus) * pod - 1]
                    + [g.at + g.count - 1 for g in r.racks])
                for _h, r in rows)
            hall, row = max(((h, r.name) for h, r in rows),
                            key=lambda hr: len(names.row_scope(*hr)))
            area = names.row_scope(hall, row)
            out += [
                ("floorplan.halls", names.pdu_name(names.rack_name(hall, row, last),
                                                   len(names.FEEDS)), m.pdu_model),
                ("floorplan.halls", names.access_name("oob", area, m.row_switch_block),
                 m.access_model),
                ("compute.max_sus",
                 names.access_name("oob", names.pod_scope(c.max_sus), m.row_switch_block),
                 m.access_model),
                ("management.cores", names.core_name(m.cores), m.core_model),
            ]
        return out


# The parts are re-exported: a build's reader finds them where Build is.
__all__ = ["Build", "ComputeFabric", "FloorPlan", "Hall", "Naming", "Network", "RackGroup",
           "RackKind", "Route", "Row", "ServerGroup"]
