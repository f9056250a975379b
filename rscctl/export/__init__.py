"""Exporters: each a pure function plan -> {relative path: bytes}. None plans again.

Register a new kind in EXPORTERS; `rscctl plan` writes every kind, `rscctl export --only KIND`
writes one.
"""

from __future__ import annotations

from collections.abc import Callable

from rscctl.export.csvs import export_csv
from rscctl.export.drawings import export_drawings
from rscctl.export.html import export_html
from rscctl.export.ibtopo import export_fabric
from rscctl.export.labels import export_labels
from rscctl.export.netbox import export_netbox
from rscctl.export.netdata import export_ansible, export_dns, export_hosts
from rscctl.export.nfs import export_nfs
from rscctl.export.xlsx import export_xlsx
from rscctl.firewall.render import export_firewall
from rscctl.outputs import Files
from rscctl.planjson import generate_plan_json
from rscctl.planner.model import Plan

Exporter = Callable[[Plan], Files]


def export_plan_json(plan: Plan) -> Files:
    return {"plan.json": generate_plan_json(plan).encode("utf-8")}


EXPORTERS: dict[str, Exporter] = {
    "plan": export_plan_json,
    "csv": export_csv,
    "xlsx": export_xlsx,
    "labels": export_labels,
    "drawings": export_drawings,
    "html": export_html,
    "fabric": export_fabric,
    "netbox": export_netbox,
    "firewall": export_firewall,
    "hosts": export_hosts,
    "dns": export_dns,
    "ansible": export_ansible,
    "nfs": export_nfs,
}


def render(plan: Plan, kinds: list[str] | None = None) -> Files:
    """Every file of the given kinds (all kinds when None), rendered in memory."""
    files: Files = {}
    for kind in kinds or list(EXPORTERS):
        files.update(EXPORTERS[kind](plan))
    return files


__all__ = ["EXPORTERS", "Exporter", "render"]
