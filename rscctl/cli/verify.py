"""`rscctl verify ...`: prove properties of what was rendered. `verify firewall` lives here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from rscctl.cli.common import console, default_out
from rscctl.errors import CheckFailed
from rscctl.planjson import read_plan

if TYPE_CHECKING:  # imported when the command runs, so start-up of other commands skips it
    from rscctl.verify.firewall import FirewallReport

verify_app = typer.Typer(help="Prove properties of rendered artifacts (firewall, ...).",
                         no_args_is_help=True)


def print_firewall(rep: FirewallReport, seconds: float) -> None:
    t = Table(title="firewall properties", show_header=True)
    t.add_column("property")
    t.add_column("result")
    t.add_column("findings", justify="right")
    for prop, findings in rep.results.items():
        ok = "[green]holds[/green]" if not findings else "[red]FAILS[/red]"
        t.add_row(prop, ok, str(len(findings)))
    console.print(t)
    if rep.provisional:
        console.print(
            f"note: zones {', '.join(rep.provisional)} use provisional slices of their networks "
            "(no addresses in the address plan yet)"
        )
    if rep.unzoned:
        console.print(f"note: {rep.unzoned} planned addresses belong to no zone (all dropped)")
    console.print(
        f"proved {len(rep.results)} properties on {len(rep.rulesets)} rulesets "
        f"({rep.rules} rules, parsed back by nft) in {seconds:.2f} s"
    )


@verify_app.command("firewall")
def firewall(
    build: Annotated[str, typer.Argument(help="a planned build (reads out/BUILD/plan.json)")],
    out: Annotated[
        Path | None, typer.Option("--out", help="output directory [default: out/BUILD]")
    ] = None,
    rulesets: Annotated[
        Path | None,
        typer.Option("--rulesets", help="directory of NAME.nft files, or NAME.json captured with "
                     "`nft -j list ruleset` [default: OUT/firewall]"),
    ] = None,
) -> None:
    """Load every rendered ruleset into nft (throwaway namespace) and prove isolation on it."""
    from rscctl.verify.firewall import verify_firewall

    start = time.perf_counter()
    out_dir = default_out(build, out)
    plan = read_plan(out_dir / "plan.json")
    rep = verify_firewall(plan, rulesets or out_dir / "firewall")
    print_firewall(rep, time.perf_counter() - start)
    if not rep.passed:
        raise CheckFailed(rep.findings)


def register(app: typer.Typer) -> None:
    from rscctl.cli.fabric import register_verify

    register_verify(verify_app)  # verify cabling, verify routing
    app.add_typer(verify_app, name="verify")
