"""The thin shell: parse arguments, call one core function, print, map errors to exit codes.

Exit codes: 0 ok, 1 a check failed, 2 bad input or a missing tool, 70 an internal error (a bug
in rscctl: one line asking for a report; RSCCTL_DEBUG=1 prints the traceback). Sub-apps
(export, verify, lab, ...) live in their own modules and are added here.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections import Counter

import typer
from rich.text import Text

from rscctl.cli.apply import register as register_apply
from rscctl.cli.common import console, err_console, growth_message
from rscctl.cli.growth import register as register_growth
from rscctl.cli.health import register as register_health
from rscctl.cli.lab import register as register_lab
from rscctl.cli.netbox import register as register_netbox
from rscctl.cli.pki import register as register_pki
from rscctl.cli.plan_cmd import register as register_plan
from rscctl.cli.verify import register as register_verify
from rscctl.declare.growth import GrowthError
from rscctl.errors import EXIT_BAD_INPUT, CheckFailed, RscctlError

MAX_FINDINGS_SHOWN = 20
EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE: distinct from 1 (a check failed) and 2 (input)
DEBUG_ENV = "RSCCTL_DEBUG"

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
register_growth(app)
register_apply(app)
register_health(app)
register_netbox(app)


def _say(label: str, text: str) -> None:
    """One message on stderr, verbatim: a red label, then the text as written (a Text
    object: no markup, no emoji codes)."""
    err_console.print(Text.assemble((label, "red"), " ", text), soft_wrap=True)


def _report_findings(exc: CheckFailed) -> None:
    shown: Counter[str] = Counter()
    for f in exc.findings:
        shown[f.check] += 1
        if shown[f.check] <= MAX_FINDINGS_SHOWN:
            _say("check failed", str(f))
    for check, n in shown.items():
        if n > MAX_FINDINGS_SHOWN:
            _say("check failed", f"[{check}] ... and {n - MAX_FINDINGS_SHOWN} more findings")


def main(argv: list[str] | None = None) -> int:
    """Entry point: never a traceback for a user's mistake, nor exit 1 for a bug."""
    try:
        # Standalone mode: typer reports usage errors itself (usage line, exit 2) and ends
        # every run with SystemExit; our own errors pass through to the handlers below.
        app(args=argv, prog_name="rscctl", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_BAD_INPUT)
    except CheckFailed as exc:
        _report_findings(exc)
        return exc.exit_code
    except GrowthError as exc:
        _say("error:", growth_message(exc))
        return exc.exit_code
    except RscctlError as exc:
        _say("error:", str(exc))
        return exc.exit_code
    except Exception as exc:  # the last resort: a bug, reported as one
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        _say("internal error:", f"{type(exc).__name__} in rscctl, please report it with the "
             f"command that gave it; set {DEBUG_ENV}=1 to see the traceback")
        return EXIT_INTERNAL
    return 0


__all__ = ["EXIT_INTERNAL", "app", "console", "main"]

if __name__ == "__main__":
    sys.exit(main())
