"""The thin shell: parse arguments, call one core function, print, map errors to exit codes.

Exit codes: 0 ok, 1 a check failed, 2 bad input or a missing tool. Sub-apps (export, verify,
lab, ...) live in their own modules and are added here.
"""

from __future__ import annotations

import sys
from collections import Counter

import typer
from rich.markup import escape

from rscctl.cli.common import console, err_console
from rscctl.cli.lab import register as register_lab
from rscctl.cli.pki import register as register_pki
from rscctl.cli.plan_cmd import register as register_plan
from rscctl.cli.verify import register as register_verify
from rscctl.errors import EXIT_BAD_INPUT, CheckFailed, RscctlError

MAX_FINDINGS_SHOWN = 20

app = typer.Typer(
    name="rscctl",
    help="Plan, export, apply and verify an AI research supercluster from its declaration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
register_plan(app)
register_lab(app)
register_verify(app)
register_pki(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: never a traceback for a user's mistake."""
    try:
        # Standalone mode: typer reports usage errors itself (usage line, exit 2) and ends
        # every run with SystemExit; our own errors pass through to the handlers below.
        app(args=argv, prog_name="rscctl", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_BAD_INPUT)
    except CheckFailed as exc:
        shown: Counter[str] = Counter()
        for f in exc.findings:
            shown[f.check] += 1
            if shown[f.check] <= MAX_FINDINGS_SHOWN:
                err_console.print(f"[red]check failed[/red] {escape(str(f))}", soft_wrap=True)
        for check, n in shown.items():
            if n > MAX_FINDINGS_SHOWN:
                err_console.print(f"[red]check failed[/red] {escape(f'[{check}]')} "
                                  f"... and {n - MAX_FINDINGS_SHOWN} more findings")
        return exc.exit_code
    except RscctlError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return exc.exit_code
    return 0


__all__ = ["app", "console", "main"]

if __name__ == "__main__":
    sys.exit(main())
