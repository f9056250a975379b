"""`rscctl apply BUILD --engine pulumi [--preview]`: the stacks/ program through the Automation
API. State is local (file:// under $XDG_STATE_HOME/rscctl/pulumi), secrets encrypted with
the passphrase provider: no Pulumi Cloud, as fits a cluster without internet.

The Pulumi CLI and the pulumi-command plugin are not in the package registries this project
builds from: where `pulumi` is missing the command exits 2 saying how to install both from
files, the air-gapped way.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rscctl.errors import MissingTool, UserError

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"
PROJECT = "rscctl-cluster"
PLUGIN_VERSION = "1.2.1"  # pulumi-command's Python package pins its plugin to this version

Say = Callable[[str], None]

INSTALL_HELP = (
    "the Pulumi CLI (`pulumi`) is not on PATH; `rscctl apply --engine pulumi` drives it. "
    "Install it from files (it is not in the enclave's package mirrors): on a machine with "
    "internet fetch https://get.pulumi.com/releases/sdk/pulumi-v3.272.0-linux-x64.tar.gz and "
    "the plugin https://github.com/pulumi/pulumi-command/releases/download/"
    f"v{PLUGIN_VERSION}/pulumi-resource-command-v{PLUGIN_VERSION}-linux-amd64.tar.gz, carry "
    "both in, then `tar -xzf pulumi-v3.272.0-linux-x64.tar.gz -C /opt && export "
    "PATH=/opt/pulumi:$PATH` and `pulumi plugin install resource command "
    f"{PLUGIN_VERSION} --file pulumi-resource-command-v{PLUGIN_VERSION}-linux-amd64.tar.gz`; "
    "or use the Ansible engine (the default: `rscctl apply BUILD`)")


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "rscctl" / "pulumi"


def find_cli() -> Path:
    """The `pulumi` executable, or MissingTool (exit 2) with how to install it offline."""
    found = shutil.which("pulumi")
    if found is None:
        raise MissingTool(INSTALL_HELP)
    return Path(found)


@dataclass
class StackOptions:
    build: str
    plan_dir: Path
    known_hosts: Path
    private_key_file: Path | None = None
    user: str = "root"
    bastion: str = ""
    limit: str = ""
    secrets_dir: Path | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    preview: bool = False


def stack_config(o: StackOptions) -> dict[str, str]:
    """The stack's `rscctl:*` config (plain values; the key is read as a secret by the
    program from the file named here)."""
    cfg = {"build": o.build, "planDir": str(o.plan_dir.resolve()),
           "knownHosts": str(o.known_hosts.resolve()), "user": o.user,
           "bastion": o.bastion, "limit": o.limit,
           "vars": json.dumps(o.variables, sort_keys=True)}
    if o.secrets_dir is not None:
        cfg["secretsDir"] = str(o.secrets_dir.resolve())
    if o.private_key_file is not None:
        cfg["privateKeyFile"] = str(o.private_key_file.resolve())
    return cfg


def precheck(o: StackOptions) -> int:
    """What the program would declare, checked here (missing plan, host key, certificate:
    exit 2 with the fix) before Pulumi starts. The number of hosts."""
    from rscctl.apply import knownhosts
    from rscctl.apply.invcache import load
    from rscctl.apply.stackplan import stack_plan

    plan = o.plan_dir / "plan.json"
    if not plan.is_file():
        raise UserError(f"{plan}: no plan here; run `rscctl plan {o.build}` first")
    sp = stack_plan(load(plan), knownhosts.load(o.known_hosts), o.known_hosts, user=o.user,
                    bastion=None if o.bastion == "none" else o.bastion, limit=o.limit,
                    secrets_dir=o.secrets_dir, variables=o.variables)
    return len(sp.hosts)


def _env() -> dict[str, str]:
    backend = state_dir()
    backend.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {"PULUMI_BACKEND_URL": f"file://{backend}", "PULUMI_SKIP_UPDATE_CHECK": "true",
           "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true"}
    if "PULUMI_CONFIG_PASSPHRASE" not in os.environ and \
            "PULUMI_CONFIG_PASSPHRASE_FILE" not in os.environ:
        raise UserError("set PULUMI_CONFIG_PASSPHRASE_FILE (or PULUMI_CONFIG_PASSPHRASE): the "
                        "stack's secrets (keys, certificates) are encrypted with it")
    return env


def run(o: StackOptions, say: Say) -> Mapping[str, Any]:
    """Preview or update the build's stack; a summary of the changes per operation."""
    find_cli()
    hosts = precheck(o)
    from pulumi import automation as auto

    env = _env()
    ws = auto.LocalWorkspaceOptions(work_dir=str(STACKS), env_vars=env)
    stack = auto.create_or_select_stack(stack_name=o.build, work_dir=str(STACKS), opts=ws)
    stack.set_all_config({f"rscctl:{k}": auto.ConfigValue(v)
                          for k, v in stack_config(o).items()})
    say(f"{'preview' if o.preview else 'up'}: stack {o.build} of {PROJECT}, {hosts} hosts, "
        f"state in {state_dir()}")
    if o.preview:
        pr = stack.preview(on_output=say, diff=True)
        return {k: int(v) for k, v in pr.change_summary.items()}
    up = stack.up(on_output=say)
    return {k: int(v) for k, v in (up.summary.resource_changes or {}).items()}


def from_cli(build: str, plan_dir: Path, access: Any, extra: Mapping[str, Any], limit: str | None,
             confirm_timeout: int, preview: bool, say: Say) -> None:
    """`rscctl apply --engine pulumi`: the Ansible path's options (access: run.Access, extra:
    its role variables) as the stack's config, then preview or up."""
    variables = {k: v for k, v in extra.items() if k != "nfs_tls_secrets_dir"}
    variables["firewall_confirm_timeout"] = confirm_timeout
    secrets = extra.get("nfs_tls_secrets_dir")
    o = StackOptions(build=build, plan_dir=plan_dir,
                     known_hosts=access.known_hosts or Path("~/.ssh/known_hosts").expanduser(),
                     private_key_file=access.key, user=access.user or "root",
                     bastion=access.bastion or "", limit=limit or "",
                     secrets_dir=Path(secrets) if secrets else None, variables=variables,
                     preview=preview)
    changes = run(o, say)
    say("changes: " + (", ".join(f"{n} {k}" for k, n in sorted(changes.items())) or "none"))
