"""The compute fabric as InfiniBand tools see it: HCAs and switch ASICs, their GUIDs, the links.

OpenSM, ibnetdiscover and ibsim do not see boxes but nodes: one node per HCA (a single-port
ConnectX-6 of a DGX is a node of its own, described `dgx0001 mlx5_0` as rdma-ndd's "%h %d"
does), one per leaf switch, and for a director one per ASIC. This module turns a Plan into that
node-level graph once; the writers in rscctl.export.ibtopo only format it.

Director mapping (from the catalog's `asics` layout of the model, e.g. cs8500):
- Front port index i (0-based, in the order of `switch_port_names`, so `L{m}/P{p}`) sits on
  leaf module m = i // ports_per_module. The module's ports are split in order over its
  `leaf_asics_per_module` ASICs, `external_ports_per_leaf_asic` each: on a CS8500 P01-P20 are
  on ASIC U1 and P21-P40 on U2. ASIC port = position within that ASIC's block, 1-based.
  So `L03/P25` is leaf ASIC `L03/U2`, ASIC port 5.
- Leaf ASIC ports above the external block go up to the spine ASICs, k = external / spines
  links to each (1 on a CS8500): leaf port `external + j*k + l + 1` <-> spine ASIC j (0-based),
  spine port `i*k + l + 1` where i is the global leaf ASIC index (0-based). Non-blocking inside.
- Spine ASICs are numbered module by module: spine ASIC j is `S{j // per_module + 1:02d}` /
  `U{j % per_module + 1}`. Descriptions follow the chassis style `MF0;spine01:MCS8500/L15/U1`.
- Every ASIC of a director exists in the fabric, cabled or not (phase 1 leaves many dark).

GUIDs: taken from `plan.facts.guids` (node description -> GUID) when declared, else derived
from the node description: 0x02 (locally administered EUI-64) + 52 bits of BLAKE2b + 4 zero
bits. A node's description comes from names only (device, HCA, ASIC position), so growing a
build never changes an existing GUID. A CA's port GUID is its node GUID + port number, as
ibsim assigns it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from rscctl.declare.catalog import AsicLayout, HardwareModel
from rscctl.errors import UserError
from rscctl.planner.model import Cable, Plan

FABRIC = "compute"

# Link rate as ibnetdiscover prints it, by port speed in Gb/s (4 lanes).
IB_RATES: dict[float, str] = {
    10: "4xSDR", 20: "4xDDR", 40: "4xQDR", 56: "4xFDR", 100: "4xEDR", 200: "4xHDR",
    400: "4xNDR", 800: "4xXDR",
}


@dataclass(frozen=True, slots=True)
class IbNode:
    """One InfiniBand node: a CA (an HCA) or a switch (a leaf switch or one director ASIC)."""

    kind: str  # "Switch" | "Ca"
    desc: str
    ports: int
    guid: int
    device: str
    role: str  # "hca" | "switch" | "director-leaf" | "director-spine"
    system_guid: int

    @property
    def node_id(self) -> str:
        """The quoted id ibnetdiscover gives a node: S-<guid> or H-<guid>."""
        return f"{'S' if self.kind == 'Switch' else 'H'}-{self.guid:016x}"

    def port_guid(self, port: int) -> int:
        return self.guid + port if self.kind == "Ca" else self.guid


@dataclass(frozen=True, slots=True)
class IbLink:
    """A link between two node ports; `cable_id` is empty for links inside a director."""

    a: int
    a_port: int
    b: int
    b_port: int
    cable_id: str
    rate: str


@dataclass(frozen=True)
class IbFabric:
    build: str
    fabric: str
    nodes: tuple[IbNode, ...]
    links: tuple[IbLink, ...]
    roots: tuple[int, ...]  # node indexes of the fat tree's top level

    def link_ends(self) -> set[tuple[tuple[str, int], tuple[str, int]]]:
        """Every link once, as a sorted pair of (node description, port): what a parsed
        ibnetdiscover Topology.links() of the same fabric must equal."""
        out: set[tuple[tuple[str, int], tuple[str, int]]] = set()
        for link in self.links:
            a = (self.nodes[link.a].desc, link.a_port)
            b = (self.nodes[link.b].desc, link.b_port)
            out.add((a, b) if a <= b else (b, a))
        return out

    def link_cables(self) -> dict[tuple[tuple[str, int], tuple[str, int]], str]:
        """The planned links as link_ends() gives them, each with its cable ID ('' inside a
        director): the input of rscctl.verify.ibnetdiscover.compare_links."""
        out: dict[tuple[tuple[str, int], tuple[str, int]], str] = {}
        for link in self.links:
            a = (self.nodes[link.a].desc, link.a_port)
            b = (self.nodes[link.b].desc, link.b_port)
            out[(a, b) if a <= b else (b, a)] = link.cable_id
        return out

    def limits(self) -> tuple[int, int, int]:
        """(nodes, switches, ports) ibsim must be allowed (-N, -S, -P) to load this fabric."""
        switches = sum(1 for n in self.nodes if n.kind == "Switch")
        return len(self.nodes), switches, sum(n.ports + 1 for n in self.nodes)

    @cached_property
    def peers(self) -> list[dict[int, tuple[int, int, IbLink]]]:
        """For each node: port -> (peer node, peer port, link)."""
        out: list[dict[int, tuple[int, int, IbLink]]] = [{} for _ in self.nodes]
        for link in self.links:
            out[link.a][link.a_port] = (link.b, link.b_port, link)
            out[link.b][link.b_port] = (link.a, link.a_port, link)
        return out


def guid_of(desc: str, declared: dict[str, int]) -> int:
    """Declared GUID of a node description, else one derived from it (stable under growth)."""
    if desc in declared:
        return declared[desc]
    h = int.from_bytes(hashlib.blake2b(desc.encode(), digest_size=8).digest(), "big")
    return (0x02 << 56) | ((h & ((1 << 52) - 1)) << 4)


def _declared_guids(plan: Plan) -> dict[str, int]:
    out: dict[str, int] = {}
    for desc, value in plan.facts.guids.items():
        try:
            out[desc] = int(value, 16)
        except ValueError:
            raise UserError(
                f"guids: {desc!r}: {value!r} is not a GUID; "
                "write it as hex, e.g. 0x0c42a10300a1b2c3"
            ) from None
    return out


@dataclass(frozen=True)
class DirectorLayout:
    """How a director's front ports map onto its leaf ASICs, and how those reach its spines."""

    modules: int
    ports_per_module: int
    leaf_per_module: int
    spine_per_module: int
    external: int
    leaf_asics: int
    spine_asics: int

    @classmethod
    def of(cls, name: str, model: HardwareModel) -> DirectorLayout:
        a: AsicLayout | None = model.asics
        if a is None:
            raise UserError(
                f"catalog: model {name!r} has {model.switch_ports} ports but no `asics` layout; "
                "declare asics (leaf_asics, spine_asics, external_ports_per_leaf_asic)"
            )
        lay = cls(model.modules, model.ports_per_module, a.leaf_asics_per_module,
                  a.spine_asics_per_module, a.external_ports_per_leaf_asic, a.leaf_asics,
                  a.spine_asics)
        problems = []
        if lay.leaf_per_module * lay.external != lay.ports_per_module:
            problems.append(f"{lay.leaf_per_module} leaf ASICs x {lay.external} ports per module "
                            f"!= {lay.ports_per_module} ports per module")
        if lay.modules * lay.leaf_per_module != lay.leaf_asics:
            problems.append(f"{lay.modules} modules x {lay.leaf_per_module} != leaf_asics "
                            f"{lay.leaf_asics}")
        if lay.external % lay.spine_asics or lay.spine_asics % lay.spine_per_module:
            problems.append(f"{lay.external} external ports do not spread evenly over "
                            f"{lay.spine_asics} spine ASICs")
        if problems:
            raise UserError(f"catalog: model {name!r} asics: " + "; ".join(problems))
        return lay

    @property
    def links_per_pair(self) -> int:
        return self.external // self.spine_asics

    def leaf_desc(self, prefix: str, i: int) -> str:
        return f"{prefix}/L{i // self.leaf_per_module + 1:02d}/U{i % self.leaf_per_module + 1}"

    def spine_desc(self, prefix: str, j: int) -> str:
        return f"{prefix}/S{j // self.spine_per_module + 1:02d}/U{j % self.spine_per_module + 1}"

    def front_port(self, index: int) -> tuple[int, int]:
        """Front port index (0-based) -> (leaf ASIC index 0-based, ASIC port 1-based)."""
        module, p = divmod(index, self.ports_per_module)
        unit, q = divmod(p, self.external)
        return module * self.leaf_per_module + unit, q + 1


class _Builder:
    """Walks the fabric's cables once, creating each node the first time a cable reaches it."""

    def __init__(self, plan: Plan, fabric: str) -> None:
        self.plan = plan
        self.fabric = fabric
        self.declared = _declared_guids(plan)
        self.models = plan.models
        self.devices = plan.device_index()
        self.nodes: list[IbNode] = []
        self.links: list[IbLink] = []
        self.index: dict[str, int] = {}  # node description -> node index
        self.port_names: dict[str, dict[str, int]] = {}
        self.named: dict[str, dict[str, float]] = {}
        self.directors: dict[str, tuple[DirectorLayout, list[int], list[int]]] = {}
        self.order: dict[str, int] = {}

    def add(self, kind: str, desc: str, ports: int, device: str, role: str,
            system: str | None = None) -> int:
        guid = guid_of(desc, self.declared)
        sysguid = guid_of(system, self.declared) if system else guid
        self.index[desc] = len(self.nodes)
        self.nodes.append(IbNode(kind, desc, ports, guid, device, role, sysguid))
        return len(self.nodes) - 1

    def add_director(self, device: str, model_name: str, model: HardwareModel) -> None:
        lay = DirectorLayout.of(model_name, model)
        prefix = f"MF0;{device}:{model.part_number}"
        chassis = f"chassis {device}"
        k = lay.links_per_pair
        rate = IB_RATES.get(model.switch_port_speed_gbps, "4xHDR")
        leaves = [self.add("Switch", lay.leaf_desc(prefix, i), lay.external + lay.spine_asics * k,
                           device, "director-leaf", chassis) for i in range(lay.leaf_asics)]
        spines = [self.add("Switch", lay.spine_desc(prefix, j), lay.leaf_asics * k, device,
                           "director-spine", chassis) for j in range(lay.spine_asics)]
        for i, leaf in enumerate(leaves):
            for j, spine in enumerate(spines):
                for link in range(k):
                    self.links.append(IbLink(leaf, lay.external + j * k + link + 1,
                                             spine, i * k + link + 1, "", rate))
        self.directors[device] = (lay, leaves, spines)

    def _model_ports(self, model_name: str) -> tuple[HardwareModel, dict[str, float],
                                                    dict[str, int]]:
        if model_name not in self.port_names:
            model = self.models[model_name]
            self.named[model_name] = {p.name: p.speed_gbps for p in model.ports}
            self.port_names[model_name] = {n: i for i, n in enumerate(model.switch_port_names())}
        return self.models[model_name], self.named[model_name], self.port_names[model_name]

    def endpoint(self, device: str, port: str) -> tuple[int, int, float]:
        """(node index, port number, port speed) of a cable end, creating the node if new."""
        model_name = self.devices[device].model
        model, named, switch_ports = self._model_ports(model_name)
        if port in named:
            desc = f"{device} {port}"
            if desc not in self.index:
                self.add("Ca", desc, 1, device, "hca")
            return self.index[desc], 1, named[port]
        if port not in switch_ports:
            raise UserError(f"plan: {device} has no port {port!r}; plan again")
        i = switch_ports[port]
        speed = model.switch_port_speed_gbps
        if model.switch_ports > 254 or model.asics is not None:
            if device not in self.directors:
                self.add_director(device, model_name, model)
            lay, leaves, _ = self.directors[device]
            asic, asic_port = lay.front_port(i)
            return leaves[asic], asic_port, speed
        if device not in self.index:
            self.add("Switch", device, model.switch_ports, device, "switch")
        return self.index[device], i + 1, speed

    def build(self) -> IbFabric:
        cables = [c for c in self.plan.cables if c.fabric == self.fabric]
        self.order = {d.name: n for n, d in enumerate(self.plan.devices)}
        used: dict[tuple[int, int], str] = {}
        for c in cables:
            a, ap, sa = self.endpoint(c.a_device, c.a_port)
            b, bp, sb = self.endpoint(c.b_device, c.b_port)
            for end in ((a, ap), (b, bp)):
                if end in used:
                    raise UserError(f"plan: cables {used[end]} and {c.cable_id} share the port "
                                    f"{self.nodes[end[0]].desc}[{end[1]}]; plan again")
                used[end] = c.cable_id
            self.links.append(IbLink(a, ap, b, bp, c.cable_id, IB_RATES.get(min(sa, sb), "4xHDR")))
        self._check_guids()
        return IbFabric(self.plan.build, self.fabric, tuple(self.nodes), tuple(self.links),
                        self._roots(cables))

    def _roots(self, cables: list[Cable]) -> tuple[int, ...]:
        """The top tier: devices only ever on the b (upper) side of a cable; a director's
        spine ASICs, or the switch itself."""
        lower = {c.a_device for c in cables}
        top = sorted({c.b_device for c in cables} - lower, key=self.order.__getitem__)
        roots: list[int] = []
        for device in top:
            if device in self.directors:
                roots.extend(self.directors[device][2])
            else:
                roots.append(self.index[device])
        return tuple(roots)

    def _check_guids(self) -> None:
        seen: dict[int, str] = {}
        for n in self.nodes:
            guids = {n.guid, n.port_guid(1)} if n.kind == "Ca" else {n.guid}
            for g in guids:
                if g in seen and seen[g] != n.desc:
                    raise UserError(
                        f"GUID 0x{g:016x} is given to both {seen[g]!r} and {n.desc!r}; "
                        "declare a GUID for one of them in compute.guids"
                    )
                seen[g] = n.desc


def ib_fabric(plan: Plan, fabric: str = FABRIC) -> IbFabric:
    """The node-level InfiniBand graph of one fabric of the plan."""
    return _Builder(plan, fabric).build()


__all__ = ["FABRIC", "IB_RATES", "DirectorLayout", "IbFabric", "IbLink", "IbNode", "guid_of",
           "ib_fabric"]
