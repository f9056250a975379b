"""A throwaway packet lab for the firewall test: one network namespace per host of each zone,
two bridges ("switches") and a border router, all created here and deleted afterwards.

inside switch:  management, bastion, compute (x2), ingest, storage, oob hosts + border `in`
outside switch: internet host (198.18.0.0/15), production host + border `out`
No veth end ever lives in the host's own namespace, so nothing can be routed out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

BORDER_IN = "169.254.0.1"
BORDER_OUT = "169.254.1.1"

# Binds what it can and says what it could not ("ready" and the JSON list of busy kind/port
# pairs): in a lab container sshd holds tcp/22, and it accepts, so tcp/22 still answers as a
# listener would. The namespaces of tests/firewall hold nothing, so there the list is empty.
LISTENER = r"""
import json, selectors, socket, sys
ports = [int(p) for p in sys.argv[1:]]
sel = selectors.DefaultSelector(); busy = []
for p in ports:
    for kind in ("tcp", "udp"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else
                          socket.SOCK_DGRAM)
        if kind == "tcp":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", p))
        except OSError:
            busy.append([kind, p]); s.close(); continue
        if kind == "tcp":
            s.listen(256)
        s.setblocking(False); sel.register(s, selectors.EVENT_READ, kind)
print("ready " + json.dumps(busy), flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            if key.data == "tcp":
                c, _ = s.accept(); c.close()
            else:
                data, peer = s.recvfrom(64); s.sendto(data, peer)
        except OSError:
            pass
"""

PROBER = r"""
import json, selectors, socket, sys, time
probes = json.loads(sys.stdin.read()); timeout = float(sys.argv[1])
sel = selectors.DefaultSelector(); result = {}
for i, (addr, proto, port) in enumerate(probes):
    key = f"{addr} {proto} {port}"; result[key] = False
    try:
        if proto == "tcp":
            s = socket.socket(); s.setblocking(False)
            s.connect_ex((addr, port))
            sel.register(s, selectors.EVENT_WRITE, key)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setblocking(False)
            s.connect((addr, port)); s.send(b"probe")
            sel.register(s, selectors.EVENT_READ, key)
    except OSError:
        pass
end = time.monotonic() + timeout
while sel.get_map() and time.monotonic() < end:
    for k, _ in sel.select(max(0.0, end - time.monotonic())):
        s = k.fileobj
        if s.type == socket.SOCK_STREAM:
            result[k.data] = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        else:
            try:
                result[k.data] = s.recv(64) == b"probe"
            except OSError:
                result[k.data] = False
        sel.unregister(s); s.close()
print(json.dumps(result))
"""


def sh(*args: str, check: bool = True, stdin: str | None = None) -> str:
    proc = subprocess.run(list(args), capture_output=True, text=True, input=stdin, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


@dataclass
class Host:
    name: str  # short label in the matrix
    zone: str
    address: IPv4Address
    inside: bool
    ruleset: str | None


@dataclass
class Lab:
    prefix: str
    hosts: list[Host]
    namespaces: list[str] = field(default_factory=list)
    listeners: list[subprocess.Popen[str]] = field(default_factory=list)

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def run(self, name: str, *args: str, check: bool = True) -> str:
        return sh("ip", "netns", "exec", self.ns(name), *args, check=check)

    def add_ns(self, name: str) -> None:
        sh("ip", "netns", "add", self.ns(name))
        self.namespaces.append(self.ns(name))
        self.run(name, "ip", "link", "set", "lo", "up")
        # No ICMP redirects: a router that sends them (before its forward hook runs) would
        # teach two hosts on one segment to bypass it.
        self.run(name, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0",
                 "net.ipv4.conf.default.rp_filter=0", "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0",
                 "net.ipv4.conf.all.accept_redirects=0",
                 "net.ipv4.conf.default.accept_redirects=0")

    def link(self, a: str, a_if: str, b: str, b_if: str) -> None:
        sh("ip", "link", "add", a_if, "netns", self.ns(a), "type", "veth",
           "peer", "name", b_if, "netns", self.ns(b))
        self.run(a, "ip", "link", "set", a_if, "up")
        self.run(b, "ip", "link", "set", b_if, "up")

    def teardown(self) -> None:
        for p in self.listeners:
            p.kill()
            p.wait()
        for ns in reversed(self.namespaces):
            sh("ip", "netns", "del", ns, check=False)


def build(lab: Lab, networks: list[IPv4Network], rulesets: dict[str, Path]) -> None:
    """Wire the namespaces, give every host its address and routes, load the rulesets."""
    for sw in ("swin", "swout"):
        lab.add_ns(sw)
        lab.run(sw, "ip", "link", "add", "br0", "type", "bridge")
        lab.run(sw, "ip", "link", "set", "br0", "up")
    lab.add_ns("border")
    lab.run("border", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    for side, sw, addr in (("in", "swin", BORDER_IN), ("out", "swout", BORDER_OUT)):
        lab.link("border", side, sw, f"b{side}")
        lab.run(sw, "ip", "link", "set", f"b{side}", "master", "br0")
        lab.run("border", "ip", "addr", "add", f"{addr}/32", "dev", side)
    for net in networks:
        lab.run("border", "ip", "route", "add", str(net), "dev", "in")
    lab.run("border", "ip", "route", "add", "default", "dev", "out")
    for i, h in enumerate(lab.hosts):
        lab.add_ns(h.name)
        sw = "swin" if h.inside else "swout"
        lab.link(h.name, "eth0", sw, f"p{i}")
        lab.run(sw, "ip", "link", "set", f"p{i}", "master", "br0")
        lab.run(h.name, "ip", "addr", "add", f"{h.address}/32", "dev", "eth0")
        gw = BORDER_IN if h.inside else BORDER_OUT
        lab.run(h.name, "ip", "route", "add", "default", "via", gw, "dev", "eth0", "onlink")
        if h.inside:
            for net in networks:
                lab.run(h.name, "ip", "route", "add", str(net), "dev", "eth0")
        if h.ruleset:
            lab.run(h.name, "nft", "-f", str(rulesets[h.ruleset]))
    lab.run("border", "nft", "-f", str(rulesets["border"]))


def listen(lab: Lab, ports: list[int]) -> None:
    for h in lab.hosts:
        p = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns(h.name), sys.executable, "-c", LISTENER,
             *map(str, ports)], stdout=subprocess.PIPE, text=True,
        )
        lab.listeners.append(p)
    for p in lab.listeners:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready []"


def probe(lab: Lab, ports: list[int], timeout: float) -> dict[tuple[str, str, str, int], bool]:
    """Every host to every other host, every port, TCP and UDP; all sources in parallel."""
    procs = {}
    for src in lab.hosts:
        todo = [(str(d.address), proto, port) for d in lab.hosts if d is not src
                for proto in ("tcp", "udp") for port in ports]
        procs[src.name] = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns(src.name), sys.executable, "-c", PROBER,
             str(timeout)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert procs[src.name].stdin is not None
        procs[src.name].stdin.write(json.dumps(todo))
        procs[src.name].stdin.close()
    by_addr = {str(h.address): h.name for h in lab.hosts}
    out: dict[tuple[str, str, str, int], bool] = {}
    for src, p in procs.items():
        assert p.stdout is not None
        result = json.loads(p.stdout.read())
        p.wait()
        for key, ok in result.items():
            addr, proto, port = key.split()
            out[(src, by_addr[addr], proto, int(port))] = ok
    return out


PREFIX = "rfw"


def sweep_stale() -> None:
    """Delete namespaces a killed earlier run of this lab left (its pid is gone)."""
    for line in sh("ip", "netns", "list").splitlines():
        name = line.split()[0] if line.strip() else ""
        pid = name[len(PREFIX):].split("x", 1)[0]
        if not name.startswith(PREFIX) or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            sh("ip", "netns", "del", name, check=False)
        except PermissionError:
            pass


@contextmanager
def lab_of(hosts: list[Host]) -> Iterator[Lab]:
    """A lab whose namespaces are named PREFIX<pid>x<ms>-<host>: parallel runs never clash."""
    sweep_stale()
    lab = Lab(f"{PREFIX}{os.getpid()}x{int(time.monotonic() * 1000) % 100000}", hosts)
    try:
        yield lab
    finally:
        lab.teardown()
