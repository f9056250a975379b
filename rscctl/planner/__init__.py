"""Declaration -> plan: a pure function. No I/O, no clock, no randomness.

The planner runs its stages in a fixed order on one PlanBuilder; each stage is a module named
for its idea (compute_fabric, ...). Then every named check runs on the finished plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from rscctl.declare.build import Build
from rscctl.planner import (
    addressing,
    compute_fabric,
    management,
    network_checks,  # noqa: F401  (importing it registers its checks)
    servers,
    storage_fabric,
)
from rscctl.planner import firewall as firewall_policy
from rscctl.planner.builder import PlanBuilder
from rscctl.planner.checks import run_checks
from rscctl.planner.floorplan import expand_racks
from rscctl.planner.model import Plan

Stage = Callable[[PlanBuilder], None]

# The order matters: later stages take the rack space earlier ones leave.
STAGES: list[Stage] = [
    compute_fabric.plan_compute, servers.plan_servers, storage_fabric.plan_storage,
    management.plan_management, addressing.plan_addresses, firewall_policy.plan_policy,
]


def _facts(build: Build, pb: PlanBuilder) -> dict[str, object]:
    c = build.compute
    return {
        "compute": {
            "gpu_nodes": c.gpu_nodes,
            "gpus": c.gpus,
            "scalable_units": c.scalable_units,
            "nodes_per_su": c.nodes_per_su,
            "rails": build.rails,
            "spines": c.spines,
            "links_per_spine": build.links_per_spine,
            "max_sus": c.max_sus,
            "port_speed_gbps": build.model(c.leaf_model).switch_port_speed_gbps,
        },
        "counts": dict(sorted(Counter(d.role for d in pb.devices).items())),
        "site": build.site or build.name,
        **({"guids": dict(sorted(c.guids.items()))} if c.guids else {}),
        **pb.facts,
    }


def build_plan(build: Build, check: bool = True) -> Plan:
    """The complete plan of a build, with the result of every named check."""
    pb = PlanBuilder(build, expand_racks(build))
    for stage in STAGES:
        stage(pb)
    used = sorted({d.model for d in pb.devices})
    plan = Plan(
        build=build.name,
        description=build.description,
        racks=pb.racks,
        devices=tuple(pb.devices),
        cables=tuple(pb.cables),
        models={m: build.model(m).model_dump(mode="json") for m in used},
        cable_families=tuple(f.model_dump(mode="json") for f in build.catalog.cables),
        addresses=tuple(pb.addresses),
        facts=_facts(build, pb),
    )
    if not check:
        return plan
    return with_checks(plan)


def with_checks(plan: Plan) -> Plan:
    """The same plan with its checks (re-)run."""
    from dataclasses import replace

    return replace(plan, checks=run_checks(plan))


__all__ = ["STAGES", "build_plan", "with_checks"]
