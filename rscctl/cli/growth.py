"""`rscctl diff A B` and the growth part of `rscctl plan B --from A`.

Each side is a build (a name in topology/ or a YAML path) or a plan.json (a file, or an output
directory holding one). The diff (rscctl.growth.diff) says what is added, moved and removed;
when both sides are builds, the declaration fields that differ (rscctl.declare.growth) are the
reason of every move. Moves, removals or changed addresses exit 1, saying what and why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from rscctl.cli.common import console, default_out, err_console
from rscctl.declare import Build, load_build
from rscctl.declare.growth import GrowthError, growth_conflicts
from rscctl.errors import EXIT_CHECK_FAILED, CheckFailed, Finding, RscctlError
from rscctl.growth.diff import PlanDiff, diff_plans
from rscctl.outputs import Files, write_output_set
from rscctl.planjson import read_plan
from rscctl.planner import build_plan, with_checks
from rscctl.planner.model import Plan

if TYPE_CHECKING:  # the exporters load when a command runs (rscctl.export: start-up time)
    from rscctl.growth.steps import Growth

SHOWN = 20


class GrowthMoves(RscctlError):
    """The second build moves or removes the first one's cables or addresses. Exit 1."""

    exit_code = EXIT_CHECK_FAILED


@dataclass(frozen=True)
class Side:
    plan: Plan
    build: Build | None


def _plan_file(arg: str) -> Path | None:
    p = Path(arg)
    if p.suffix == ".json" and p.is_file():
        return p
    if p.is_dir() and (p / "plan.json").is_file():
        return p / "plan.json"
    return None


def load_side(arg: str, check: bool = False) -> Side:
    """A plan.json as it is, or a build planned (without checks unless asked)."""
    path = _plan_file(arg)
    if path is not None:
        return Side(read_plan(path), None)
    b = load_build(arg)
    return Side(build_plan(b, check=check), b)


def reasons(old: Build | None, new: Build | None) -> tuple[str, ...]:
    """Why anything moves: the fields the second build changes that the first's cables and
    addresses depend on."""
    if old is None or new is None:
        return ()
    return tuple(f"{c.field}: {c.describe()}" for c in growth_conflicts(old, new))


def grow(old: Side, new: Side) -> tuple[PlanDiff, Growth | None]:
    """The diff, and the steps when the growth only adds."""
    from rscctl.growth.steps import plan_growth

    diff = diff_plans(old.plan, new.plan, reasons(old.build, new.build))
    return diff, plan_growth(diff) if diff.adds_only else None


def moves_text(diff: PlanDiff) -> list[str]:
    """What moves, one line each (the first SHOWN of each kind), and why."""
    lines = [f"{diff.new.build} is not a growth of {diff.old.build}: {diff.moved_cables:,} of "
             f"its {len(diff.old.cables):,} cables move or go, {diff.moved_devices:,} devices "
             f"move or go, {diff.changed_addresses:,} of its {len(diff.old.addresses):,} "
             f"addresses change or go; why: {diff.why()}"]
    for m in diff.moves[:SHOWN]:
        lines.append(f"{m.action} {m.old.cable_id}: {'; '.join(m.changes)}")
    if len(diff.moves) > SHOWN:
        lines.append(f"... and {len(diff.moves) - SHOWN:,} more cables (growth/moves.csv)")
    moved = [d for d in diff.devices if d.action != "add"]
    for d in moved[:SHOWN]:
        lines.append(f"{d.action} device {d.device.name}: {'; '.join(d.changes) or 'gone'}")
    changed = [a for a in diff.addresses if a.action != "add"]
    for a in changed[:SHOWN]:
        lines.append(f"{a.action} address {a.device} {a.interface} {a.network}: "
                     f"{a.old} -> {a.new or 'none'}")
    if len(changed) > SHOWN:
        lines.append(f"... and {len(changed) - SHOWN:,} more addresses (growth/addresses.csv)")
    return lines


def print_growth(diff: PlanDiff, growth: Growth | None) -> None:
    console.print(
        f"{diff.old.build} -> {diff.new.build}: add {len(diff.added):,} cables, "
        f"{len(diff.added_devices):,} devices, "
        f"{sum(a.action == 'add' for a in diff.addresses):,} addresses; move or remove "
        f"{diff.moved_cables:,} cables, {diff.moved_devices:,} devices, "
        f"{diff.changed_addresses:,} addresses"
        + (f"; {len(growth.steps):,} work orders" if growth is not None else ""))


def failed_findings(plan: Plan) -> list[Finding]:
    return [Finding(f["check"], tuple(f["devices"]), f["message"], f["fix"])
            for c in plan.checks if not c.passed for f in c.findings]


def refuse(diff: PlanDiff) -> GrowthMoves:
    for line in moves_text(diff)[1:]:
        err_console.print(Text(line), soft_wrap=True)
    return GrowthMoves(moves_text(diff)[0])


def growth_sides(old_arg: str, new_arg: str) -> tuple[Side, Side]:
    """Both sides; a child its loader refuses (it re-cables its parent) is diffed anyway:
    showing what it would move is what `rscctl diff` is for."""
    old = load_side(old_arg)
    try:
        new = load_side(new_arg)
    except GrowthError as exc:
        new = Side(build_plan(exc.child, check=False), exc.child)
    return old, new


def plan_from(new: Plan, build: Build, from_arg: str, kinds: list[str] | None) -> Files:
    """`rscctl plan BUILD --from FROM`: growth/ and the report with its growth section.

    Refuses (exit 1, nothing written) a build that moves FROM's cables or addresses, and one
    whose first step leaves the running fabric failing a check (the last step is the grown
    plan, checked already; the tests check every step of a scaled-down pair)."""
    old = load_side(from_arg)
    d, g = grow(old, Side(new, build))
    if g is None:
        raise refuse(d)
    if g.steps:
        first = with_checks(g.step_plan(1))
        if not first.passed:
            raise CheckFailed([replace(f, message=f"growth step 1 ({g.steps[0].order.sheet}): "
                                       f"{f.message}") for f in failed_findings(first)])
    from rscctl.export.html import export_html_growth
    from rscctl.growth.export import growth_files

    files = growth_files(d, g)
    if kinds is None or "html" in kinds:
        files.update(export_html_growth(new, g))
    print_growth(d, g)
    return files


def register(app: typer.Typer) -> None:
    @app.command()
    def diff(
        old: Annotated[str, typer.Argument(help="the running build, or its plan.json")],
        new: Annotated[str, typer.Argument(help="the grown build, or its plan.json")],
        out: Annotated[Path | None, typer.Option(
            "--out", help="output directory whose growth/ is written [default: out/NEW]")] = None,
    ) -> None:
        """What NEW adds to, moves in and removes from OLD; exit 1 when anything moves."""
        a, b = growth_sides(old, new)
        d, g = grow(a, b)
        from rscctl.growth.export import growth_files

        files: Files = growth_files(d, g)
        plan_file = _plan_file(new)
        out_dir = out if out is not None else (
            plan_file.parent if plan_file is not None else default_out(new, None))
        write_output_set(out_dir, files, ["growth"])
        print_growth(d, g)
        console.print(f"wrote {len(files)} files to {out_dir / 'growth'}")
        if not d.adds_only:
            raise refuse(d)


__all__ = ["GrowthMoves", "Side", "grow", "growth_sides", "load_side", "plan_from",
           "print_growth", "reasons", "refuse", "register"]
