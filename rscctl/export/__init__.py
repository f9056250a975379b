"""Exporters: each a pure function plan -> {relative path: bytes}. None plans again.

EXPORTERS maps each kind to its function, in the order `rscctl plan` writes them;
`rscctl export --only KIND` writes one. LOADERS is the table behind it: per kind a three-line
function that imports the exporter's module and returns the exporter, so a reader (or
go-to-definition) follows a kind to its module in one hop and mypy checks every exporter's
signature against `Exporter`; `EXPORTERS[kind] is export_KIND`.

Why not import the modules here: `rscctl validate lab` starts in ~0.25 s; importing every
exporter eagerly (networkx through the firewall rules, Jinja2 through the templates, drawings,
spreadsheets) adds ~0.13 s to every command, also to those that export nothing.
tests/test_export_registry.py asserts that `import rscctl.cli` loads no exporter module.

To add a kind: write `rscctl/export/KIND.py` with `export_KIND(plan: Plan) -> Files`, add its
loader below and its line in LOADERS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from rscctl.outputs import Files
from rscctl.planjson import generate_plan_json
from rscctl.planner.model import Plan

Exporter = Callable[[Plan], Files]


def export_plan_json(plan: Plan) -> Files:
    """plan.json: what every other tool (and `rscctl export`) reads."""
    return {"plan.json": generate_plan_json(plan).encode("utf-8")}


def _csv() -> Exporter:
    from rscctl.export.csvs import export_csv
    return export_csv


def _xlsx() -> Exporter:
    from rscctl.export.xlsx import export_xlsx
    return export_xlsx


def _labels() -> Exporter:
    from rscctl.export.labels import export_labels
    return export_labels


def _drawings() -> Exporter:
    from rscctl.export.drawings import export_drawings
    return export_drawings


def _html() -> Exporter:
    from rscctl.export.html import export_html
    return export_html


def _fabric() -> Exporter:
    from rscctl.export.ibtopo import export_fabric
    return export_fabric


def _netbox() -> Exporter:
    from rscctl.export.netbox import export_netbox
    return export_netbox


def _firewall() -> Exporter:
    from rscctl.export.firewall import export_firewall
    return export_firewall


def _hosts() -> Exporter:
    from rscctl.export.netdata import export_hosts
    return export_hosts


def _dns() -> Exporter:
    from rscctl.export.netdata import export_dns
    return export_dns


def _ansible() -> Exporter:
    from rscctl.export.netdata import export_ansible
    return export_ansible


def _nfs() -> Exporter:
    from rscctl.export.nfs import export_nfs
    return export_nfs


LOADERS: dict[str, Callable[[], Exporter]] = {
    "plan": lambda: export_plan_json,
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


class _Registry(Mapping[str, Exporter]):
    """kind -> exporter, through LOADERS (a module is imported when its kind is first used)."""

    def __getitem__(self, kind: str) -> Exporter:
        return LOADERS[kind]()

    def __iter__(self) -> Iterator[str]:
        return iter(LOADERS)

    def __len__(self) -> int:
        return len(LOADERS)


EXPORTERS: Mapping[str, Exporter] = _Registry()


def render(plan: Plan, kinds: list[str] | None = None) -> Files:
    """Every file of the given kinds (all kinds when None), rendered in memory."""
    files: Files = {}
    for kind in kinds or list(EXPORTERS):
        files.update(EXPORTERS[kind](plan))
    return files


__all__ = ["EXPORTERS", "LOADERS", "Exporter", "render"]
