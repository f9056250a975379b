"""`rscctl health BUILD`: the nodes' health results in one table (or --json); exit 1 when
any node is unhealthy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from rscctl.cli.access import BastionOpt, LabOpt, SshConfigOpt, host_access
from rscctl.cli.common import console, default_out

STYLE = {"pass": "green", "fail": "red", "absent": "yellow", "n/a": "dim"}


def health(
    build: Annotated[str, typer.Argument(help="a build whose plan is in --out")],
    limit: Annotated[str | None, typer.Option(help="hosts, groups or patterns, "
                                                   "comma-separated")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for tools")] = False,
    out: Annotated[Path | None, typer.Option(help="the plan's directory (default "
                                                  "out/BUILD)")] = None,
    lab: LabOpt = None,
    ssh_config: SshConfigOpt = None,
    bastion: BastionOpt = None,
) -> None:
    """Gather every node's health check result over SSH through the bastion (host keys
    pinned); nodes without systemd run the check now."""
    from rscctl.apply.nodessh import Route
    from rscctl.health.gather import CHECK_NAMES, gather

    plan = default_out(build, out) / "plan.json"
    a = host_access(build, plan, lab, ssh_config, bastion)
    route = Route(a.bastion, a.ssh_config, a.known_hosts, a.user, a.key)
    rows = gather(plan, route, limit)
    bad = sorted(h for h, r in rows.items() if r["status"] == "unhealthy")
    if as_json:
        typer.echo(json.dumps({"build": Path(build).stem, "unhealthy": bad, "hosts": rows},
                              indent=1, sort_keys=True))
    else:
        t = Table(title=f"rscctl health {Path(build).stem}")
        for col in ("host", "status", *CHECK_NAMES, "why"):
            t.add_column(col)
        for h, r in rows.items():
            cells = [Text(r["checks"].get(c, {}).get("status", "-"),
                          style=STYLE.get(r["checks"].get(c, {}).get("status", ""), ""))
                     for c in CHECK_NAMES]
            t.add_row(Text(h), Text(r["status"], style="red" if h in bad else ""), *cells,
                      Text(r["why"]))
        console.print(t)
        console.print(Text(f"{len(rows)} hosts: {len(bad)} unhealthy"))
    if bad:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(health)
