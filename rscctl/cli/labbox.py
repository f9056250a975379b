"""`rscctl lab box` and `rscctl lab vm-clean`: the Vagrant box and what libvirt keeps."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from rscctl.cli.common import console, err_console


def _log(msg: str) -> None:
    err_console.print(msg, highlight=False)


def box(as_json: Annotated[bool, typer.Option("--json", help="name, kernel, initrd, "
                                              "cmdline, driver (the Vagrantfile reads it)")]
        = False,
        no_build: Annotated[bool, typer.Option("--no-build", help="only say where the box "
                                               "is and whether it is built")] = False) -> None:
    """Build the lab VMs' Vagrant box from the container image's recipe (root; once per
    recipe, cached in RSCCTL_LAB_CACHE, default /var/cache/rscctl/lab/box)."""
    from rscctl.lab import box as labbox

    b = labbox.locate() if no_build else labbox.ensure_box(log=_log)
    if as_json:
        typer.echo(json.dumps(b.as_dict(), indent=1, sort_keys=True))
    else:
        console.print(f"box {b.name} ({'built' if b.built else 'not built'}); driver "
                      f"{labbox.driver(b)}; kernel {b.kernel}")


def vm_clean(check: Annotated[bool, typer.Option("--check", help="only list what is left; "
                                                 "exit 1 if anything")] = False) -> None:
    """Remove every libvirt object of the lab's VMs by name (rscctl-lab*): domains, volumes,
    networks, the pool, libvirt's LIBVIRT_* nft chains; also after a run killed half way."""
    from rscctl.lab import box as labbox

    if check:
        left = labbox.leftovers()
        for item in left:
            console.print(item)
        if left:
            raise typer.Exit(1)
        return
    removed = labbox.clean(log=_log)
    console.print(f"lab VMs clean: {len(removed)} objects removed")


def register_box(app: typer.Typer) -> None:
    app.command("box")(box)
    app.command("vm-clean")(vm_clean)
