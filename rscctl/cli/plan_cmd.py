"""`rscctl validate`, `rscctl plan` and `rscctl export`."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from rscctl.cli.common import console, default_out
from rscctl.cli.growth import plan_from
from rscctl.cli.netsummary import network_summary
from rscctl.declare import load_build
from rscctl.errors import CheckFailed, Finding, UserError
from rscctl.export import EXPORTERS, render
from rscctl.gcpause import paused_gc
from rscctl.outputs import check_out_dir, write_output_set
from rscctl.planjson import read_plan
from rscctl.planner import build_plan
from rscctl.planner.model import Plan

BuildArg = Annotated[
    str, typer.Argument(help="a build in topology/ (phase1, phase2) or a YAML path")
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="output directory [default: out/BUILD]")]


def tier(plan: Plan) -> Counter[str]:
    """Cables per fabric and tier, e.g. 'compute gpu-node-compute-leaf'."""
    roles = {d.name: d.role for d in plan.devices}
    return Counter(f"{c.fabric}: {roles[c.a_device]} -> {roles[c.b_device]}" for c in plan.cables)


def print_summary(plan: Plan, seconds: float, out: Path | None) -> None:
    t = Table(title=f"{plan.build}: devices", show_header=True)
    t.add_column("role")
    t.add_column("count", justify="right")
    for role, n in sorted(Counter(d.role for d in plan.devices).items()):
        t.add_row(role, f"{n:,}")
    console.print(t)
    t = Table(title="cables", show_header=True)
    t.add_column("fabric: tier")
    t.add_column("count", justify="right")
    for name, n in sorted(tier(plan).items()):
        t.add_row(name, f"{n:,}")
    console.print(t)
    t = Table(title="checks", show_header=True)
    t.add_column("check")
    t.add_column("result")
    t.add_column("detail")
    for c in plan.checks:
        t.add_row(c.name, "[green]passed[/green]" if c.passed else "[red]FAILED[/red]",
                  escape(c.summary))
    console.print(t)
    for line in network_summary(plan):
        console.print(line)
    where = f", written to {out}" if out else ""
    console.print(f"planned {plan.build} in {seconds:.2f} s{where}")


def failed_findings(plan: Plan) -> list[Finding]:
    return [
        Finding(f["check"], tuple(f["devices"]), f["message"], f["fix"])
        for c in plan.checks if not c.passed for f in c.findings
    ]


def register(app: typer.Typer) -> None:
    @app.command()
    def validate(build: BuildArg) -> None:
        """Load and validate a declaration, and plan it (writing nothing): a mistake found only
        while planning (a segment too small, a name server outside its network) is caught here
        too. Exit 2 with one clear message if the declaration is wrong, 1 if a check fails."""
        with paused_gc():
            b = load_build(build)
            p = build_plan(b)
        if not p.passed:
            raise CheckFailed(failed_findings(p))
        c = b.compute
        console.print(
            f"{b.name}: valid ({c.gpu_nodes:,} nodes, {c.gpus:,} GPUs, "
            f"{c.scalable_units} SUs, {c.spines} spines; {len(p.checks)} checks passed)"
        )

    @app.command()
    def plan(
        build: BuildArg,
        out: OutOpt = None,
        only: Annotated[
            list[str] | None,
            typer.Option("--only", help=f"write only these kinds: {', '.join(EXPORTERS)}"),
        ] = None,
        from_: Annotated[str | None, typer.Option(
            "--from", help="the running build (or its plan.json) this one grows: adds growth/")
        ] = None,
    ) -> None:
        """Plan a build, prove its properties and write its output set (one switch)."""
        start = time.perf_counter()
        out_dir = default_out(build, out)
        kinds = _kinds(only)
        check_out_dir(out_dir)  # refuse --out . before the work, not after it
        with paused_gc():
            b = load_build(build)
            p = build_plan(b)
            if p.passed:
                files = render(p, kinds)
                if from_ is not None:  # growth/ and the report's growth section
                    files.update(plan_from(p, b, from_, kinds))
                    kinds = kinds and [*kinds, "growth"]
                write_output_set(out_dir, files, kinds)
        print_summary(p, time.perf_counter() - start, out_dir if p.passed else None)
        if not p.passed:
            raise CheckFailed(failed_findings(p))

    @app.command()
    def export(
        build: BuildArg,
        out: OutOpt = None,
        only: Annotated[
            list[str] | None,
            typer.Option("--only", help=f"kinds: {', '.join(EXPORTERS)}"),
        ] = None,
    ) -> None:
        """Write deliverables from an existing out/BUILD/plan.json, without planning again."""
        out_dir = default_out(build, out)
        kinds = _kinds(only)
        with paused_gc():
            plan = read_plan(out_dir / "plan.json")
            check_out_dir(out_dir)
            files = render(plan, kinds)
            write_output_set(out_dir, files, kinds)
        console.print(f"wrote {len(files)} files to {out_dir}")


def _kinds(only: list[str] | None) -> list[str] | None:
    if not only:
        return None
    unknown = [k for k in only if k not in EXPORTERS]
    if unknown:
        raise UserError(f"--only {unknown[0]}: unknown kind; use one of: {', '.join(EXPORTERS)}")
    return only
