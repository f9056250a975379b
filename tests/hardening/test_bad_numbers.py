"""Class 3 of issue 9: no NaN or infinity anywhere, every number bounded by what a datacenter
can hold (10^9 racks is a message, not a MemoryError), DNS serial and TTL within what BIND
loads, and the external prefixes bounded together, not only one by one."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from rscctl.declare import load_build
from tests.conftest import write_build
from tests.hardening.refusals import Doc, assert_refused, lab, set_path, small

NAN, INF, BIG = float("nan"), float("inf"), 10**9


def _set(base: Callable[[], Doc], dotted: str, value: object) -> Callable[[], Doc]:
    return lambda: set_path(base(), dotted, value)


def _externals(*zones: list[IPv4Network]) -> Callable[[], Doc]:
    """Lab whose external zones (production, then dc1, dc2 ...) hold many narrow prefixes
    each (none wider than /8)."""
    def make() -> Doc:
        doc = lab()
        doc["policy"]["zones"][1]["prefixes"] = [str(n) for n in zones[0]]
        for i, nets in enumerate(zones[1:], 1):
            doc["policy"]["zones"].append({"name": f"dc{i}", "kind": "external",
                                           "prefixes": [str(n) for n in nets]})
        return doc
    return make


def _slash16s(first: str, count: int) -> list[IPv4Network]:
    return list(IPv4Network(first).subnets(new_prefix=16))[:count]


CASES: list[tuple[str, Callable[[], Doc], list[str]]] = [
    ("row-y-nan", _set(small, "floorplan.halls.0.rows.1.y", NAN),
     ["floorplan.halls[0].rows[1].y", "finite number"]),
    ("row-y-inf", _set(small, "floorplan.halls.0.rows.1.y", -INF),
     ["floorplan.halls[0].rows[1].y", "finite number"]),
    ("row-y-far", _set(small, "floorplan.halls.0.rows.1.y", 1e12),
     ["floorplan.halls[0].rows[1].y", "less than or equal to 1000"]),
    ("origin-nan", _set(small, "floorplan.halls.0.origin_m", [NAN, 0]),
     ["floorplan.halls[0].origin_m[0]", "finite number"]),
    ("rack-units-huge", _set(small, "floorplan.rack_units", BIG),
     ["floorplan.rack_units", "less than or equal to 60"]),
    ("rack-count-huge", _set(small, "floorplan.halls.0.rows.0.racks.0.count", BIG),
     ["floorplan.halls[0].rows[0].racks[0].count", "less than or equal to 999"]),
    ("rack-at-huge", _set(small, "floorplan.halls.0.rows.0.racks.0.at", BIG),
     ["floorplan.halls[0].rows[0].racks[0].at", "less than or equal to 999"]),
    ("first-position-huge", _set(small, "floorplan.halls.0.rows.1.first_position", BIG),
     ["floorplan.halls[0].rows[1].first_position", "less than or equal to 999"]),
    ("row-su-huge", _set(small, "floorplan.halls.0.rows.1.sus", [BIG]),
     ["floorplan.halls[0].rows[1].sus[0]", "less than or equal to 1000"]),
    ("max-sus-huge", _set(small, "compute.max_sus", BIG),
     ["compute.max_sus", "less than or equal to 1000"]),
    ("gpu-nodes-huge", _set(small, "compute.gpu_nodes", BIG),
     ["compute.gpu_nodes", "less than or equal to 100000"]),
    ("spines-huge", _set(small, "compute.spines", BIG),
     ["compute.spines", "less than or equal to 1024"]),
    ("rack-power-inf", _set(small, "floorplan.rack_power_kw", INF),
     ["floorplan.rack_power_kw", "finite number"]),
    ("tray-height-huge", _set(small, "floorplan.route", {"tray_height_m": 1e9}),
     ["floorplan.route.tray_height_m", "less than or equal to 10000"]),
    ("slack-nan", _set(small, "floorplan.route", {"slack_m": NAN}),
     ["floorplan.route.slack_m", "finite number"]),
    ("model-rack-units-huge", _set(lab, "catalog.models.dgx-a100.rack_units", BIG),
     ["catalog.models.dgx-a100.rack_units", "less than or equal to 60"]),
    ("model-power-inf", _set(lab, "catalog.models.dgx-a100.power_kw", INF),
     ["catalog.models.dgx-a100.power_kw", "finite number"]),
    ("port-speed-nan", _set(lab, "catalog.models.dgx-a100.ports.0.speed_gbps", NAN),
     ["catalog.models.dgx-a100.ports[0].speed_gbps", "finite number"]),
    ("switch-ports-huge", _set(lab, "catalog.models.qm8790.switch_ports", BIG),
     ["catalog.models.qm8790.switch_ports", "less than or equal to 4096"]),
    ("cable-length-inf", _set(lab, "catalog.cables.0.max_length_m", INF),
     ["catalog.cables[0].max_length_m", "finite number"]),
    ("cable-part-length-nan", _set(lab, "catalog.cables.0.parts", {NAN: "MCP1650-H001E30"}),
     ["catalog.cables[0].parts", "finite number"]),
    ("storage-count-huge", _set(lab, "storage.systems.0.count", BIG),
     ["storage.systems[0].count", "less than or equal to 10000"]),
    ("target-nan", _set(lab, "storage.target_tbytes_s", NAN),
     ["storage.target_tbytes_s", "finite number"]),
    ("server-count-huge", _set(lab, "servers.0.count", BIG),
     ["servers[0].count", "less than or equal to 999"]),
    ("cert-days-huge", _set(lab, "storage.nfs", {"cert_days": BIG}),
     ["storage.nfs.cert_days", "less than or equal to 36500"]),
    ("dns-serial-over-32-bits", _set(lab, "dns.serial", 2**32),
     ["dns.serial", "less than or equal to 4294967295"]),
    ("dns-ttl-over-31-bits", _set(lab, "dns.ttl", 2**31),
     ["dns.ttl", "less than or equal to 2147483647"]),
    ("drop-log-rate-huge", _set(lab, "policy.drop_log", {"rate_per_minute": BIG}),
     ["policy.drop_log.rate_per_minute", "less than or equal to 1000000"]),
    ("externals-union-one-zone", _externals(_slash16s("11.0.0.0/8", 256)
                                            + _slash16s("12.0.0.0/8", 2)),
     ["policy: zones[production].prefixes", "together cover 16,908,288 addresses", "/8",
      "production datacenters' own prefixes"]),
    ("externals-union-two-zones", _externals(_slash16s("11.0.0.0/8", 200),
                                             _slash16s("12.0.0.0/8", 100)),
     ["zones dc1, production together cover 19,660,800 addresses", "internet"]),
]


@pytest.mark.parametrize("case,make,words", CASES, ids=[c[0] for c in CASES])
def test_bad_number_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    case: str, make: Callable[[], Doc], words: list[str],
) -> None:
    assert_refused(tmp_path, capsys, make(), words)


def test_externals_within_bound_pass(tmp_path: Path) -> None:
    """The bound is on the union: 256 /16s in two zones that make up one /8 are accepted."""
    nets = _slash16s("11.0.0.0/8", 256)
    doc = _externals(nets[:128], nets[128:])()
    load_build(str(write_build(tmp_path, doc)))
