"""The stack program: its config read, the plan loaded, one ScalableUnit per SU declared."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pulumi

from rscctl.apply import knownhosts
from rscctl.apply.invcache import load
from rscctl.apply.stackplan import StackPlan, stack_plan
from rscctl.errors import UserError
from rscctl_stack.components import ScalableUnit

ROOT = Path(__file__).resolve().parents[2]


def declare(sp: StackPlan, private_key: pulumi.Output[str]) -> dict[str, ScalableUnit]:
    """The resources of one stack plan; the stack's outputs: each node's files hash."""
    sus = {name: ScalableUnit(name, hosts, sp.user, dict(sp.variables), private_key)
           for name, hosts in sp.groups.items()}
    pulumi.export("build", sp.build)
    pulumi.export("files", {n: node.files_hash
                            for su in sus.values() for n, node in su.nodes.items()})
    return sus


def _path(value: str | None, default: Path) -> Path:
    return Path(value).expanduser() if value else default


def plan_from_config(cfg: pulumi.Config) -> StackPlan:
    build = cfg.require("build")
    plan_dir = _path(cfg.get("planDir"), ROOT / "out" / build)
    known = _path(cfg.get("knownHosts"), Path("~/.ssh/known_hosts").expanduser())
    secrets = cfg.get("secretsDir")
    bastion = cfg.get("bastion") or ""
    variables: dict[str, Any] = json.loads(cfg.get("vars") or "{}")
    return stack_plan(load(plan_dir / "plan.json"), knownhosts.load(known), known,
                      user=cfg.get("user") or "root",
                      bastion=None if bastion == "none" else bastion,
                      limit=cfg.get("limit") or "",
                      secrets_dir=Path(secrets).expanduser() if secrets else None,
                      variables=variables)


def private_key(cfg: pulumi.Config) -> pulumi.Output[str]:
    """The SSH key, always a secret: the secret rscctl:privateKey, or the file named."""
    secret = cfg.get_secret("privateKey")
    if secret is not None:
        return secret
    path = cfg.get("privateKeyFile") or os.environ.get("RSCCTL_SSH_KEY", "")
    if not path:
        raise UserError("set the SSH key: `pulumi config set --secret rscctl:privateKey < KEY`"
                        " or rscctl:privateKeyFile")
    try:
        text = Path(path).expanduser().read_text()
    except OSError as e:
        raise UserError(f"rscctl:privateKeyFile={path}: {e.strerror}") from None
    return pulumi.Output.secret(text)


def main() -> None:
    cfg = pulumi.Config("rscctl")
    try:
        sp = plan_from_config(cfg)
        key = private_key(cfg)
    except UserError as e:
        raise pulumi.RunError(str(e)) from None
    declare(sp, key)
