"""The inventory the `rsc.cluster.plan` plugin gives Ansible, as plain data, from plan.json.

The same hosts and host variables as the files `rscctl plan` writes (netdata.inventory, the
firewall exporter's group and group variables), plus groups per rack and rail and the
`linux_host` group of the hosts a playbook configures. Cluster-wide data (networks, DNS, NFS,
where the plan's rendered files are) is in `all` vars, so one host's run needs no other host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rscctl.export.netdata import inventory as written_inventory
from rscctl.names import role_group
from rscctl.planjson import read_plan
from rscctl.planner.model import Plan

# Model kinds that run Linux and take the playbooks (the rest are appliances and switches).
LINUX_KINDS = ("gpu-node", "server")
LINUX_GROUP = "linux_host"
_NOT_GROUP = re.compile(r"[^a-z0-9_]")


@dataclass
class InventoryData:
    """Hosts with their variables, groups with members, variables and child groups."""

    vars: dict[str, Any]
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    group_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"vars": self.vars, "hosts": self.hosts, "groups": self.groups,
                "group_vars": self.group_vars, "children": self.children}


def group_name(text: str) -> str:
    """A rack or other free label as an Ansible group name (lowercase, `_` for the rest)."""
    return _NOT_GROUP.sub("_", text.lower())


def _model_kinds(plan: Plan) -> dict[str, str]:
    return {name: m.kind for name, m in plan.models.items()}


def _firewall(plan: Plan, data: InventoryData) -> None:
    """The firewall exporter's `firewall` group of role groups and their `firewall_ruleset`."""
    if plan.facts.firewall is None:
        return
    from rscctl.firewall import render
    from rscctl.firewall.zones import resolve_zones

    zm = resolve_zones(plan)
    rulesets = render.ruleset_data(plan)
    for role, name in render.host_rulesets(plan, zm).items():
        group = role_group(role)
        data.group_vars.setdefault(group, {})["firewall_ruleset"] = rulesets[name]
        data.children.setdefault("firewall", []).append(group)


def inventory_data(plan: Plan, plan_dir: Path) -> InventoryData:
    """Everything the plugin adds to Ansible's inventory, from one plan."""
    top = written_inventory(plan)["all"]
    data = InventoryData(vars={**top["vars"], "rsc_plan_dir": str(plan_dir)})
    for group, body in top["children"].items():
        members = data.groups.setdefault(group, [])
        for host, hv in body["hosts"].items():
            members.append(host)
            if hv is not None:
                data.hosts[host] = hv
    kinds = _model_kinds(plan)
    for d in plan.devices:
        if d.name not in data.hosts:
            continue
        data.groups.setdefault(f"rack_{group_name(d.rack)}", []).append(d.name)
        if d.rail is not None:
            data.groups.setdefault(f"rail_{d.rail}", []).append(d.name)
        if kinds.get(d.model) in LINUX_KINDS:
            data.groups.setdefault(LINUX_GROUP, []).append(d.name)
    _firewall(plan, data)
    return data


def load(plan_file: Path) -> InventoryData:
    """The inventory of plan.json at `plan_file` (a UserError names what is wrong)."""
    return inventory_data(read_plan(plan_file), plan_file.resolve().parent)
