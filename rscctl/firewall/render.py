"""Render the rulesets through the one template Ansible also pushes; the `firewall` exporter.

Besides the .nft files it writes what Ansible needs to render the same bytes on each host:
group_vars per host role (`firewall_ruleset`) and a `firewall` group of those roles, next to
the inventory the `ansible` exporter writes (an inventory directory merges its files).
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import yaml

from rscctl.errors import UserError
from rscctl.export import escape
from rscctl.firewall.rules import rulesets
from rscctl.firewall.zones import ZoneMap, resolve_zones
from rscctl.names import role_group
from rscctl.outputs import Files
from rscctl.planner.model import Plan
from rscctl.templating import render

TEMPLATE = "firewall/ruleset.nft.j2"
# Model kinds that run Linux and so load a ruleset themselves; switches, PDUs and storage
# appliances are isolated by the zone rules of every host that talks to them.
HOST_KINDS = ("gpu-node", "server")
INVENTORY = "ansible/inventory"


PROTOS = ("tcp", "udp")


def checked_ruleset(data: dict[str, Any]) -> dict[str, Any]:
    """The ruleset data with every value checked against nft's grammar (and comments cut to
    nft's 128 bytes), so the template, here and in Ansible, cannot render a second statement.
    """
    name = escape.host_label(data["name"], "policy ruleset name (zones[].ruleset, "
                             "border_ruleset)")
    escape.plain_text(data["title"], "policy zone name")
    escape.plain_text(data["build"], "name")
    escape.nft_identifier(data["table"], "nft table")
    log = data["log"]
    for chain in data["chains"]:
        escape.nft_string(f"{log['prefix']} {name} {chain}: ", "policy.drop_log.prefix "
                          "(with the ruleset and chain name)", escape.NFT_LOG_PREFIX_MAX)
    for key in ("rate_per_minute", "burst"):
        escape.bounded_int(log[key], f"policy.drop_log.{key}", 1, 2**32 - 1)
    sets = [{**s, "name": escape.nft_identifier(s["name"], "policy zone name (set zone_NAME)"),
             "comment": escape.nft_comment(s["comment"], "policy zone name (set comment)")}
            for s in data["sets"]]
    chains = {chain: [_checked_rule(r) for r in rules] for chain, rules in data["chains"].items()}
    return {**data, "sets": sets, "chains": chains}


def _checked_rule(rule: dict[str, Any]) -> dict[str, Any]:
    for key in ("saddr", "daddr"):
        if rule[key]:
            escape.nft_identifier(rule[key], "policy zone name (set zone_NAME)")
    if rule["proto"] not in PROTOS:
        raise UserError(f"policy.flows[].proto={rule['proto']!r}: use tcp or udp")
    if not all(p.strip().isdigit()
               for p in rule["ports"].strip("{} ").replace("-", ",").split(",")):
        raise UserError(f"policy.flows[].ports={rule['ports']!r}: ports are numbers")
    return {**rule, "comment": escape.nft_comment(rule["comment"],
                                                  "policy flow name (rule comment)")}


def ruleset_data(plan: Plan) -> dict[str, dict[str, Any]]:
    """The template's input per ruleset: what Ansible gets as `firewall_ruleset`."""
    return {name: checked_ruleset(data)
            for name, data in rulesets(resolve_zones(plan), plan.build).items()}


def render_rulesets(plan: Plan) -> dict[str, str]:
    """Ruleset text by name (file stem), deterministic for a given plan."""
    return {
        name: render(TEMPLATE, firewall_ruleset=data)
        for name, data in ruleset_data(plan).items()
    }


def host_rulesets(plan: Plan, zm: ZoneMap) -> dict[str, str]:
    """Ruleset name per host role: the first internal zone whose roles match it."""
    kinds = {name: m.kind for name, m in plan.models.items()}
    roles = sorted({d.role for d in plan.devices if kinds.get(d.model) in HOST_KINDS})
    out = {}
    for role in roles:
        zone = next((z for z in zm.policy.zones
                     if z.internal and any(fnmatchcase(role, p) for p in z.roles)), None)
        if zone is not None:
            out[role] = zone.ruleset_name
    return out


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=1) + "\n").encode()


def export_firewall(plan: Plan) -> Files:
    """firewall/NAME.nft for every zone's ruleset and the border's, firewall/vars/NAME.json
    (the template's data), and Ansible group_vars plus a `firewall` group per host role.

    A plan without a policy has no firewall to write (the exporter writes nothing).
    """
    if plan.facts.firewall is None:
        return {}
    zm = resolve_zones(plan)
    data = {name: checked_ruleset(d) for name, d in rulesets(zm, plan.build).items()}
    files: Files = {}
    for name, ruleset in data.items():
        files[f"firewall/{name}.nft"] = render(TEMPLATE, firewall_ruleset=ruleset).encode()
        files[f"firewall/vars/{name}.json"] = _json({"firewall_ruleset": ruleset})
    groups: dict[str, dict[str, Any]] = {}
    for role, name in host_rulesets(plan, zm).items():
        group = role_group(escape.host_label(role, "role"))
        groups[group] = {}
        files[f"{INVENTORY}/group_vars/{group}/firewall.json"] = _json(
            {"firewall_ruleset": data[name]})
    head = ("# The hosts that load an rscctl ruleset (group_vars/GROUP/firewall.json holds it);\n"
            f"# generated by rscctl for build {escape.plain_text(plan.build, 'name')}; "
            "do not edit.\n")
    body = yaml.safe_dump({"firewall": {"children": groups}}, sort_keys=False)
    files[f"{INVENTORY}/firewall.yml"] = (head + body).encode()
    return files
