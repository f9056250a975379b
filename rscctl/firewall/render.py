"""Render the rulesets through the one template Ansible also pushes; the `firewall` exporter."""

from __future__ import annotations

from rscctl.firewall.rules import rulesets
from rscctl.firewall.zones import resolve_zones
from rscctl.outputs import Files
from rscctl.planner.model import Plan
from rscctl.templating import render

TEMPLATE = "firewall/ruleset.nft.j2"


def render_rulesets(plan: Plan) -> dict[str, str]:
    """Ruleset text by name (file stem), deterministic for a given plan."""
    zm = resolve_zones(plan)
    return {
        name: render(TEMPLATE, firewall_ruleset=data)
        for name, data in rulesets(zm, plan.build).items()
    }


def export_firewall(plan: Plan) -> Files:
    """out/BUILD/firewall/NAME.nft for every zone's ruleset and the border's.

    A plan without a policy has no firewall to write (the exporter writes nothing).
    """
    if "firewall" not in plan.facts:
        return {}
    return {f"firewall/{name}.nft": text.encode() for name, text in render_rulesets(plan).items()}
