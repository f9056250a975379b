"""Carry the isolation policy into the plan, so the firewall is rendered from plan.json alone.

The policy is recorded as declared (zones, flows) with the supernets of the networks it names;
zone prefixes are resolved from the plan's address plan when the rulesets are rendered
(rscctl.firewall.zones), so the result does not depend on the order of the planner's stages.
"""

from __future__ import annotations

from rscctl.errors import Finding
from rscctl.planner.builder import PlanBuilder
from rscctl.planner.checks import SUMMARIES, Context, register
from rscctl.planner.model import Plan


def plan_policy(pb: PlanBuilder) -> None:
    policy = pb.build.policy
    if policy is None:
        return
    pb.facts["firewall"] = {
        "policy": policy.model_dump(mode="json", by_alias=True),
        "networks": {name: str(n.supernet) for name, n in sorted(pb.build.networks.items())},
    }


@register("firewall-zones")
def check_firewall_zones(plan: Plan, ctx: Context) -> list[Finding]:
    """The bastion and management zones hold addresses, or the operators are locked out.

    The declaration is checked when it is loaded; this is the part only the address plan
    can tell: a role pattern that matches no addressed device leaves its zone empty.
    """
    from rscctl.firewall.zones import resolve_zones  # the firewall package imports the planner

    if "firewall" not in plan.facts:
        return []
    zm = ctx.memo("zones", lambda: resolve_zones(plan))
    out = []
    for zone in zm.zones:
        if zone.kind in ("bastion", "management") and not zone.prefixes:
            decl = zm.policy.zone(zone.name)
            out.append(Finding(
                "firewall-zones", (zone.name,),
                f"zone {zone.name} ({zone.kind}) holds no address: no device of role "
                f"{', '.join(decl.roles)} has one in {', '.join(decl.networks)}; the operators "
                "would be locked out",
                f"declare {zone.kind} servers, or fix policy.zones[{zone.name}].roles",
            ))
    return out


def _summary(plan: Plan, ctx: Context) -> str:
    from rscctl.firewall.zones import resolve_zones

    if "firewall" not in plan.facts:
        return "no policy declared"
    zm = ctx.memo("zones", lambda: resolve_zones(plan))
    zoned = sum(1 for z in zm.zones if z.prefixes)
    return f"{zoned} of {len(zm.zones)} zones hold addresses; {zm.unzoned} addresses unzoned"


SUMMARIES["firewall-zones"] = _summary
