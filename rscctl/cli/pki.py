"""`rscctl pki BUILD`: the cluster CA and one certificate per node, for NFS over TLS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from rscctl.cli.common import console, default_out, err_console
from rscctl.errors import UserError
from rscctl.planjson import read_plan


def register(app: typer.Typer) -> None:
    @app.command()
    def pki(
        build: Annotated[str, typer.Argument(help="a build planned before (reads out/BUILD)")],
        out: Annotated[Path | None, typer.Option(
            "--out", help="directory of the plan [default: out/BUILD]")] = None,
        secrets: Annotated[Path | None, typer.Option(
            "--secrets", help="secrets directory [default: ~/.local/share/rscctl/secrets/BUILD]"
        )] = None,
        rotate: Annotated[bool, typer.Option(
            "--rotate", help="new keys and certificates for every node")] = False,
        rotate_ca: Annotated[bool, typer.Option(
            "--rotate-ca", help="a new CA key (every node certificate is re-issued)")] = False,
    ) -> None:
        """Make or refresh the cluster CA and node certificates; existing keys are kept."""
        # cryptography is imported here, not at start-up: every other command skips its cost
        from rscctl.pki import SecretsStore, check_location, default_secrets_dir, identities

        plan = read_plan(default_out(build, out) / "plan.json")
        settings = plan.facts.storage.nfs if plan.facts.storage else None
        if settings is None:
            raise UserError(f"build {plan.build}: no storage declared, so no NFS over TLS; "
                            "declare `storage` first")
        root = secrets or default_secrets_dir(plan.build)
        check_location(root)
        store = SecretsStore(root)
        try:
            r = store.ensure(plan.build, identities(plan), ca_days=settings.ca_days,
                             cert_days=settings.cert_days, rotate=rotate,
                             rotate_ca=rotate_ca)
        except OSError as exc:
            raise UserError(f"--secrets {root}: cannot use {exc.filename or root} "
                            f"({exc.strerror}); fix its permissions or give another "
                            "--secrets directory") from None
        for w in r.warnings:
            err_console.print(f"warning: {escape(w)} (secrets are never readable by others)",
                              soft_wrap=True)
        console.print(
            f"{plan.build}: CA {r.ca}; node certificates: {len(r.created)} created, "
            f"{len(r.reissued)} re-issued, {len(r.rotated)} rotated, {len(r.kept)} kept"
            + (f"; {len(r.stale)} no longer in the plan (left in place)" if r.stale else "")
        )
        console.print(f"secrets in {root} (files 0600); CA certificate: {store.ca_cert_path}")
