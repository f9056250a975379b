"""Exporters: each a pure function plan -> {relative path: bytes}. None plans again.

EXPORTERS maps each kind to its function, in the order `rscctl plan` writes them;
`rscctl export --only KIND` writes one. Each entry is a three-line function that imports its
exporter module when it runs and calls it: a reader (or go-to-definition) follows the name to
the module in one hop, mypy checks every exporter's signature, and start-up stays fast.

Why not import the modules here: `rscctl validate lab` starts in ~0.26 s; importing every
exporter eagerly (networkx through the firewall rules, Jinja2 through the templates, drawings,
spreadsheets) adds ~0.13 s to every command, also to those that export nothing.
tests/test_cli.py asserts that `import rscctl.cli` loads no exporter module.

To add a kind: write `rscctl/export/KIND.py` with `export_KIND(plan: Plan) -> Files`, add a
function below and its line in EXPORTERS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rscctl.outputs import Files
from rscctl.planjson import generate_plan_json
from rscctl.planner.model import Plan

Exporter = Callable[[Plan], Files]


def export_plan_json(plan: Plan) -> Files:
    """plan.json: what every other tool (and `rscctl export`) reads."""
    return {"plan.json": generate_plan_json(plan).encode("utf-8")}


def _csv(plan: Plan) -> Files:
    from rscctl.export.csvs import export_csv
    return export_csv(plan)


def _xlsx(plan: Plan) -> Files:
    from rscctl.export.xlsx import export_xlsx
    return export_xlsx(plan)


def _labels(plan: Plan) -> Files:
    from rscctl.export.labels import export_labels
    return export_labels(plan)


def _drawings(plan: Plan) -> Files:
    from rscctl.export.drawings import export_drawings
    return export_drawings(plan)


def _html(plan: Plan) -> Files:
    from rscctl.export.html import export_html
    return export_html(plan)


def _fabric(plan: Plan) -> Files:
    from rscctl.export.ibtopo import export_fabric
    return export_fabric(plan)


def _netbox(plan: Plan) -> Files:
    from rscctl.export.netbox import export_netbox
    return export_netbox(plan)


def _firewall(plan: Plan) -> Files:
    from rscctl.export.firewall import export_firewall
    return export_firewall(plan)


def _hosts(plan: Plan) -> Files:
    from rscctl.export.netdata import export_hosts
    return export_hosts(plan)


def _dns(plan: Plan) -> Files:
    from rscctl.export.netdata import export_dns
    return export_dns(plan)


def _ansible(plan: Plan) -> Files:
    from rscctl.export.netdata import export_ansible
    return export_ansible(plan)


def _nfs(plan: Plan) -> Files:
    from rscctl.export.nfs import export_nfs
    return export_nfs(plan)


EXPORTERS: Mapping[str, Exporter] = {
    "plan": export_plan_json,
    "csv": _csv,
    "xlsx": _xlsx,
    "labels": _labels,
    "drawings": _drawings,
    "html": _html,
    "fabric": _fabric,
    "netbox": _netbox,
    "firewall": _firewall,
    "hosts": _hosts,
    "dns": _dns,
    "ansible": _ansible,
    "nfs": _nfs,
}


def render(plan: Plan, kinds: list[str] | None = None) -> Files:
    """Every file of the given kinds (all kinds when None), rendered in memory."""
    files: Files = {}
    for kind in kinds or list(EXPORTERS):
        files.update(EXPORTERS[kind](plan))
    return files


__all__ = ["EXPORTERS", "Exporter", "render"]
