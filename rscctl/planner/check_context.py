"""What the named checks share: the record a check is declared with, and the check context.

A check is a pure function of the plan and the context. The context holds the values several
checks (or a check and its summary) need, each a typed cached property computed on first use,
once per run: no string keys, no casts, no cache outside the context.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property

from rscctl.declare.catalog import HardwareModel
from rscctl.errors import Finding
from rscctl.planner import storage_fabric
from rscctl.planner.facts import ComputeFacts
from rscctl.planner.model import Device, Plan
from rscctl.planner.zones import ZoneMap, resolve_zones

CheckFn = Callable[[Plan, "Context"], list[Finding]]
SummaryFn = Callable[[Plan, "Context"], str]


@dataclass(frozen=True)
class Check:
    """A named check: `run` returns findings (empty when it holds); `summary` says what holds
    (default "holds"); `premises` are the checks it relies on: when one of them fails, the
    runner reports this check as not proven."""

    name: str
    run: CheckFn
    summary: SummaryFn | None = None
    premises: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LeafLinks:
    """A compute leaf's links: to nodes, to spines, and to each spine."""

    down: int
    up: int
    per_spine: Counter[str]


@dataclass(frozen=True, slots=True)
class StorageNumbers:
    """Max flow storage -> GPUs (Gb/s) and each storage leaf's oversubscription."""

    deliverable_gbps: float
    leaf_oversubscription: dict[str, float]


class Context:
    """The values several checks need, computed once per run, on first use."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._port_names: dict[str, frozenset[str]] = {}

    @property
    def models(self) -> Mapping[str, HardwareModel]:
        return self.plan.models

    @cached_property
    def devices(self) -> dict[str, Device]:
        return self.plan.device_index()

    @property
    def facts(self) -> ComputeFacts:
        """The compute fabric's facts (rails, links per spine, nodes per SU, port speed)."""
        return self.plan.facts.compute

    @cached_property
    def compute_peers(self) -> dict[str, list[str]]:
        """Per device, the far end of each of its compute cables: all the checks need of the
        graph (plain lists build several times faster than a networkx graph of ~50,000 edges)."""
        peers: dict[str, list[str]] = defaultdict(list)
        for c in self.plan.cables:
            if c.fabric == "compute":
                peers[c.a_device].append(c.b_device)
                peers[c.b_device].append(c.a_device)
        return peers

    @cached_property
    def leaf_links(self) -> dict[str, LeafLinks]:
        """Per compute leaf: downlinks, uplinks and uplinks per spine."""
        out: dict[str, LeafLinks] = {}
        for leaf in self.of_role("compute-leaf"):
            down = up = 0
            per_spine: Counter[str] = Counter()
            for peer in self.compute_peers.get(leaf, ()):
                d = self.devices.get(peer)
                role = d.role if d else None
                if role == "gpu-node":
                    down += 1
                elif role == "compute-spine":
                    up += 1
                    per_spine[peer] += 1
            out[leaf] = LeafLinks(down, up, per_spine)
        return out

    @cached_property
    def cabled_ports(self) -> AbstractSet[tuple[str, str]]:
        """Every (device, port) some cable ends at."""
        cabled: set[tuple[str, str]] = set()
        for c in self.plan.cables:
            cabled.add((c.a_device, c.a_port))
            cabled.add((c.b_device, c.b_port))
        return cabled

    @cached_property
    def port_kinds(self) -> dict[str, dict[str, str]]:
        """Per model, its named ports' kinds (switch ports are unnamed: not in the map)."""
        return {name: {p.name: p.kind for p in m.ports} for name, m in self.models.items()}

    @cached_property
    def storage_numbers(self) -> StorageNumbers:
        """The storage fabric's max flow and leaf oversubscription, from the cabled plan."""
        plan = self.plan
        roles = {d.name: d.role for d in plan.devices}
        model_of = {d.name: d.model for d in plan.devices}
        speed = storage_fabric.port_speeds(self.models, plan.cables, model_of)
        throughput = {d.name: self.models[d.model].throughput_gbytes_s * 8
                      for d in plan.devices if d.role == storage_fabric.ROLE_SYSTEM}
        facts = plan.facts.storage
        designed = facts.designed_leaf_down_gbps if facts else 0.0
        over = storage_fabric.leaf_oversubscription(plan.cables, roles, speed, designed)
        gbps = storage_fabric.deliverable_gbps(plan.cables, roles, speed, throughput)
        return StorageNumbers(gbps, over)

    @cached_property
    def zones(self) -> ZoneMap | None:
        """The firewall zones with their addresses (None when the build declares no policy)."""
        return resolve_zones(self.plan) if self.plan.facts.firewall else None

    def port_names(self, model: str) -> frozenset[str]:
        if model not in self._port_names:
            m = self.models[model]
            self._port_names[model] = frozenset(
                [*(p.name for p in m.ports), *m.switch_port_names()]
            )
        return self._port_names[model]

    def of_role(self, role: str) -> list[str]:
        return [d.name for d in self.plan.devices if d.role == role]
