"""rsc.cluster.plan: an rscctl plan (plan.json) as an Ansible inventory."""

from __future__ import annotations

DOCUMENTATION = r"""
name: plan
short_description: hosts, groups and variables of an rscctl plan
description:
  - Reads the plan.json `rscctl plan` writes; gives the hosts and host variables of the
    inventory files rscctl writes, groups per role, SU (su_001), rack (rack_h1_a01_01), rail
    (rail_1), nfs_client, firewall, and linux_host (the hosts the playbooks configure).
  - Needs the rscctl Python package where ansible-core runs.
  - The inventory source is a file whose name ends in .rsc.yml or .rsc.yaml.
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: ['rsc.cluster.plan']
  plan:
    description:
      - Path of plan.json, relative to the inventory source file.
      - The environment variable RSCCTL_PLAN, when set, names the plan instead.
    required: true
    type: str
"""

EXAMPLES = r"""
# inventory/phase2.rsc.yml
plugin: rsc.cluster.plan
plan: ../out/phase2/plan.json
"""

import os  # noqa: E402  (Ansible reads DOCUMENTATION first, by convention at the top)
from pathlib import Path  # noqa: E402

from ansible.errors import AnsibleParserError  # noqa: E402
from ansible.plugins.inventory import BaseInventoryPlugin  # noqa: E402

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 has no trust: strings are plain already
    def trust_as_template(value):
        return value


def _trusted(value, memo):
    """Strings trusted as an inventory file's are: plain to Ansible and to AWX's sync (an
    untrusted one exports as {"__ansible_unsafe": ...}); rscctl checked every name. A tagged
    string is immutable, so each distinct one is tagged once (`memo`)."""
    if isinstance(value, str):
        tagged = memo.get(value)
        if tagged is None:
            tagged = memo[value] = trust_as_template(value)
        return tagged
    if isinstance(value, list):
        return [_trusted(v, memo) for v in value]
    if isinstance(value, dict):
        return {k: _trusted(v, memo) for k, v in value.items()}
    return value


class InventoryModule(BaseInventoryPlugin):
    """Thin: the data comes from rscctl.apply.inventory, which the tests compare with the
    inventory files rscctl writes."""

    NAME = "rsc.cluster.plan"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith((".rsc.yml", ".rsc.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            from rscctl.apply.invcache import load
            from rscctl.errors import UserError
        except ModuleNotFoundError as exc:
            if exc.name != "rscctl" and not str(exc.name).startswith("rscctl."):
                raise
            raise AnsibleParserError(
                f"{path}: the rsc.cluster.plan plugin needs the rscctl Python package where "
                f"ansible-core runs ({exc}); pip install rscctl into that environment"
            ) from None
        plan = os.environ.get("RSCCTL_PLAN") or self.get_option("plan")
        if not os.path.isabs(plan):
            plan = os.path.join(os.path.dirname(os.path.abspath(path)), plan)

        try:
            data = load(Path(plan))
        except UserError as exc:
            raise AnsibleParserError(f"{path}: plan: {exc}") from None
        # Each string trusted here as an inventory file's would be, then set on the inventory
        # itself: the proxy's generic visitor walks and re-tags every value (2.5 s of phase
        # 2's 6 s).
        inv = getattr(self.inventory, "__wrapped__", self.inventory)
        memo = {}
        for key, value in data["vars"].items():
            inv.set_variable("all", key, _trusted(value, memo))
        for group in data["groups"]:
            inv.add_group(group)
        for group in data["children"]:
            inv.add_group(group)
        for host, hv in data["hosts"].items():
            inv.add_host(host)
            for key, value in hv.items():
                inv.set_variable(host, key, _trusted(value, memo))
        for group, members in data["groups"].items():
            for host in members:
                inv.add_host(host, group=group)
        for group, kids in data["children"].items():
            for kid in kids:
                inv.add_child(group, kid)
        for group, gv in data["group_vars"].items():
            for key, value in gv.items():
                inv.set_variable(group, key, _trusted(value, memo))
