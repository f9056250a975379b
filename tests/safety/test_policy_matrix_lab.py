"""After `rscctl apply` (the whole site.yml) on the lab, packets between the lab's hosts pass
exactly where the plan's policy says (issue 12, item 4): real podman containers, the rulesets
the firewall role loaded, probes sent from inside each container's network namespace with the
firewall tests' prober (tests/firewall/netlab.py).

The expected matrix comes from the plan alone: each lab host's zone is the policy zone holding
its lab address (resolve_zones), a probe is open when a flow of the policy covers (source zone,
destination zone, protocol, port). The lab has one segment and no border router, so every
probe meets the source's output chain and the destination's input chain; probes between two
hosts that load no ruleset (the zone hosts `internet` and `proddc`, the storage system) are
left out: only the border would stop them, and the border is proven by
tests/test_firewall_packets.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from rscctl.firewall.render import host_rulesets
from rscctl.firewall.zones import ZoneMap, resolve_zones
from rscctl.lab.lifecycle import engine
from rscctl.lab.state import LabState
from rscctl.planjson import read_plan
from rscctl.planner.model import Plan
from tests.firewall import netlab
from tests.lab.fixtures import needs_lab, planned_lab
from tests.test_firewall_packets import probe_ports

pytestmark = [pytest.mark.lab, needs_lab]

RSCCTL = str(Path(sys.executable).parent / "rscctl")
# Generous: the machine is shared; a blocked probe costs only this wait, once per source.
TIMEOUT_S = 4.0
CHUNK = 400  # probes per prober process (each holds one socket per probe)

Key = tuple[str, str, str, int]


class Matrix:
    """The lab's hosts as the policy sees them: zone, and whether the host loads a ruleset."""

    def __init__(self, lab: LabState, plan: Plan) -> None:
        assert lab.layout is not None
        self.lab, self.zm = lab, resolve_zones(plan)
        self.hosts = lab.layout.hosts
        self.zone = {h.name: zone_of(self.zm, h.address) for h in self.hosts}
        by_role = host_rulesets(plan, self.zm)
        planned = {d.name for d in plan.devices}
        self.firewalled = {h.name for h in self.hosts
                           if h.name in planned and h.role in by_role}
        self.ports = probe_ports(self.zm)

    def expected(self) -> dict[Key, bool]:
        """A probe is open when a flow covers it; pairs with no ruleset on either end are out."""
        out = {}
        flows = self.zm.policy.flows
        for s in self.hosts:
            for d in self.hosts:
                if s is d or not ({s.name, d.name} & self.firewalled):
                    continue
                zs, zd = self.zone[s.name], self.zone[d.name]
                for proto in ("tcp", "udp"):
                    for port in self.ports:
                        out[(s.name, d.name, proto, port)] = any(
                            zs in f.from_ and zd in f.to and f.proto == proto
                            and any(lo <= port <= hi for lo, hi in f.port_ranges)
                            for f in flows)
        return out

    def probe(self, keys: list[Key], timeout: float = TIMEOUT_S) -> dict[Key, bool]:
        """netlab's prober in each source's namespace, all sources at once."""
        addr = {h.name: str(h.address) for h in self.hosts}
        name_of = {v: k for k, v in addr.items()}
        by_src: dict[str, list[tuple[str, str, int]]] = {}
        for s, d, proto, port in keys:
            by_src.setdefault(s, []).append((addr[d], proto, port))
        procs = []
        for src, todo in sorted(by_src.items()):
            for i in range(0, len(todo), CHUNK):
                p = subprocess.Popen(
                    ["ip", "netns", "exec", self.lab.netns_of(src), sys.executable, "-c",
                     netlab.PROBER, str(timeout)], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, text=True)
                assert p.stdin is not None
                p.stdin.write(json.dumps(todo[i:i + CHUNK]))
                p.stdin.close()
                procs.append((src, p))
        out: dict[Key, bool] = {}
        for src, p in procs:
            assert p.stdout is not None
            result = json.loads(p.stdout.read())
            assert p.wait() == 0
            for key, ok in result.items():
                a, proto, port = key.split()
                out[(src, name_of[a], proto, int(port))] = ok
        return out

    def observe(self, want: dict[Key, bool]) -> dict[Key, bool]:
        """Every probe once; the ones found closed that the policy opens once more, longer (a
        late answer on a loaded machine; a dropped packet stays dropped)."""
        seen = self.probe(sorted(want))
        again = [k for k, ok in seen.items() if want[k] and not ok]
        if again:
            seen.update(self.probe(again, timeout=3 * TIMEOUT_S))
        return seen


def zone_of(zm: ZoneMap, address: IPv4Address) -> str | None:
    """The zone whose prefixes hold the address; the internet zone outside the enclave."""
    for z in zm.zones:
        if any(address in net for net in z.prefixes):
            return z.name
    enclave = list(zm.networks.values())
    if any(address in net for net in enclave):
        return None
    return next(z.name for z in zm.zones if z.kind == "internet")


@pytest.fixture(scope="module")
def applied(lab: LabState, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab after the whole site.yml: the plan's rulesets loaded and proven by apply."""
    plan, secrets, runs = planned_lab(tmp_path_factory, "matrix")
    res = subprocess.run([RSCCTL, "apply", "lab", "--out", str(plan), "--lab",
                          str(lab.state_dir), "--secrets", str(secrets),
                          "--runs-dir", str(runs), "--batch", "100%"],
                         capture_output=True, text=True, timeout=1200, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "isolation proved" in res.stdout.replace("\n", " "), res.stdout[-2000:]
    return plan


@pytest.fixture(scope="module")
def mx(lab: LabState, applied: Path) -> Iterator[Matrix]:
    """The matrix of the applied plan, with a listener on every probed port of every host."""
    m = Matrix(lab, read_plan(applied / "plan.json"))
    procs = []
    try:
        for h in m.hosts:
            p = subprocess.Popen(["ip", "netns", "exec", lab.netns_of(h.name), sys.executable,
                                  "-c", netlab.LISTENER, *map(str, m.ports)],
                                 stdout=subprocess.PIPE, text=True)
            procs.append(p)
            assert p.stdout is not None
            line = p.stdout.readline().split(" ", 1)
            assert line[0] == "ready", line
            busy = {tuple(b) for b in json.loads(line[1])}
            assert busy <= {("tcp", 22)}, (h.name, busy)  # sshd's; nothing else listens
        yield m
    finally:
        for p in procs:
            p.kill()
            p.wait()


def report(m: Matrix, want: dict[Key, bool], seen: dict[Key, bool]) -> str:
    wrong = sorted(k for k in want if seen.get(k) != want[k])
    return f"{len(wrong)} of {len(want)} probes differ from the policy, e.g. " + "; ".join(
        f"{s} ({m.zone[s]}) -> {d} ({m.zone[d]}) {p}/{n}: "
        f"{'open' if seen.get((s, d, p, n)) else 'blocked'}" for s, d, p, n in wrong[:12])


def test_probes_between_the_lab_hosts_give_exactly_the_policys_matrix(mx: Matrix) -> None:
    want = mx.expected()
    # the lab covers what the policy speaks about: every zone with a ruleset has a host
    # loading it, the management host reaches the bastion, some probes open, most blocked
    assert {mx.zone[h] for h in mx.firewalled} == {"bastion", "compute", "ingest",
                                                   "management"}
    assert want[("mgmt01", "bastion01", "tcp", 22)] and want[("proddc", "ingest01", "tcp", 443)]
    assert 0 < sum(want.values()) < len(want) / 4
    t0 = time.perf_counter()
    seen = mx.observe(want)
    took = time.perf_counter() - t0
    print(f"\n{len(seen)} probes between {len(mx.hosts)} lab hosts in {took:.1f} s, "
          f"{sum(seen.values())} open")
    assert seen.keys() == want.keys()
    assert seen == want, report(mx, want, seen)


def test_a_flow_dropped_on_one_node_shows_in_the_matrix(lab: LabState, mx: Matrix) -> None:
    """The probes see a hand edit: one flow's rule deleted from one node's input chain closes
    exactly that flow's ports to that node, from its zone's hosts; the planned ruleset is
    loaded back after."""
    host, flow = "dgx0003", "rendezvous"
    podman = engine(lab.state_dir)
    name = lab.netns_of(host)

    def node(command: str) -> str:
        return str(podman("exec", name, "sh", "-c", command).stdout)

    listing = json.loads(node("nft -j -a list chain inet rscctl input"))
    handles = [r["rule"]["handle"] for r in listing["nftables"] if "rule" in r
               and r["rule"].get("comment", "").startswith(f"flow {flow}:")]
    assert len(handles) == 1, listing
    before = node("nft list table inet rscctl")
    want = {k: v for k, v in mx.expected().items() if k[1] == host}
    try:
        node(f"nft delete rule inet rscctl input handle {handles[0]}")
        seen = mx.observe(want)
    finally:
        node("nft -f /var/lib/rscctl/firewall/planned.nft")
    assert node("nft list table inet rscctl") == before
    closed = {k for k in want if want[k] and not seen[k]}
    f = next(f for f in mx.zm.policy.flows if f.name == flow)
    assert closed == {k for k in want if want[k] and mx.zone[k[0]] in f.from_
                      and k[2] == f.proto
                      and any(lo <= k[3] <= hi for lo, hi in f.port_ranges)}
    assert closed and all(seen[k] == want[k] for k in want if k not in closed)
