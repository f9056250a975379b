"""Storage fabric and management networks: shipped numbers, cabling rules, and a broken plan
for every named check of rscctl.planner.network_checks."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rscctl.declare import Build, load_build
from rscctl.errors import UserError
from rscctl.planner import build_plan
from rscctl.planner.checks import run_checks
from rscctl.planner.model import Address, Cable, Plan
from tests.conftest import write_build
from tests.netbuild import net_build_dict

NEW_CHECKS = ("fabric-ports", "endpoints-connected", "addresses-unique",
              "address-plan", "addresses-complete", "storage-bandwidth")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    path = write_build(tmp_path_factory.mktemp("net"), net_build_dict())
    return build_plan(load_build(str(path)))


def findings(plan: Plan, check: str) -> list[dict[str, object]]:
    results = {c.name: c for c in run_checks(plan)}
    return list(results[check].findings)


def _plan_of(tmp_path: Path, **kw: object) -> Plan:
    return build_plan(load_build(str(write_build(tmp_path, net_build_dict(**kw)))))  # type: ignore[arg-type]


# -- shipped builds ---------------------------------------------------------------------------

def test_shipped_plans_pass_every_new_check(phase1_plan: Plan, phase2_plan: Plan) -> None:
    for plan in (phase1_plan, phase2_plan):
        results = {c.name: c for c in plan.checks}
        for name in NEW_CHECKS:
            assert results[name].passed, (plan.build, name, results[name].findings[:3])


def test_phase2_meets_16_tbytes_with_reported_headroom(phase2_plan: Plan) -> None:
    s = phase2_plan.facts.storage
    assert s is not None
    assert s.target_tbytes_s == 16
    assert s.deliverable_tbytes_s >= 16
    assert s.headroom_pct == pytest.approx((s.deliverable_tbytes_s / 16 - 1) * 100, abs=0.1)
    assert s.leaf_oversubscription <= s.max_oversubscription
    assert s.capacity_pb >= 1000, "exabyte scale"
    summary = next(c.summary for c in phase2_plan.checks if c.name == "storage-bandwidth")
    assert "TB/s" in summary and "headroom" in summary


def test_phase1_storage_systems_as_declared(phase1_plan: Plan) -> None:
    assert phase1_plan.facts.storage is not None
    systems = phase1_plan.facts.storage.systems
    assert systems["fa"].capacity_pb >= 175
    assert systems["cache"].capacity_pb >= 46
    assert systems["fb"].capacity_pb >= 10
    roles = Counter(d.role for d in phase1_plan.devices)
    assert roles["storage-system"] == sum(g.count for g in systems.values())
    assert roles["storage-leaf"] == 38 * 2 and roles["storage-spine"] == 8
    assert roles["pdu"] == 2 * len(phase1_plan.racks)


def test_every_dgx_storage_port_reaches_its_sus_leaves(phase1_plan: Plan) -> None:
    devices = phase1_plan.device_index()
    per_node: Counter[str] = Counter()
    for c in phase1_plan.cables:
        if c.fabric == "storage" and devices[c.a_device].role == "gpu-node":
            leaf = devices[c.b_device]
            assert leaf.role == "storage-leaf" and leaf.su == devices[c.a_device].su
            per_node[c.a_device] += 1
    assert set(per_node.values()) == {4} and len(per_node) == 760


def test_fabric_column_in_cabling(phase1_plan: Plan) -> None:
    fabrics = Counter(c.fabric for c in phase1_plan.cables)
    assert {"compute", "storage", "inband", "oob"} <= set(fabrics)
    roles = {d.name: d.role for d in phase1_plan.devices}
    for c in phase1_plan.cables:
        if c.fabric == "oob" and roles[c.a_device] == "gpu-node":
            assert c.a_port == "bmc" and c.media == "utp"
        if c.fabric == "inband" and roles[c.a_device] == "gpu-node":
            assert c.a_port == "eno1"


def test_compute_fabric_untouched_by_new_stages(phase1_build: Build, phase1_plan: Plan) -> None:
    bare = build_plan(phase1_build.model_copy(update={"storage": None, "management": None}),
                      check=False)
    compute = [c for c in phase1_plan.cables if c.fabric == "compute"]
    assert compute == list(bare.cables)
    placed = {d.name: (d.rack, d.ru) for d in phase1_plan.devices}
    assert all(placed[d.name] == (d.rack, d.ru) for d in bare.devices)


# -- bandwidth: max flow against the tier minimum ----------------------------------------------

@pytest.mark.parametrize(("fa", "cache", "expected_tbytes_s"), [
    (2, 2, 0.13),   # the systems limit: 2 x 25 + 2 x 40 GB/s
    (2, 10, 0.2),   # the leaf uplinks limit: 4 leaves x 2 x 200 Gb/s = 200 GB/s
])
def test_max_flow_matches_the_narrowest_tier(tmp_path: Path, fa: int, cache: int,
                                             expected_tbytes_s: float) -> None:
    plan = _plan_of(tmp_path, fa=fa, cache=cache)
    assert plan.facts.storage is not None
    assert plan.facts.storage.deliverable_tbytes_s == pytest.approx(expected_tbytes_s)


def test_target_above_deliverable_fails(tmp_path: Path) -> None:
    plan = _plan_of(tmp_path, target_tbytes_s=0.5)
    found = findings(plan, "storage-bandwidth")
    assert found and "below the target of 0.5 TB/s" in str(found[0]["message"])


# -- a broken plan for each check ---------------------------------------------------------------

def _swap(plan: Plan, cable_id_prefix: str, **changes: str) -> Plan:
    cables = list(plan.cables)
    i = next(i for i, c in enumerate(cables) if c.cable_id.startswith(cable_id_prefix))
    cables[i] = replace(cables[i], **changes)
    return replace(plan, cables=tuple(cables))


def test_leaf_uplink_removed_breaks_oversubscription(small: Plan) -> None:
    cables = tuple(c for c in small.cables if not c.cable_id.startswith("S2-S001-L1-SP01"))
    found = findings(replace(small, cables=cables), "storage-bandwidth")
    assert any("sleaf-s001-1 is oversubscribed 8.00:1" in str(f["message"]) for f in found)


def test_bmc_on_storage_fabric_fails_fabric_ports(small: Plan) -> None:
    broken = _swap(small, "S1-S001-N01-P1", a_port="bmc")
    found = findings(broken, "fabric-ports")
    assert found and "dgx0001:bmc, a bmc port" in str(found[0]["message"])


def test_too_many_cables_fail_port_checks(small: Plan) -> None:
    """More cables than ports means a port used twice or one the model lacks: the compute
    checks (ports-unique, ports-exist) run over every fabric and catch it."""
    extra = tuple(
        Cable(f"X-{i}", "oob", "pdu-h1-a01-01-a", "eth1", "H1-A01-01", "oob-s001-1", str(i),
              "H1-A01-03", "utp", "CAT6-UTP-1M", 1.0, "", "")
        for i in range(3)
    )
    broken = replace(small, cables=small.cables + extra)
    reused = findings(broken, "ports-unique")
    assert reused and "pdu-h1-a01-01-a:eth1" in str(reused[0]["message"])
    assert findings(broken, "ports-exist")  # switch port "0" does not exist


def test_unplugged_bmc_fails_endpoints_connected(small: Plan) -> None:
    cables = tuple(c for c in small.cables
                   if not (c.a_device == "dgx0002" and c.a_port == "bmc"))
    found = findings(replace(small, cables=cables), "endpoints-connected")
    assert [f["message"] for f in found] == ["dgx0002:bmc (bmc) is not cabled"]


def test_missing_uplink_fails_endpoints_connected(small: Plan) -> None:
    cables = tuple(c for c in small.cables if c.cable_id != "MU-inb-s001-1-C2")
    found = findings(replace(small, cables=cables), "endpoints-connected")
    assert any("inb-s001-1 has 1 uplinks to 2 cores" in str(f["message"]) for f in found)


def test_duplicate_address_fails_addresses_unique(small: Plan) -> None:
    first = small.addresses[0]
    dup = Address("dgx0001", "eth9", first.network, first.address, first.prefix_len)
    found = findings(replace(small, addresses=(*small.addresses, dup)), "addresses-unique")
    assert found and first.address in str(found[0]["message"])


def test_address_outside_supernet_fails_address_plan(small: Plan) -> None:
    addrs = list(small.addresses)
    i = next(i for i, a in enumerate(addrs) if a.network == "oob")
    addrs[i] = replace(addrs[i], address="10.99.0.10")
    found = findings(replace(small, addresses=tuple(addrs)), "address-plan")
    assert found and "outside oob's supernet 10.17.0.0/16" in str(found[0]["message"])


def test_malformed_address_fails_address_plan(small: Plan) -> None:
    addrs = list(small.addresses)
    addrs[3] = replace(addrs[3], address="10.18")
    found = findings(replace(small, addresses=tuple(addrs)), "address-plan")
    assert [f["message"] for f in found] == [
        f"{addrs[3].device}:{addrs[3].interface} 10.18 is not an IPv4 address"]


def test_network_address_fails_address_plan(small: Plan) -> None:
    addrs = list(small.addresses)
    i = next(i for i, a in enumerate(addrs) if a.network == "inband")
    addrs[i] = replace(addrs[i], address="10.16.1.0")
    found = findings(replace(small, addresses=tuple(addrs)), "address-plan")
    assert found and "network or broadcast address" in str(found[0]["message"])


def test_overlapping_supernets_fail_address_plan(small: Plan) -> None:
    networks = {**small.facts.networks,
                "oob": replace(small.facts.networks["oob"], supernet="10.16.128.0/17")}
    found = findings(replace(small, facts=replace(small.facts, networks=networks)),
                     "address-plan")
    assert any("overlap" in str(f["message"]) for f in found)


def test_missing_address_fails_addresses_complete(small: Plan) -> None:
    addrs = tuple(a for a in small.addresses
                  if not (a.device == "dgx0003" and a.network == "ipoib"))
    found = findings(replace(small, addresses=addrs), "addresses-complete")
    assert len(found) == 8 and "dgx0003:mlx5_0 is cabled but has no ipoib address" in str(
        found[0]["message"])


# -- declarations: one clear message (exit 2) ---------------------------------------------------

@pytest.mark.parametrize(("patch", "message"), [
    (lambda d: d["storage"].update(spines=3),
     "storage.spines=3 does not divide uplinks_per_leaf=2"),
    (lambda d: d["storage"].update(leaf_model="qm9999"), "storage.leaf_model: unknown model"),
    (lambda d: d["storage"].update(leaves_per_su=3), "storage.leaves_per_su=3 does not divide"),
    (lambda d: d["storage"].update(uplinks_per_leaf=60), "storage.uplinks_per_leaf=60"),
    (lambda d: d["storage"].update(max_oversubscription=2),
     "storage.uplinks_per_leaf=2 oversubscribes each leaf 4:1 (8 node ports), more than "
     "max_oversubscription=2; declare at least 4 uplinks"),
    (lambda d: d["storage"]["systems"][0].update(capacity_pb=100),
     "storage.systems[0].count=2 x 5.5 PB of pure-fa-xl170 is less than capacity_pb=100"),
    (lambda d: d["networks"]["oob"].update(supernet="10.16.0.0/12"), "overlap"),
    (lambda d: d["networks"]["ipoib"].update(segment_prefix=30),
     "networks.ipoib.segment_prefix=30 holds 2 hosts per rail"),
    (lambda d: d["networks"].pop("oob"), "management needs a network named 'oob'"),
    (lambda d: d["storage"].update(nfs={"mount_options": ["vers=4.2"]}), "xprtsec=mtls"),
])
def test_bad_declarations_name_the_field(tmp_path: Path, patch: object, message: str) -> None:
    doc = net_build_dict()
    patch(doc)  # type: ignore[operator]
    with pytest.raises(UserError) as err:
        load_build(str(write_build(tmp_path, doc)))
    assert message in str(err.value)
    assert "build.yaml" in str(err.value)


def test_unknown_nameserver_is_a_user_error(tmp_path: Path) -> None:
    doc = net_build_dict()
    doc["dns"]["nameservers"] = ["ns9"]
    with pytest.raises(UserError, match=r"dns.nameservers: 'ns9' is not a planned host"):
        build_plan(load_build(str(write_build(tmp_path, doc))))


def test_default_nameservers_are_management_hosts(phase1_plan: Plan, tmp_path: Path) -> None:
    assert phase1_plan.facts.dns.nameservers == ("mgmt01", "mgmt02")
    doc = net_build_dict()
    del doc["dns"]["nameservers"]
    plan = build_plan(load_build(str(write_build(tmp_path, doc))))
    assert plan.facts.dns.nameservers == ("ingest01", "ingest02")  # no mgmt host, bastion


def test_storage_row_without_racks_is_a_user_error(tmp_path: Path) -> None:
    doc = net_build_dict()
    doc["storage"]["systems"][0]["rows"] = ["NOPE"]
    with pytest.raises(UserError, match=r"storage.systems\[0\] \(fa\): no racks of kind storage"):
        build_plan(load_build(str(write_build(tmp_path, doc))))


# -- any valid build with all four networks ---------------------------------------------------

@st.composite
def net_builds(draw: st.DrawFn) -> tuple[dict[str, object], dict[str, object]]:
    """A random small build and the same build grown by one full SU (same reserve)."""
    per_su = draw(st.sampled_from([2, 4, 6, 8, 12, 20]))
    sus = draw(st.integers(1, 3))
    max_sus = sus + 1 + draw(st.integers(0, 2))
    last = draw(st.integers(1, per_su))
    fa, cache = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    uplinks = 2 * -(-per_su * 2 // 10)        # 2 node ports per leaf at <= 5:1, even
    kw = {"nodes_per_su": per_su, "max_sus": max_sus, "target_tbytes_s": 0.01, "fa": fa,
          "cache": cache, "uplinks": uplinks}
    before = net_build_dict(sus=sus, gpu_nodes=(sus - 1) * per_su + last, **kw)  # type: ignore[arg-type]
    after = net_build_dict(sus=sus + 1, **kw)  # type: ignore[arg-type]
    return before, after


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net_builds())
def test_any_net_build_passes_and_grows_without_moving(
        tmp_path: Path, docs: tuple[dict[str, object], dict[str, object]]) -> None:
    before, after = docs
    small = build_plan(load_build(str(write_build(tmp_path, before, "small.yaml"))))
    big = build_plan(load_build(str(write_build(tmp_path, after, "big.yaml"))))
    for plan in (small, big):
        assert [c.name for c in plan.checks if not c.passed] == []
    grown = {(a.device, a.interface, a.network): a for a in big.addresses}
    assert [a for a in small.addresses if grown.get((a.device, a.interface, a.network)) != a] == []
    cables = {c.cable_id: c for c in big.cables}
    assert [c.cable_id for c in small.cables if cables.get(c.cable_id) != c] == []


def test_management_switches_where_declared(phase1_plan: Plan) -> None:
    racks = phase1_plan.rack_index()
    devices = phase1_plan.devices
    for d in devices:
        rack = racks[d.rack]
        if d.role in ("inband-switch", "oob-switch"):
            if d.su is not None:
                assert rack.kind == "network" and rack.su == d.su, d.name
            else:
                assert rack.kind == "management", d.name
        if d.role == "mgmt-core":
            assert rack.kind == "management" and rack.row == "SP"
    pods = Counter((d.su, d.role) for d in devices if d.su and d.role.endswith("-switch"))
    assert {n for (su, role), n in pods.items() if role == "inband-switch"} == {1}
    assert {n for (su, role), n in pods.items() if role == "oob-switch"} == {2}  # 53 endpoints
    uplinks = Counter(c.a_device for c in phase1_plan.cables if c.cable_id.startswith("MU-"))
    switches = [d.name for d in devices if d.role in ("inband-switch", "oob-switch")]
    assert {uplinks[s] for s in switches} == {2}
