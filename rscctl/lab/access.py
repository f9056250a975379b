"""How the controller reaches the lab: its key pair, known_hosts, ssh_config and inventory.

Rendering is pure (templates/lab/ssh_config and inventory.yml); `collect_host_keys` runs
ssh-keyscan from the controller's namespace until every host answered.

Under the build's isolation policy (`policy_paths`) the controller comes in as the operators
do: its hop to the bastion starts in the management host's network namespace (the zone the
policy lets open SSH to the bastion), and every host the bastion may SSH to is reached through
the bastion (ProxyJump). Hosts no rule covers (the zone hosts) are reached from the
controller's own namespace.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rscctl.declare.policy import SSH_PORT
from rscctl.errors import MissingTool, RscctlError, UserError
from rscctl.export import escape
from rscctl.lab import netproxy
from rscctl.lab.hosts import LabHost, LabLayout
from rscctl.lab.image import LAB_USER
from rscctl.outputs import write_atomic
from rscctl.planner import intervals as iv
from rscctl.planner.model import Plan
from rscctl.planner.zones import ZoneMap, resolve_zones
from rscctl.templating import render

KEY_TYPE = "ssh-ed25519"


def ensure_keypair(state_dir: Path) -> Path:
    """The controller's ed25519 key pair (made once per state dir, kept across labs)."""
    key = state_dir / "id_ed25519"
    if not key.is_file():
        try:
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                            "rscctl-lab-controller", "-f", str(key)], check=True,
                           capture_output=True)
        except FileNotFoundError:
            raise MissingTool("ssh-keygen is not installed; apt-get install openssh-client"
                              ) from None
    key.chmod(0o600)
    return key


@dataclass(frozen=True)
class Paths:
    """How the controller reaches the lab's hosts under the build's policy. Empty (every
    host straight from the controller's namespace) when the build declares no policy."""

    bastion: str | None = None
    # the lab host whose network namespace the hop to the bastion starts from
    front: str | None = None
    # hosts reached through the bastion (ProxyJump)
    via_bastion: tuple[str, ...] = ()
    # why there is no front although the policy needs one ('' when fine)
    warning: str = ""


def zone_of(zm: ZoneMap, address: int) -> str | None:
    """The policy zone holding `address`: an internal or external zone, the internet zone for
    an address outside the enclave, None for an enclave address no zone holds."""
    for z in zm.zones:
        if z.kind != "internet" and iv.contains(z.spans, address):
            return z.name
    if iv.contains(zm.internet, address):
        return next((z.name for z in zm.zones if z.kind == "internet"), None)
    return None


def ssh_opens(zm: ZoneMap, src: str | None, dst: str | None) -> bool:
    """A flow of the policy lets zone `src` open tcp/22 to zone `dst`."""
    return src is not None and dst is not None and any(
        f.proto == "tcp" and src in f.from_ and dst in f.to
        and any(lo <= SSH_PORT <= hi for lo, hi in f.port_ranges)
        for f in zm.policy.flows)


def policy_paths(plan: Plan, layout: LabLayout) -> Paths:
    """The operators' path through the lab, from the plan's policy (pure): the bastion, the
    first lab host of a zone that may SSH to it (the front), the hosts the bastion may SSH to.
    Zones are those of each host's lab address, as the rulesets see it."""
    if plan.facts.firewall is None:
        return Paths()
    zm = resolve_zones(plan)
    zones = {h.name: zone_of(zm, int(h.address)) for h in layout.hosts}
    bastion_zones = {z.name for z in zm.zones if z.kind == "bastion"}
    bastion = next((h.name for h in layout.hosts if not h.zone_host
                    and zones[h.name] in bastion_zones), None)
    if bastion is None:
        return Paths()
    bz = zones[bastion]
    front = next((h.name for h in layout.hosts if not h.zone_host and h.name != bastion
                  and ssh_opens(zm, zones[h.name], bz)), None)
    warning = "" if front else (
        f"no lab host is in a zone the policy lets open SSH to the bastion {bastion}: the "
        "controller reaches it from its own namespace, which the bastion's firewall refuses "
        "once applied; declare a server of the management zone's role")
    via = tuple(h.name for h in layout.hosts
                if h.name != bastion and ssh_opens(zm, bz, zones[h.name]))
    return Paths(bastion, front, via, warning)


def proxy_command(netns_path: Path) -> str:
    """The ProxyCommand line: each path one shell word with its `%` doubled (ssh expands
    %-tokens, then runs the line through /bin/sh); %h %p are ssh's own tokens."""
    words = (sys.executable, "-I", "-S", str(Path(netproxy.__file__).resolve()),
             str(netns_path))
    return " ".join(escape.proxy_word(w, "lab ProxyCommand") for w in words) + " %h %p"


_SAFE_PATH = re.compile(r"/[A-Za-z0-9_./@+-]*")


def _state_path(sd: Path) -> str:
    """The state dir as written in ssh_config, inventory.yml and ansible_ssh_common_args:
    three grammars (ssh, YAML, shell words), so only characters plain in all three."""
    text = str(sd)
    if not _SAFE_PATH.fullmatch(text):
        raise UserError(f"--state-dir {text!r}: the lab writes it into ssh_config and an "
                        "Ansible inventory; use a path of letters, digits and _ . / @ + -")
    return text


def _checked_host(h: LabHost) -> LabHost:
    """A lab host whose name, role and group are plain words of ssh_config and YAML."""
    escape.ssh_host_pattern(escape.host_label(h.name, "lab host name"), "lab host name")
    escape.host_label(h.role, "lab host role")
    if not re.fullmatch(r"[a-z0-9_]+", h.group):
        raise UserError(f"lab group {h.group!r} (from role {h.role!r}): use letters, digits, -")
    return h


def parse_keyscan(text: str) -> dict[str, str]:
    """ssh-keyscan output -> {address: 'ssh-ed25519 KEY'} (comments and other types ignored)."""
    keys: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#") and parts[1] == KEY_TYPE:
            keys[parts[0]] = f"{parts[1]} {parts[2]}"
    return keys


def known_hosts_text(hosts: Sequence[LabHost], keys: dict[str, str]) -> str:
    """One line per host, under its name and its address."""
    return "".join(f"{h.name},{h.address} {keys[str(h.address)]}\n" for h in hosts)


def scan_once(hosts: Sequence[LabHost], netns: str | None,
              via: Sequence[str] = ()) -> dict[str, str]:
    """One ssh-keyscan of `hosts` (from `netns`, or through `via`): the keys that answered."""
    wanted = sorted(str(h.address) for h in hosts)
    if not wanted:
        return {}
    cmd = [*via, "ssh-keyscan", "-T", "2", "-t", "ed25519", *wanted]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if via and res.returncode == 255:
        raise RscctlError(f"cannot reach {via[-2]} to scan {', '.join(wanted)}: "
                          f"{res.stderr.strip()[-300:]}")
    return {a: k for a, k in parse_keyscan(res.stdout).items() if a in wanted}


def collect_host_keys(hosts: Sequence[LabHost], netns: str | None, timeout: float = 30.0,
                      via: Sequence[str] = (), known: dict[str, str] | None = None,
                      hint: str = "see `podman logs` of that node") -> dict[str, str]:
    """ssh-keyscan every host until all answered or `timeout`: from `netns` if given, or
    through `via` (an ssh command to a host already trusted, e.g. the bastion). Hosts in
    `known` (keys scanned earlier) are not scanned again."""
    keys = dict(known or {})
    deadline = time.monotonic() + timeout
    delay = 0.05
    while missing := [h for h in hosts if str(h.address) not in keys]:
        keys.update(scan_once(missing, netns, via))
        if all(str(h.address) in keys for h in hosts):
            break
        if time.monotonic() > deadline:
            left = sorted(h.name for h in hosts if str(h.address) not in keys)
            raise RscctlError(
                f"no ssh host key from {len(left)} lab hosts after {timeout:.0f} s "
                f"(first: {left[0]}); {hint}")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    return keys


def write_access(state_dir: Path, lab_id: str, layout: LabLayout, keys: dict[str, str],
                 proxy: str | None, command: str = "up",
                 jumps: dict[str, str] | None = None,
                 proxies: dict[str, str] | None = None) -> None:
    """known_hosts, ssh_config and inventory.yml in the state dir (hosts with a key only).
    `proxy` is every host's ProxyCommand; `proxies` one of a host's own (the bastion's from
    the front host's namespace); `jumps` a host's ProxyJump, which takes precedence."""
    sd = state_dir.resolve()
    _state_path(sd)
    escape.host_label(layout.build, "name")
    hosts = tuple(_checked_host(h) for h in layout.hosts if str(h.address) in keys)
    for name, jump in (jumps or {}).items():
        escape.ssh_host_pattern(name, "lab host name")
        escape.ssh_config_value(jump, "lab ProxyJump")
    for name, line in (proxies or {}).items():
        escape.ssh_host_pattern(name, "lab host name")
        escape.plain_text(line, "lab ProxyCommand")
    if proxy is not None:
        escape.plain_text(proxy, "lab ProxyCommand")
    groups: dict[str, list[LabHost]] = {}
    for h in hosts:
        groups.setdefault(h.group, []).append(h)
    ctx = {"lab_id": lab_id, "build": layout.build, "state_dir": str(sd), "hosts": hosts,
           "user": LAB_USER, "proxy": proxy, "controller": str(layout.controller),
           "groups": sorted(groups.items()), "command": command, "jumps": jumps or {},
           "proxies": proxies or {}}
    write_atomic(sd / "known_hosts", known_hosts_text(hosts, keys).encode())
    write_atomic(sd / "ssh_config", render("lab/ssh_config", **ctx).encode())
    write_atomic(sd / "inventory.yml", render("lab/inventory.yml", **ctx).encode())
