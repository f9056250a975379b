"""Exporters: each a pure function plan -> {relative path: bytes}. None plans again.

Register a new kind in EXPORTERS as "module:function" (imported when first used); `rscctl plan`
writes every kind, `rscctl export --only KIND` writes one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from importlib import import_module

from rscctl.outputs import Files
from rscctl.planjson import generate_plan_json
from rscctl.planner.model import Plan

Exporter = Callable[[Plan], Files]


def export_plan_json(plan: Plan) -> Files:
    return {"plan.json": generate_plan_json(plan).encode("utf-8")}


class _Registry(Mapping[str, Exporter]):
    """kind -> exporter, each module imported on first use: `rscctl plan --only csv` then skips
    the import of Jinja2 templates, drawings, spreadsheets and firewall rules."""

    def __init__(self, where: dict[str, str]) -> None:
        self._where = where  # kind -> "module:function"
        self._loaded: dict[str, Exporter] = {}

    def __getitem__(self, kind: str) -> Exporter:
        if kind not in self._loaded:
            module, _, name = self._where[kind].partition(":")
            self._loaded[kind] = getattr(import_module(module), name)
        return self._loaded[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


EXPORTERS: Mapping[str, Exporter] = _Registry({
    "plan": "rscctl.export:export_plan_json",
    "csv": "rscctl.export.csvs:export_csv",
    "xlsx": "rscctl.export.xlsx:export_xlsx",
    "labels": "rscctl.export.labels:export_labels",
    "drawings": "rscctl.export.drawings:export_drawings",
    "html": "rscctl.export.html:export_html",
    "fabric": "rscctl.export.ibtopo:export_fabric",
    "netbox": "rscctl.export.netbox:export_netbox",
    "firewall": "rscctl.firewall.render:export_firewall",
    "hosts": "rscctl.export.netdata:export_hosts",
    "dns": "rscctl.export.netdata:export_dns",
    "ansible": "rscctl.export.netdata:export_ansible",
    "nfs": "rscctl.export.nfs:export_nfs",
})


def render(plan: Plan, kinds: list[str] | None = None) -> Files:
    """Every file of the given kinds (all kinds when None), rendered in memory."""
    files: Files = {}
    for kind in kinds or list(EXPORTERS):
        files.update(EXPORTERS[kind](plan))
    return files


__all__ = ["EXPORTERS", "Exporter", "render"]
