"""The `firewall` exporter: firewall/NAME.nft, firewall/vars/NAME.json and the Ansible
group_vars that load them (written next to the `ansible` exporter's inventory).

The rulesets themselves (zones, flows, the one nft template Ansible also pushes) are the
firewall package's: rscctl.firewall.rules builds the data, rscctl.firewall.render renders and
lays out the files; this module is where the exporters' registry finds it, beside the others.
"""

from __future__ import annotations

from rscctl.firewall import render
from rscctl.outputs import Files
from rscctl.planner.model import Plan


def export_firewall(plan: Plan) -> Files:
    """Every firewall file of the plan; nothing when the build declares no policy."""
    return render.export_firewall(plan)


__all__ = ["export_firewall"]
