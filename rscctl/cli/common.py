"""Console objects and helpers shared by the CLI modules.

Both consoles print text as given: no emoji codes (`:x:` stays `:x:`) and no highlighting;
user text is printed as rich Text objects, never through markup.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from rscctl.declare.growth import GrowthError
from rscctl.errors import UserError
from rscctl.growth.diff import diff_plans
from rscctl.planner import build_plan
from rscctl.planner.model import Plan

console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)


def default_out(build: str, out: Path | None) -> Path:
    """--out DIR, by default out/BUILD (BUILD's file stem when a path is given)."""
    return out if out is not None else Path("out") / Path(build).stem


def _moved(old: Plan, new: Plan) -> tuple[int, int]:
    """How many of `old`'s cables (by ID: ends, racks, part) and addresses (by device,
    interface and network) `new` does not keep as they are: the growth diff's count."""
    d = diff_plans(old, new)
    return d.moved_cables, d.changed_addresses


def growth_message(exc: GrowthError) -> str:
    """The loader's refusal with how many of the parent's cables and addresses would move
    (both builds are planned, without checks: only on this error, never on a normal load)."""
    try:
        old = build_plan(exc.parent, check=False)
    except UserError:
        return str(exc)
    try:
        new = build_plan(exc.child, check=False)
    except UserError as inner:
        return f"{exc} (and the grown build cannot be planned: {inner})"
    cables, addresses = _moved(old, new)
    return exc.text(f"{cables:,} of its {len(old.cables):,} cables and {addresses:,} of its "
                    f"{len(old.addresses):,} addresses")
