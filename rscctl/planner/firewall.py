"""Carry the isolation policy into the plan, so the firewall is rendered from plan.json alone.

The policy is recorded as declared (zones, flows) with the supernets of the networks it names;
zone prefixes are resolved from the plan's address plan when the rulesets are rendered
(rscctl.firewall.zones), so the result does not depend on the order of the planner's stages.
"""

from __future__ import annotations

from rscctl.planner.builder import PlanBuilder


def plan_policy(pb: PlanBuilder) -> None:
    policy = pb.build.policy
    if policy is None:
        return
    pb.facts["firewall"] = {
        "policy": policy.model_dump(mode="json", by_alias=True),
        "networks": {name: str(n.supernet) for name, n in sorted(pb.build.networks.items())},
    }
