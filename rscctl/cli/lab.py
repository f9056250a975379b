"""`rscctl lab up|status|down|hosts`: the build's nodes as containers on this machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rscctl.cli.common import console, default_out, err_console
from rscctl.lab import DEFAULT_STATE_DIR

# The lab's modules (and the planner they pull in) are imported inside each command, so other
# commands (`rscctl plan`, `validate`) do not pay for them at start-up.

lab_app = typer.Typer(help="A lab of containers (podman) for test runs: up, status, down.",
                      no_args_is_help=True)

StateOpt = Annotated[Path, typer.Option("--state-dir", help="the lab's keys, known_hosts, "
                                        "ssh_config, inventory and record")]
BuildArg = Annotated[str, typer.Argument(help="a build in topology/ or a YAML path")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="the output set whose plan.json the lab runs (default out/BUILD)")]


def _log(msg: str) -> None:
    err_console.print(msg, highlight=False)


@lab_app.command()
def up(build: BuildArg = "lab", state_dir: StateOpt = DEFAULT_STATE_DIR,
       out: OutOpt = None) -> None:
    """Start one container per host of BUILD's plan (run `rscctl plan BUILD` first), each with
    its own namespace, address and sshd."""
    from rscctl.lab import lifecycle

    st = lifecycle.up(build, state_dir, default_out(build, out) / "plan.json", log=_log)
    n = len(st.layout.hosts) if st.layout else 0
    console.print(f"lab {st.lab_id} up: {n} hosts in {st.timings.get('total_s', 0):.1f} s; "
                  f"ssh -F {st.path('ssh_config')} HOST; inventory {st.path('inventory.yml')}")


@lab_app.command()
def status(state_dir: StateOpt = DEFAULT_STATE_DIR) -> None:
    """The lab's hosts, addresses and container states."""
    from rscctl.lab import lifecycle

    st, hosts = lifecycle.status(state_dir)
    if st.layout is None:
        console.print(f"no lab in {state_dir}")
        raise typer.Exit(0)
    t = Table(title=f"lab {st.lab_id} ({st.layout.build}, {st.phase}); controller "
                    f"{st.layout.controller}")
    for col in ("host", "role", "address", "container"):
        t.add_column(col)
    for h in hosts:
        t.add_row(h.host.name, h.host.role, f"{h.host.address}/{h.host.prefix_len}", h.state)
    console.print(t)
    if st.phase == "vms":
        console.print("a lab of VMs (Vagrant): ask `vagrant status` for their states")
    elif any(h.state != "running" for h in hosts):
        raise typer.Exit(1)


@lab_app.command()
def down(state_dir: StateOpt = DEFAULT_STATE_DIR) -> None:
    """Remove every container, namespace and ssh client of the lab (also after a crash)."""
    from rscctl.lab import lifecycle

    r = lifecycle.down(state_dir)
    console.print(f"lab down: {r.containers} containers, {r.namespaces} namespaces, "
                  f"{r.ssh_clients} ssh clients removed in {r.seconds:.1f} s")


@lab_app.command()
def hosts(build: BuildArg = "lab",
          as_json: Annotated[bool, typer.Option("--json", help="JSON (the Vagrantfile reads it)")]
          = False, out: OutOpt = None) -> None:
    """The hosts a lab of BUILD's plan runs and their addresses (no root needed)."""
    from rscctl.declare import load_build
    from rscctl.lab.hosts import lab_layout, read_lab_plan

    b = load_build(build)
    layout = lab_layout(b, read_lab_plan(b, default_out(build, out) / "plan.json"))
    if as_json:
        typer.echo(json.dumps(layout.as_dict(), indent=1, sort_keys=True))
        return
    for h in layout.hosts:
        console.print(f"{h.name:12} {h.role:16} {h.address}/{h.prefix_len}")


@lab_app.command()
def trust(build: BuildArg = "lab",
          names: Annotated[list[str] | None, typer.Argument(
              help="only these hosts (those `vagrant up` started); default every host")] = None,
          state_dir: StateOpt = DEFAULT_STATE_DIR, out: OutOpt = None) -> None:
    """For the Vagrant VMs of BUILD: collect their host keys, write ssh_config and inventory."""
    from rscctl.lab import lifecycle

    st = lifecycle.trust(build, state_dir, default_out(build, out) / "plan.json",
                         only=tuple(names or ()))
    console.print(f"lab {st.lab_id}: host keys of {len(st.layout.hosts) if st.layout else 0} "
                  f"VMs in {st.path('known_hosts')}; inventory {st.path('inventory.yml')}")


def register(app: typer.Typer) -> None:
    from rscctl.cli.fabric import register_lab
    from rscctl.cli.labbox import register_box

    register_box(lab_app)  # lab box, lab vm-clean (the Vagrant VMs)

    register_lab(lab_app)  # lab fabric up|status|down|console
    app.add_typer(lab_app, name="lab")
