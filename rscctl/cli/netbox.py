"""`rscctl netbox push|diff BUILD --url URL`: the plan into NetBox, and NetBox against the plan.

Both read BUILD's written plan (out/BUILD/plan.json; run `rscctl plan BUILD` first). The token
comes from --token-file (mode 0600) or RSCCTL_NETBOX_TOKEN, never from the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rscctl.cli.common import console, default_out, err_console
from rscctl.errors import CheckFailed

if TYPE_CHECKING:
    from rscctl.netbox.client import NetBoxClient

netbox_app = typer.Typer(help="NetBox as the source of truth: push the plan, diff the as-built.",
                         no_args_is_help=True)

BuildArg = Annotated[str, typer.Argument(help="a build in topology/ or a YAML path")]
UrlOpt = Annotated[str, typer.Option("--url", help="NetBox's address, e.g. "
                                     "https://netbox.example.org")]
TokenOpt = Annotated[Path | None, typer.Option(
    "--token-file", help="a file (mode 0600) holding the API token; default: "
    "$RSCCTL_NETBOX_TOKEN")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="the output set whose plan.json is pushed (default out/BUILD)")]
InsecureOpt = Annotated[bool, typer.Option(
    "--no-verify-tls", help="do not check NetBox's certificate (a lab NetBox only)")]


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def _client(url: str, token_file: Path | None, insecure: bool) -> NetBoxClient:
    from rscctl.netbox.client import NetBoxClient, read_token, validate_url

    url = validate_url(url)  # before the token: a bad URL is reported first
    return NetBoxClient(url, read_token(token_file), verify_tls=not insecure)


@netbox_app.command()
def push(build: BuildArg, url: UrlOpt, token_file: TokenOpt = None, out: OutOpt = None,
         dry_run: Annotated[bool, typer.Option("--dry-run", help="print the changes per object "
                                               "type, write nothing")] = False,
         prune: Annotated[bool, typer.Option("--prune", help="delete objects tagged rscctl that "
                                             "the plan no longer has")] = False,
         insecure: InsecureOpt = False) -> None:
    """Bring NetBox to BUILD's plan: create what is missing, update what differs (only objects
    tagged `rscctl`), delete only with --prune. A second push changes nothing."""
    from rscctl.netbox.push import push as do_push
    from rscctl.planjson import read_plan

    plan = read_plan(default_out(build, out) / "plan.json")
    nb = _client(url, token_file, insecure)
    pp = do_push(nb, plan, dry_run=dry_run, prune=prune, say=_say)
    if pp.conflicts:
        raise CheckFailed(pp.conflicts)


@netbox_app.command()
def diff(build: BuildArg, url: UrlOpt, token_file: TokenOpt = None, out: OutOpt = None,
         insecure: InsecureOpt = False) -> None:
    """NetBox's as-built against BUILD's plan: cables missing, extra or with other ends,
    devices in other racks or units, statuses. Exit 0 only when they agree."""
    from rscctl.netbox.diff import diff as do_diff
    from rscctl.planjson import read_plan

    plan = read_plan(default_out(build, out) / "plan.json")
    nb = _client(url, token_file, insecure)
    findings = do_diff(nb, plan)
    if findings:
        err_console.print(f"NetBox at {nb.url} differs from the plan of {plan.build}: "
                          f"{len(findings)} findings", highlight=False, markup=False)
        raise CheckFailed(findings)
    _say(f"NetBox at {nb.url} agrees with the plan of {plan.build}")


def register(app: typer.Typer) -> None:
    app.add_typer(netbox_app, name="netbox")


__all__ = ["register"]
