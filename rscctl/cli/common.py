"""Console objects and option helpers shared by the CLI modules."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def default_out(build: str, out: Path | None) -> Path:
    """--out DIR, by default out/BUILD (BUILD's file stem when a path is given)."""
    return out if out is not None else Path("out") / Path(build).stem
