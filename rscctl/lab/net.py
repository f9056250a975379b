"""The lab's network: one namespace per host, a bridge in its own "switch" namespace, veths.

Everything is made with `ip -batch` (one process per step, not per link) inside namespaces the
lab creates; the host's own interfaces, routes and firewall are never touched. Each host gets
its address and an on-link default route, so every lab host (the zone hosts too) reaches every
other one over the one segment and only the firewall decides what passes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from rscctl.errors import RscctlError
from rscctl.export.escape import batch_line, batch_token
from rscctl.lab.hosts import LabHost

NETNS_DIR = Path("/run/netns")
BRIDGE = "br0"


def ip_batch(lines: Sequence[str], netns: str | None = None, force: bool = False) -> None:
    """Run `ip [-n NS] [-force] -batch -` over `lines`."""
    if not lines:
        return
    for line in lines:
        batch_line(line)
    cmd = ["ip", *(["-n", netns] if netns else []), *(["-force"] if force else []),
           "-batch", "-"]
    res = subprocess.run(cmd, input="\n".join(lines) + "\n", text=True, capture_output=True,
                         check=False)
    if res.returncode != 0 and not force:
        raise RscctlError(f"ip {'-n ' + netns if netns else ''}: {res.stderr.strip()[:400]}")


def add_namespaces(names: Iterable[str]) -> None:
    ip_batch([f"netns add {_ns(n)}" for n in names])


def _ns(name: str) -> str:
    """A namespace name that is one word of a batch line and one file in /run/netns."""
    return batch_token(name, "lab namespace (host name)", slash=False)


def wire(switch_ns: str, ctl_ns: str, hosts: Sequence[tuple[str, LabHost]],
         controller: tuple[str, int]) -> None:
    """The bridge, one veth per host (eth0 inside, vN on the bridge), addresses and routes."""
    for ns in (switch_ns, ctl_ns, *(ns for ns, _ in hosts)):
        _ns(ns)
    lines = [f"link add {BRIDGE} type bridge stp_state 0 forward_delay 0",
             "link set lo up"]
    for i, (ns, _) in enumerate(hosts):
        lines.append(f"link add v{i} type veth peer name eth0 netns {ns}")
    lines.append(f"link add vctl type veth peer name eth0 netns {ctl_ns}")
    lines += [f"link set v{i} master {BRIDGE} up" for i in range(len(hosts))]
    lines += [f"link set vctl master {BRIDGE} up", f"link set {BRIDGE} up"]
    ip_batch(lines, switch_ns)
    for ns, h in hosts:
        _address(ns, f"{h.address}/{h.prefix_len}")
    _address(ctl_ns, f"{controller[0]}/{controller[1]}")


def _address(ns: str, cidr: str) -> None:
    batch_token(cidr, "lab address")
    ip_batch(["link set lo up", f"addr add {cidr} dev eth0", "link set eth0 up",
              "route add default dev eth0"], ns)


def lab_namespaces(prefix: str) -> list[str]:
    """Named namespaces whose name starts with `prefix` (a lab's), found on disk."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix))


def delete_namespaces(names: Iterable[str]) -> None:
    """Delete namespaces (their veths and the bridge go with them); missing ones are fine."""
    ip_batch([f"netns del {_ns(n)}" for n in names], force=True)
