"""Real packets: one namespace per host of each zone, the rendered rulesets loaded, the whole
matrix probed (every source x destination x declared port plus a sample of others, TCP and
UDP). The observed matrix must equal the policy exactly.
"""

from __future__ import annotations

import os
import shutil
import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from rscctl.firewall import intervals as iv
from rscctl.firewall.render import render_rulesets
from rscctl.firewall.zones import ZoneMap, resolve_zones
from rscctl.planner.model import Plan
from tests.firewall import netlab

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"),
                       reason="needs root, nft and ip (network namespaces)"),
]

INTERNET_HOST = IPv4Address("198.18.0.10")  # RFC 2544 benchmarking range, never routed here
OTHER_PORTS = [1, 80, 3306, 5432, 8080, 65535]
TIMEOUT_S = 1.5

Key = tuple[str, str, str, int]


def probe_ports(zm: ZoneMap) -> list[int]:
    """Every declared port (range ends and middle), its neighbours, and some others."""
    ports = set(OTHER_PORTS)
    for f in zm.policy.flows:
        for lo, hi in f.port_ranges:
            ports.update({lo, hi, (lo + hi) // 2, lo - 1, hi + 1})
    return sorted(p for p in ports if 1 <= p <= 65535)


def lab_hosts(zm: ZoneMap) -> list[netlab.Host]:
    """One host per zone; two where the zone talks to itself."""
    selfish = {src for f in zm.policy.flows for src in f.from_ if src in f.to}
    hosts = []
    for z in zm.zones:
        if z.kind == "internet":
            assert iv.contains(zm.internet, int(INTERNET_HOST))
            hosts.append(netlab.Host("internet", z.name, INTERNET_HOST, False, None))
            continue
        for i, addr in enumerate(z.hosts(2 if z.name in selfish else 1)):
            name = z.name if i == 0 else f"{z.name}{i + 1}"
            hosts.append(netlab.Host(name, z.name, addr, z.ruleset is not None, z.ruleset))
    return hosts


def expected(zm: ZoneMap, hosts: list[netlab.Host], ports: list[int]) -> dict[Key, bool]:
    """The policy's answer for every probe: a declared flow from the source's zone."""
    out = {}
    for s in hosts:
        for d in hosts:
            if s is d:
                continue
            for proto in ("tcp", "udp"):
                for port in ports:
                    out[(s.name, d.name, proto, port)] = any(
                        s.zone in f.from_ and d.zone in f.to and f.proto == proto
                        and any(lo <= port <= hi for lo, hi in f.port_ranges)
                        for f in zm.policy.flows
                    )
    return out


def matrix(hosts: list[netlab.Host], seen: dict[Key, bool]) -> str:
    """Rows: sources; columns: destinations; cells: the ports that opened."""
    names = [h.name for h in hosts]
    cells = {
        (s, d): " ".join(f"{proto[0]}{port}" for (s2, d2, proto, port), ok in sorted(seen.items())
                         if ok and s2 == s and d2 == d) or "-"
        for s in names for d in names if s != d
    }
    width = max(len(c) for c in cells.values())
    head = " " * 11 + " ".join(f"{n:<{width}}" for n in names)
    lines = [head]
    for s in names:
        row = " ".join(f"{cells.get((s, d), 'x'):<{width}}" for d in names)
        lines.append(f"{s:<10} {row}")
    return "\n".join(lines)


def test_observed_matrix_equals_policy(phase1_plan: Plan, tmp_path: Path) -> None:
    zm = resolve_zones(phase1_plan)
    paths = {}
    for name, text in render_rulesets(phase1_plan).items():
        paths[name] = tmp_path / f"{name}.nft"
        paths[name].write_text(text)
    hosts = lab_hosts(zm)
    ports = probe_ports(zm)
    want = expected(zm, hosts, ports)
    start = time.perf_counter()
    with netlab.lab_of(hosts) as lab:
        netlab.build(lab, list(zm.networks.values()), paths)
        netlab.listen(lab, ports)
        seen = netlab.probe(lab, ports, TIMEOUT_S)
    elapsed = time.perf_counter() - start
    print(f"\nobserved matrix ({len(seen)} probes in {elapsed:.1f} s; t=tcp, u=udp):")
    print(matrix(hosts, seen))
    assert seen.keys() == want.keys()
    wrong = sorted(k for k in want if seen[k] != want[k])
    assert not wrong, (
        f"{len(wrong)} of {len(want)} probes differ from the policy, e.g. "
        + "; ".join(f"{s}->{d} {p}/{n}: {'open' if seen[(s, d, p, n)] else 'blocked'}"
                    for s, d, p, n in wrong[:10])
    )
    assert any(want.values()) and not all(want.values())


def test_lab_leaves_nothing_behind(phase1_plan: Plan) -> None:
    """Even when the body fails, every namespace the lab made is gone."""
    zm = resolve_zones(phase1_plan)
    hosts = lab_hosts(zm)[:2]
    prefix = ""
    with pytest.raises(RuntimeError), netlab.lab_of(hosts) as lab:
        prefix = lab.prefix
        lab.add_ns("border")
        raise RuntimeError("boom")
    assert prefix and prefix not in netlab.sh("ip", "netns", "list")
