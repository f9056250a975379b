"""`rscctl apply BUILD`: playbooks/site.yml pushed to the plan's Linux hosts in batches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from rscctl.cli.access import BastionOpt, LabOpt, SshConfigOpt, host_access
from rscctl.cli.common import console, default_out, err_console


def _runs_default() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "rscctl" / "runs"


def _say(msg: str) -> None:
    err_console.print(Text(msg), soft_wrap=True)


def _show(summary: object) -> None:
    from rscctl.apply.run import Summary, hosts_table_rows

    assert isinstance(summary, Summary)
    mode = " (check mode: nothing changed)" if summary.check else ""
    t = Table(title=f"rscctl apply {summary.build}{mode}: {summary.run_dir}")
    for col in ("host", "batch", "status", "ok", "changed", "failed", "unreachable"):
        t.add_column(col)
    for row in hosts_table_rows(summary):
        t.add_row(*(Text(c) for c in row))
    console.print(t)
    counts: dict[str, int] = {}
    for r in summary.hosts.values():
        counts[r.status] = counts.get(r.status, 0) + 1
    if summary.not_run:
        counts["not run"] = len(summary.not_run)
    line = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    console.print(Text(f"{len(summary.hosts) + len(summary.not_run)} hosts: {line} "
                       f"in {summary.seconds:.1f} s"))
    if summary.stopped:
        console.print(Text(f"stopped: {summary.stopped}", style="red"))
    from rscctl.apply.isolation import summary_line

    iso = summary_line(summary.isolation)
    if iso:
        console.print(Text(iso, style="" if summary.isolation.get("proved") else "red"))


def _engine_options(engine: str, *, check: bool, diff: bool, tags: str | None, batch: str,
                    canary: bool, max_fail: float, preview: bool) -> None:
    """Refuse an option the chosen engine would ignore: `--check` silently ignored would
    change every node the operator meant only to look at."""
    from rscctl.errors import UserError

    if engine == "ansible":
        if preview:
            raise UserError("--preview is for --engine pulumi; with Ansible use --check --diff")
        return
    given = [name for name, on in (("--check", check), ("--diff", diff),
                                   ("--tags", tags is not None), ("--batch", batch != "su"),
                                   ("--no-canary", not canary),
                                   ("--max-fail", max_fail != 0.0)) if on]
    if given:
        raise UserError(f"--engine pulumi does not take {', '.join(given)}: the Pulumi "
                        "program converges every selected node in one update; use --preview "
                        "to see the changes, --limit to choose nodes, or --engine ansible")


def apply(
    build: Annotated[str | None, typer.Argument(help="a build whose plan is in --out")] = None,
    limit: Annotated[str | None, typer.Option(help="Ansible host pattern, e.g. dgx0001 or "
                                                   "su_003")] = None,
    tags: Annotated[str | None, typer.Option(help="roles by tag: base,fabric,storage,"
                                                  "firewall")] = None,
    check: Annotated[bool, typer.Option("--check", help="change nothing, report what "
                                                         "would change")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="show the changes to files")] = False,
    forks: Annotated[int, typer.Option(min=1, max=1000, help="hosts at a time")] = 50,
    batch: Annotated[str, typer.Option(help="su (canary, one SU per batch, service hosts), "
                                            "N hosts or N%")] = "su",
    canary: Annotated[bool, typer.Option("--canary/--no-canary", help="one GPU node alone "
                                         "before the first batch")] = True,
    max_fail: Annotated[float, typer.Option(min=0, max=100, help="percent of a batch that may "
                                                                "fail before later batches "
                                                                "stop")] = 0.0,
    last: Annotated[bool, typer.Option("--last", help="show the last run's summary "
                                                      "again")] = False,
    out: Annotated[Path | None, typer.Option(help="the plan's directory (default "
                                                  "out/BUILD)")] = None,
    runs_dir: Annotated[Path | None, typer.Option(help="where runs are kept (default "
                                                       "~/.local/state/rscctl/runs)")] = None,
    lab: LabOpt = None,
    ssh_config: SshConfigOpt = None,
    bastion: BastionOpt = None,
    secrets: Annotated[Path | None, typer.Option(help="the `rscctl pki` secrets dir")] = None,
    confirm_timeout: Annotated[int, typer.Option(min=0, max=3600, help="seconds a node keeps "
                                                 "a new ruleset unconfirmed before restoring "
                                                 "the old one (0: no rollback)")] = 120,
    prove: Annotated[bool, typer.Option("--prove/--no-prove", help="prove isolation on the "
                                        "rulesets the nodes loaded")] = True,
    engine: Annotated[str, typer.Option(help="ansible (site.yml) or pulumi (the stacks/ "
                                             "program, Automation API)")] = "ansible",
    preview: Annotated[bool, typer.Option("--preview", help="--engine pulumi: show the "
                                                            "changes, make none")] = False,
) -> None:
    """Push the plan to its Linux hosts: site.yml through ansible-runner, in batches, through
    the bastion, host keys checked; exit 0 only when every host succeeded."""
    from rscctl.apply import run
    from rscctl.errors import UserError

    runs = runs_dir or _runs_default()
    if last:
        _show(run.last_summary(runs, build))
        return
    if build is None:
        raise UserError("rscctl apply: name the BUILD (e.g. `rscctl apply lab`), or --last")
    plan_dir = default_out(build, out)
    plan = plan_dir / "plan.json"
    extra: dict[str, object] = {}
    access = host_access(build, plan, lab, ssh_config, bastion)
    if lab is not None:
        from rscctl.lab.box import VM_VARS
        from rscctl.lab.state import LabState

        # VMs (`lab trust` after `vagrant up`) run systemd: services on, see VM_VARS.
        extra.update(VM_VARS if LabState.load(lab.resolve()).phase == "vms" else run.LAB_VARS)
    if secrets is not None:
        extra["nfs_tls_secrets_dir"] = str(secrets.resolve())
    if engine not in ("ansible", "pulumi"):
        raise UserError(f"--engine {engine!r}: use ansible (the default) or pulumi")
    _engine_options(engine, check=check, diff=diff, tags=tags, batch=batch, canary=canary,
                    max_fail=max_fail, preview=preview)
    if engine == "pulumi":
        from rscctl.apply import pulumi_engine

        pulumi_engine.from_cli(Path(build).stem, plan_dir, access, extra, limit,
                               confirm_timeout, preview, _say)
        return
    opts = run.Options(build=Path(build).stem, plan=plan, runs_dir=runs, access=access,
                       limit=limit, tags=tags, check=check, diff=diff, forks=forks,
                       batch=batch, canary=canary, max_fail=max_fail, extra_vars=extra,
                       confirm_timeout=confirm_timeout, prove=prove)
    summary = run.apply(opts, _say)
    _show(summary)
    if not summary.succeeded:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(apply)
