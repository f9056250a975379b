"""Render the rulesets through the one template Ansible also pushes; the `firewall` exporter."""

from __future__ import annotations

import json
from typing import Any

from rscctl.firewall.rules import rulesets
from rscctl.firewall.zones import resolve_zones
from rscctl.outputs import Files
from rscctl.planner.model import Plan
from rscctl.templating import render

TEMPLATE = "firewall/ruleset.nft.j2"


def ruleset_data(plan: Plan) -> dict[str, dict[str, Any]]:
    """The template's input per ruleset: what Ansible gets as `firewall_ruleset`."""
    return rulesets(resolve_zones(plan), plan.build)


def render_rulesets(plan: Plan) -> dict[str, str]:
    """Ruleset text by name (file stem), deterministic for a given plan."""
    return {
        name: render(TEMPLATE, firewall_ruleset=data)
        for name, data in ruleset_data(plan).items()
    }


def export_firewall(plan: Plan) -> Files:
    """firewall/NAME.nft for every zone's ruleset and the border's, and firewall/vars/NAME.json
    (the same data as Ansible variables, for the firewall role to render byte-identical files).

    A plan without a policy has no firewall to write (the exporter writes nothing).
    """
    if "firewall" not in plan.facts:
        return {}
    files: Files = {}
    for name, data in ruleset_data(plan).items():
        files[f"firewall/{name}.nft"] = render(TEMPLATE, firewall_ruleset=data).encode()
        files[f"firewall/vars/{name}.json"] = (
            json.dumps({"firewall_ruleset": data}, indent=1) + "\n"
        ).encode()
    return files
