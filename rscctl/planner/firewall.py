"""Carry the isolation policy into the plan, so the firewall is rendered from plan.json alone.

The policy is recorded as declared (zones, flows) with the supernets of the networks it names;
zone prefixes are resolved from the plan's address plan (rscctl.planner.zones) when the check
runs and when the rulesets are rendered, so they do not depend on the order of the stages.
"""

from __future__ import annotations

from rscctl.declare.build import Build
from rscctl.errors import Finding
from rscctl.planner.builder import PolicyResult
from rscctl.planner.check_context import Context
from rscctl.planner.facts import FirewallFacts
from rscctl.planner.model import Plan


def plan_policy(build: Build) -> PolicyResult:
    """The policy as declared, with the supernets it names: a function of the declaration only."""
    policy = build.policy
    if policy is None:
        return PolicyResult()
    networks = {name: str(n.supernet) for name, n in sorted(build.networks.items())}
    return PolicyResult(facts=FirewallFacts(policy=policy, networks=networks))


def check_firewall_zones(plan: Plan, ctx: Context) -> list[Finding]:
    """The bastion and management zones hold addresses, or the operators are locked out.

    The declaration is checked when it is loaded; this is the part only the address plan
    can tell: a role pattern that matches no addressed device leaves its zone empty.
    """
    zm = ctx.zones
    if zm is None:
        return []
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


def firewall_zones_summary(plan: Plan, ctx: Context) -> str:
    zm = ctx.zones
    if zm is None:
        return "no policy declared"
    zoned = sum(1 for z in zm.zones if z.prefixes)
    return f"{zoned} of {len(zm.zones)} zones hold addresses; {zm.unzoned} addresses unzoned"
