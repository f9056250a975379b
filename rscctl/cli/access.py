"""How the commands that reach the nodes (apply, health) are told the way in: a lab's state
directory, or an ssh_config, and the bastion (by default the plan's first)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rscctl.errors import UserError

if TYPE_CHECKING:
    from rscctl.apply.run import Access

LabOpt = Annotated[Path | None, typer.Option(help="the lab in this state dir (its keys, "
                                                  "known_hosts, ssh_config)")]
SshConfigOpt = Annotated[Path | None, typer.Option(help="ssh_config for the hosts",
                                                   exists=True, dir_okay=False)]
BastionOpt = Annotated[str | None, typer.Option(help="jump host (default: the plan's first "
                                                     "bastion)")]


def host_access(build: str, plan: Path, lab: Path | None, ssh_config: Path | None,
                bastion: str | None) -> Access:
    """The lab's keys, known_hosts and ssh_config (`--lab`), else `--ssh-config`; the
    bastion named, else the plan's first."""
    from rscctl.apply.invcache import load
    from rscctl.apply.run import BASTION_GROUP, Access

    if bastion is None and plan.is_file():
        bastion = (load(plan)["groups"].get(BASTION_GROUP) or [None])[0]
    if lab is None:
        return Access(ssh_config=ssh_config.resolve() if ssh_config else None, bastion=bastion)
    sd = lab.resolve()
    if not (sd / "ssh_config").is_file():
        raise UserError(f"--lab {lab}: no lab here (no ssh_config); run `rscctl lab up "
                        f"{build} --state-dir {lab}` first")
    return Access(ssh_config=sd / "ssh_config", known_hosts=sd / "known_hosts",
                  user="rscctl", key=sd / "id_ed25519", bastion=bastion)
