"""Console objects and helpers shared by the CLI modules.

Both consoles print text as given: no emoji codes (`:x:` stays `:x:`) and no highlighting;
user text is printed as rich Text objects, never through markup.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from rscctl.declare.growth import GrowthError
from rscctl.errors import UserError
from rscctl.planner import build_plan
from rscctl.planner.model import Plan

console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)


def default_out(build: str, out: Path | None) -> Path:
    """--out DIR, by default out/BUILD (BUILD's file stem when a path is given)."""
    return out if out is not None else Path("out") / Path(build).stem


def _moved(old: Plan, new: Plan) -> tuple[int, int]:
    """How many of `old`'s cables (by ID: ends, racks, part) and addresses (by device,
    interface and network) `new` does not keep as they are."""
    kept = {(c.cable_id, c.a_device, c.a_port, c.a_rack, c.b_device, c.b_port, c.b_rack,
             c.part_number) for c in new.cables}
    cables = sum(
        (c.cable_id, c.a_device, c.a_port, c.a_rack, c.b_device, c.b_port, c.b_rack,
         c.part_number) not in kept
        for c in old.cables
    )
    addrs = {(a.device, a.interface, a.network): (a.address, a.prefix_len) for a in new.addresses}
    addresses = sum(
        addrs.get((a.device, a.interface, a.network)) != (a.address, a.prefix_len)
        for a in old.addresses
    )
    return cables, addresses


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
