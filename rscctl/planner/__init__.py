"""Declaration -> plan: a pure function. No I/O, no clock, no randomness.

Each stage is a module named for its idea and a function of the declaration and of the earlier
stages' results, returning only what it adds (rscctl.planner.builder.StageResult). The order is
in the signatures: servers take the rack space compute left, storage cables to compute's nodes
and the servers, management to everything placed before it, addressing names servers among
them. Then every declared check (rscctl.planner.checks.CHECKS) runs on the finished plan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields, replace

from rscctl.declare.build import Build
from rscctl.planner import addressing, compute_fabric, management, servers, storage_fabric
from rscctl.planner import firewall as firewall_policy
from rscctl.planner.builder import (
    AddressesResult,
    ComputeResult,
    ManagementResult,
    PolicyResult,
    ServersResult,
    StageResult,
    StorageResult,
)
from rscctl.planner.checks import run_checks
from rscctl.planner.facts import Facts
from rscctl.planner.floorplan import expand_racks
from rscctl.planner.model import Plan, Rack


@dataclass(frozen=True, slots=True)
class Stages:
    """Every stage's result, in the order they ran (and the plan lists their records)."""

    racks: tuple[Rack, ...]
    compute: ComputeResult
    servers: ServersResult
    storage: StorageResult
    management: ManagementResult
    addresses: AddressesResult
    policy: PolicyResult

    def results(self) -> tuple[StageResult, ...]:
        return tuple(getattr(self, f.name) for f in fields(self)[1:])


def plan_stages(build: Build) -> Stages:
    """Run the stages; each gets the results it depends on, so the order cannot drift."""
    racks = expand_racks(build)
    compute = compute_fabric.plan_compute(build, racks)
    servers_ = servers.plan_servers(build, racks, compute)
    storage = storage_fabric.plan_storage(build, racks, compute, servers_)
    mgmt = management.plan_management(build, racks, compute, servers_, storage)
    addresses = addressing.plan_addresses(build, compute, servers_, storage, mgmt)
    policy = firewall_policy.plan_policy(build)
    return Stages(racks, compute, servers_, storage, mgmt, addresses, policy)


def _facts(build: Build, stages: Stages) -> Facts:
    """Every stage's facts in one record, with the device counts and the site."""
    counts = Counter(d.role for r in stages.results() for d in r.devices)
    return Facts(
        compute=stages.compute.facts,
        counts=dict(sorted(counts.items())),
        site=build.site or build.name,
        guids=stages.compute.guids,
        storage=stages.storage.facts,
        management=stages.management.facts,
        networks=stages.addresses.networks,
        dns=stages.addresses.dns,
        addresses=stages.addresses.count,
        firewall=stages.policy.facts,
        mirrors=build.mirrors.declared(),
    )


def build_plan(build: Build, check: bool = True) -> Plan:
    """The complete plan of a build, with the result of every named check."""
    stages = plan_stages(build)
    results = stages.results()
    devices = tuple(d for r in results for d in r.devices)
    used = sorted({d.model for d in devices})
    plan = Plan(
        build=build.name,
        description=build.description,
        racks=stages.racks,
        devices=devices,
        cables=tuple(c for r in results for c in r.cables),
        models={m: build.model(m) for m in used},
        cable_families=build.catalog.cables,
        addresses=tuple(a for r in results for a in r.addresses),
        facts=_facts(build, stages),
    )
    if not check:
        return plan
    return with_checks(plan)


def with_checks(plan: Plan) -> Plan:
    """The same plan with its checks (re-)run."""
    return replace(plan, checks=run_checks(plan))


__all__ = ["Stages", "build_plan", "plan_stages", "with_checks"]
