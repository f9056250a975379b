"""`rscctl verify cabling|routing` and `rscctl lab fabric up|status|down|console`.

Each command loads, calls the core (rscctl.verify.cabling, rscctl.verify.routing,
rscctl.lab.fabric), prints and exits: 0 when the fabric matches the plan, 1 on findings, 2 on
bad input. Text from the fabric (node descriptions) is printed as rich Text, never as markup.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rscctl.cli.common import default_out
from rscctl.errors import UserError

if TYPE_CHECKING:
    from rscctl.planner.model import Plan
    from rscctl.verify.cabling import CablingReport
    from rscctl.verify.ibnetdiscover import Topology
    from rscctl.verify.routing import RoutingReport

OutOpt = Annotated[Path | None, typer.Option("--out", help="output directory of the build "
                                             "(reads OUT/plan.json) [default: out/BUILD]")]
FabricDirOpt = Annotated[Path, typer.Option("--state-dir", help="the simulated fabric's record "
                                            "and files")]
_FORMATS = ("table", "csv", "json")
# Lines print whole (soft wrap: no newline inserted in a long finding), text never as markup.
console = Console(highlight=False, emoji=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def _plan(build: str, out: Path | None) -> Plan:
    from rscctl.planjson import read_plan

    return read_plan(default_out(build, out) / "plan.json")


def _discover(discovered: Path | None, live: bool, ssh: str | None, known_hosts: Path | None,
              identity: Path | None, command: str, lab: Path | None) -> tuple[str, str]:
    """(text, where it came from) of ibnetdiscover's output, by the options given."""
    from rscctl.verify import live as run

    if (discovered is None) == (not live):
        raise UserError("give either --discovered FILE (ibnetdiscover's saved output) or --live "
                        "(run ibnetdiscover now)")
    if discovered is not None:
        if ssh or lab:
            raise UserError("--ssh and --lab go with --live, not with --discovered")
        try:
            data = discovered.read_bytes()
        except OSError as exc:
            raise UserError(f"--discovered {discovered}: {exc.strerror}") from None
        try:
            return data.decode("utf-8"), str(discovered)
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise UserError(f"{discovered}:{line}: not UTF-8 text: not ibnetdiscover output; "
                            "give the file ibnetdiscover wrote") from None
    if ssh:
        if known_hosts is None:
            raise UserError("--ssh needs --known-hosts FILE (the subnet manager's host key, "
                            "checked; unknown keys are refused)")
        target = run.SshTarget.parse(ssh)
        return run.run_ssh(target, known_hosts, identity, command), f"{command} on {ssh}"
    if lab is not None:
        import tempfile

        from rscctl.lab.fabric import status

        s = status(lab)
        if not s.running:
            raise UserError(f"--lab {lab}: no simulated fabric is up; run `rscctl lab fabric up "
                            "BUILD`")
        with tempfile.TemporaryDirectory(prefix="rscctl-ibnd-") as cwd:  # umad2sim's sysfs
            text = run.run_local(f"ibsim-run {command}", s.state.client_env(), Path(cwd))
        return text, f"{command} on the simulator in {lab}"
    return run.run_local(command), command


def _cells(*values: str) -> list[Text]:
    return [Text(v) for v in values]


def print_cabling(rep: CablingReport, source: str, seconds: float) -> None:
    t = Table(title=Text(f"cabling of {rep.build} against {source}"), show_lines=True)
    for col in ("#", "finding", "cables (A / B label)", "A end", "B end", "found", "fix"):
        t.add_column(col, overflow="fold")
    for n, f in enumerate(rep.findings, start=1):
        cables = "\n".join(f"{c.cable_id or '(internal)'}\n{c.label_a}\n{c.label_b}"
                           for c in f.cables)
        a = "\n".join(str(c.a) for c in f.cables) or (str(f.ports[0]) if f.ports else "")
        b = "\n".join(str(c.b) for c in f.cables) or (
            str(f.ports[1]) if len(f.ports) > 1 else "")
        t.add_row(*_cells(str(n), f.kind, cables, a, b, f.found, f.fix))
    if rep.findings:
        console.print(t)
    for n, f in enumerate(rep.findings, start=1):  # whole lines, to read aloud or grep
        console.print(Text(f"{n}. {f.kind}: {f.fix}"))
    counts = ", ".join(f"{n} {k}" for k, n in rep.counts().items())
    verdict = "matches the plan" if rep.matches else f"{len(rep.findings)} findings ({counts})"
    console.print(Text(f"{rep.discovered_links:,} links of {rep.discovered_nodes:,} nodes "
                       f"against {rep.cables:,} planned cables ({rep.planned_links:,} links with "
                       f"the directors' own): {verdict}; {seconds:.2f} s"))


def _write_work_order(rep: CablingReport, plan: Plan, path: Path) -> None:
    from rscctl.verify.cabling_sheet import fixes_xlsx

    try:
        path.write_bytes(fixes_xlsx(rep, plan))
    except OSError as exc:
        raise UserError(f"--work-order {path}: {exc.strerror}") from None


def cabling(
    build: Annotated[str, typer.Argument(help="a planned build (reads out/BUILD/plan.json)")],
    discovered: Annotated[Path | None, typer.Option(
        "--discovered", help="ibnetdiscover's output (a real fabric or the simulator)")] = None,
    live: Annotated[bool, typer.Option("--live", help="run ibnetdiscover now: here, on the "
                                       "simulator (--lab) or over SSH (--ssh)")] = False,
    ssh: Annotated[str | None, typer.Option("--ssh", help="[USER@]HOST[:PORT] of the subnet "
                                            "manager host (with --live)")] = None,
    known_hosts: Annotated[Path | None, typer.Option(
        "--known-hosts", help="known_hosts file holding the host's key (required with --ssh)")]
    = None,
    identity: Annotated[Path | None, typer.Option("--identity", help="SSH private key")] = None,
    command: Annotated[str, typer.Option("--command", help="what --live runs")]
    = "ibnetdiscover",
    lab: Annotated[Path | None, typer.Option(
        "--lab", help="with --live: the simulator of `lab fabric up` (its --state-dir)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    work_order: Annotated[Path | None, typer.Option(
        "--work-order", help="write the fixes as a work order (.xlsx, cabling sheet format)")]
    = None,
    out: OutOpt = None,
) -> None:
    """Compare the discovered compute fabric with the plan, cable by cable: missing,
    unexpected, swapped (one swap, with the fix), moved, wrong rate, unknown devices, wrong
    node descriptions; each with cable ID, both labels, racks and units."""
    from rscctl.export.csvs import csv_bytes
    from rscctl.gcpause import paused_gc
    from rscctl.verify.cabling import ROW_COLUMNS, finding_rows, verify_cabling
    from rscctl.verify.ibnetdiscover import read_discovered

    if fmt not in _FORMATS:
        raise UserError(f"--format {fmt!r}: write one of {', '.join(_FORMATS)}")
    start = time.perf_counter()
    with paused_gc():  # ~2 million acyclic objects: the collector's passes cost ~0.8 s
        plan = _plan(build, out)
        text, source = _discover(discovered, live, ssh, known_hosts, identity, command, lab)
        found: Topology = read_discovered(text, source)
        rep = verify_cabling(plan, found)
    seconds = time.perf_counter() - start
    if work_order is not None:
        _write_work_order(rep, plan, work_order)
    if fmt == "csv":
        sys.stdout.buffer.write(csv_bytes(ROW_COLUMNS, finding_rows(rep)))
        sys.stdout.flush()
    elif fmt == "json":
        doc = {"build": rep.build, "source": source, "matches": rep.matches,
               "cables": rep.cables, "planned_links": rep.planned_links,
               "discovered_links": rep.discovered_links, "counts": rep.counts(),
               "findings": [f.as_dict() for f in rep.findings]}
        typer.echo(json.dumps(doc, indent=1, sort_keys=True))
    else:
        print_cabling(rep, source, seconds)
    if not rep.matches:
        raise typer.Exit(1)


def print_routing(rep: RoutingReport, seconds: float) -> None:
    t = Table(title=Text(f"shift permutations on {rep.build}: worst link load"))
    for col in ("rail", "shifts", "worst load", "worst shift", "busiest link"):
        t.add_column(col)
    for r in rep.rails:
        t.add_row(*_cells(str(r.rail), str(r.shifts), str(r.worst), str(r.worst_shift),
                          r.busiest))
    console.print(t)
    for p in rep.problems[:20]:
        console.print(Text(f"unroutable: {p}"))
    console.print(Text(f"{rep.flows:,} flows over {rep.hops:,} hops; worst link load "
                       f"{rep.worst} overall (1 = every shift is contention-free); "
                       f"{seconds:.2f} s"))


def routing(
    build: Annotated[str, typer.Argument(help="a planned build (reads out/BUILD/plan.json)")],
    discovered: Annotated[Path | None, typer.Option(
        "--discovered", help="ibnetdiscover's output after the subnet manager ran (with LIDs)")]
    = None,
    lfts: Annotated[Path | None, typer.Option(
        "--lfts", help="forwarding tables: opensm-lfts.dump or dump_fts output")] = None,
    lab: Annotated[Path | None, typer.Option(
        "--lab", help="read both live from the simulator of `lab fabric up` (its --state-dir)")]
    = None,
    max_load: Annotated[int, typer.Option("--max-load", help="exit 1 above this load")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    out: OutOpt = None,
) -> None:
    """Trace every flow of the shift permutations (node i to node i+k, every k, every rail)
    through the forwarding tables; report the worst link load per shift and overall."""
    from rscctl.gcpause import paused_gc
    from rscctl.verify.ibnetdiscover import read_discovered
    from rscctl.verify.routing import read_lfts, shift_loads

    if fmt not in ("table", "json"):
        raise UserError(f"--format {fmt!r}: write table or json")
    start = time.perf_counter()
    plan = _plan(build, out)
    if lab is not None:
        if discovered or lfts:
            raise UserError("--lab reads the tables live; drop --discovered and --lfts")
        topo_text, lft_text = _live_routing(lab)
        topo_src, lft_src = f"ibnetdiscover on {lab}", f"dump_fts on {lab}"
    else:
        if discovered is None or lfts is None:
            raise UserError("give --discovered FILE and --lfts FILE, or --lab DIR")
        topo_text, lft_text = (_read_text(discovered, "--discovered"),
                               _read_text(lfts, "--lfts"))
        topo_src, lft_src = str(discovered), str(lfts)
    with paused_gc():  # large acyclic tables, as in `verify cabling`
        rep = shift_loads(plan, read_discovered(topo_text, topo_src),
                          read_lfts(lft_text, lft_src))
    if fmt == "json":
        typer.echo(json.dumps(rep.as_dict(), indent=1, sort_keys=True))
    else:
        print_routing(rep, time.perf_counter() - start)
    if rep.problems or rep.worst > max_load:
        raise typer.Exit(1)


def _read_text(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{option} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{option} {path}: not UTF-8 text; give the file the tool wrote") \
            from None


def _live_routing(lab: Path) -> tuple[str, str]:
    import tempfile

    from rscctl.lab.fabric import status
    from rscctl.verify.live import run_local

    s = status(lab)
    if not s.running:
        raise UserError(f"--lab {lab}: no simulated fabric is up; run `rscctl lab fabric up`")
    env = s.state.client_env()
    with tempfile.TemporaryDirectory(prefix="rscctl-fts-") as cwd:
        topo = run_local("ibsim-run ibnetdiscover", env, Path(cwd))
        fts = run_local("ibsim-run dump_fts", env, Path(cwd))
    return topo, fts


def register_verify(app: typer.Typer) -> None:
    app.command("cabling")(cabling)
    app.command("routing")(routing)


# -- lab fabric ------------------------------------------------------------------------------

fabric_app = typer.Typer(help="The planned compute fabric in ibsim, routed by OpenSM ftree.",
                         no_args_is_help=True)


@fabric_app.command("up")
def fabric_up(build: Annotated[str, typer.Argument(help="a build in topology/ or a YAML path")]
              = "lab", state_dir: FabricDirOpt = Path(".lab/fabric")) -> None:
    """Serve BUILD's compute fabric in ibsim and route it once with OpenSM fat-tree routing;
    exit 1 when ftree was not really used (OpenSM fell back to min-hop)."""
    from rscctl.lab import fabric

    st = fabric.up(build, state_dir, log=lambda m: err_console.print(Text(m)))
    t = st.timings
    verdict = ("ftree tables configured on all switches" if st.ftree
               else "fat-tree routing NOT used: " + ("; ".join(st.routing_errors)
                                                     or "see " + str(st.path("osm/osm.log"))))
    console.print(Text(
        f"fabric of {st.build} up: {st.nodes:,} nodes, {st.links:,} links; ibsim "
        f"{t.get('ibsim_s', 0):.1f} s, opensm {t.get('opensm_s', 0):.1f} s, total "
        f"{t.get('total_s', 0):.1f} s; {verdict}; clients: IBSIM_SOCKNAME={st.sock} ibsim-run "
        "CMD"))
    if not st.ftree:
        raise typer.Exit(1)


@fabric_app.command("status")
def fabric_status(state_dir: FabricDirOpt = Path(".lab/fabric")) -> None:
    """Whether the simulator runs, its socket, and how OpenSM routed it."""
    from rscctl.lab import fabric

    s = fabric.status(state_dir)
    st = s.state
    if not st.sock:
        console.print(Text(f"no fabric in {state_dir}"))
        raise typer.Exit(1)
    routed = "ftree" if st.ftree else "not ftree (" + "; ".join(st.routing_errors) + ")"
    console.print(Text(
        f"fabric of {st.build}: {st.phase}; ibsim pid {st.ibsim_pid} "
        f"{'running' if s.running else 'NOT running'}; {len(s.pids)} processes, "
        f"{len(s.sockets)} sockets on {st.sock}; {st.nodes:,} nodes, {st.links:,} links; "
        f"routing {routed} in {st.timings.get('opensm_s', 0):.1f} s"))
    if not s.running or not st.ftree:
        raise typer.Exit(1)


@fabric_app.command("console")
def fabric_console(command: Annotated[str, typer.Argument(
        help='an ibsim console command, e.g. \'Unlink "S-02c72011d584f350"[3]\'')],
        state_dir: FabricDirOpt = Path(".lab/fabric")) -> None:
    """Send one command to the simulator (link events: Unlink, ReLink, Link)."""
    from rscctl.lab import fabric

    console.print(Text(fabric.console(command, state_dir)))


@fabric_app.command("down")
def fabric_down(state_dir: FabricDirOpt = Path(".lab/fabric")) -> None:
    """End the simulator and every client of its socket; remove its files (also after a
    killed `up`). Exit 1 if a socket is left."""
    from rscctl.lab import fabric

    r = fabric.down(state_dir)
    console.print(Text(f"fabric down: {r.processes} processes ended, {len(r.sockets_left)} "
                       f"sockets left, in {r.seconds:.1f} s"))
    if r.sockets_left:
        raise typer.Exit(1)


def register_lab(app: typer.Typer) -> None:
    app.add_typer(fabric_app, name="fabric")
