"""What the Pulumi stack declares, as plain data: hosts grouped per SU, each with its files
(nodefiles), its address, its pinned host key and its jump host. Pure; the stack program
(stacks/rscctl_stack) turns it into resources, and `rscctl apply --engine pulumi` checks it
before Pulumi starts, so a missing host key is one message (exit 2), not a failed update."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rscctl.apply.knownhosts import KnownHost, host_key
from rscctl.apply.nodefiles import ROLE_TAGS, NodeFile, NodeRenderer
from rscctl.errors import UserError

LINUX_GROUP = "linux_host"
BASTION_GROUP = "bastion"
SERVICES = "services"
# As `rscctl apply --confirm-timeout` (the role's own default, 0, is for runs by hand).
CONFIRM_TIMEOUT = 120


@dataclass(frozen=True)
class Endpoint:
    name: str
    address: str
    host_key: str


@dataclass(frozen=True)
class HostPlan:
    name: str
    group: str  # su-001 ... or `services`
    endpoint: Endpoint
    jump: Endpoint | None
    files: tuple[NodeFile, ...]

    def by_tag(self) -> list[tuple[str, tuple[NodeFile, ...]]]:
        """The files per site.yml role, in its order; roles without files left out."""
        return [(t, fs) for t in ROLE_TAGS if (fs := tuple(f for f in self.files
                                                           if f.tag == t))]


@dataclass(frozen=True)
class StackPlan:
    build: str
    user: str
    variables: Mapping[str, Any]
    groups: dict[str, list[HostPlan]] = field(default_factory=dict)

    @property
    def hosts(self) -> list[HostPlan]:
        return [h for hs in self.groups.values() for h in hs]


def group_of(hv: Mapping[str, Any]) -> str:
    su = hv.get("rsc_su")
    return f"su-{su:03d}" if isinstance(su, int) else SERVICES


def select(data: Mapping[str, Any], limit: str) -> list[str]:
    """The Linux hosts in inventory order, limited to names or groups (globs allowed)."""
    hosts: list[str] = list(data["groups"].get(LINUX_GROUP, []))
    if not limit.strip():
        return hosts
    keep: set[str] = set()
    for word in (w.strip() for w in limit.split(",") if w.strip()):
        hit = {h for h in hosts if fnmatch.fnmatchcase(h, word)}
        for g, members in data["groups"].items():
            if fnmatch.fnmatchcase(g, word):
                hit |= set(members) & set(hosts)
        if not hit:
            raise UserError(f"--limit {word!r} matches none of the plan's Linux hosts or "
                            "groups (e.g. dgx0001, su_001, gpu_node)")
        keep |= hit
    return [h for h in hosts if h in keep]


def _endpoint(name: str, hv: Mapping[str, Any], keys: Sequence[KnownHost], domain: str,
              known_hosts: Path) -> Endpoint:
    addr = str(hv["ansible_host"])
    key = host_key(keys, [name, addr, f"{name}.{domain}"])
    if key is None:
        raise UserError(f"{known_hosts}: no host key for {name} ({addr}); every connection "
                        "pins its host's key: add it (`ssh-keyscan -t ed25519 "
                        f"{addr}` from a trusted network, checked against the node)")
    return Endpoint(name, addr, key)


def stack_plan(data: Mapping[str, Any], keys: Sequence[KnownHost], known_hosts: Path, *,
               user: str = "root", bastion: str | None = "", limit: str = "",
               secrets_dir: Path | None = None,
               variables: Mapping[str, Any] | None = None) -> StackPlan:
    """bastion: "" = the plan's first bastion, None = connect directly."""
    r = NodeRenderer(data, secrets_dir,
                     {"firewall_confirm_timeout": CONFIRM_TIMEOUT, **(variables or {})})
    domain = str(data["vars"]["rsc_domain"])
    jump_name = (data["groups"].get(BASTION_GROUP) or [None])[0] if bastion == "" else bastion
    jump = None
    if jump_name:
        if jump_name not in data["hosts"]:
            raise UserError(f"bastion {jump_name!r} is not a host of the plan; name one of "
                            f"{', '.join(data['groups'].get(BASTION_GROUP, [])) or 'none'}")
        jump = _endpoint(jump_name, data["hosts"][jump_name], keys, domain, known_hosts)
    sp = StackPlan(r.build, user, r.v)
    for h in select(data, limit):
        hv = data["hosts"][h]
        ep = _endpoint(h, hv, keys, domain, known_hosts)
        hp = HostPlan(h, group_of(hv), ep, None if h == jump_name else jump, r.files(h))
        sp.groups.setdefault(hp.group, []).append(hp)
    ordered = dict(sorted(sp.groups.items(), key=lambda kv: (kv[0] == SERVICES, kv[0])))
    sp.groups.clear()
    sp.groups.update(ordered)
    return sp
