"""The address plan: positional, stable under growth, and the files made from it (addresses.csv,
hosts, DNS zones checked by named-checkzone, an inventory read by ansible-inventory)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from collections import Counter
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from rscctl.declare import load_build
from rscctl.export import render
from rscctl.export.netdata import inventory, split_host_vars
from rscctl.outputs import write_files
from rscctl.planjson import generate_plan_json, parse_plan_json
from rscctl.planner import build_plan
from rscctl.planner.model import Plan
from tests.ansiblehelp import ansible_env
from tests.conftest import write_build
from tests.netbuild import net_build_dict


def _plan(tmp_path: Path, name: str = "b.yaml", **kw: object) -> Plan:
    doc = net_build_dict(**kw)  # type: ignore[arg-type]
    return build_plan(load_build(str(write_build(tmp_path, doc, name))))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    return _plan(tmp_path_factory.mktemp("addr"))


def _by_iface(plan: Plan) -> dict[tuple[str, str, str], tuple[str, int]]:
    return {(a.device, a.interface, a.network): (a.address, a.prefix_len) for a in plan.addresses}


def test_addresses_csv_columns_exactly(small: Plan) -> None:
    text = render(small, ["csv"])["addresses.csv"].decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["device", "interface", "network", "address", "prefix_len"]
    assert len(rows) - 1 == len(small.addresses)
    for device, _iface, network, address, prefix in rows[1:]:
        net = IPv4Network(small.facts.networks[network].supernet)
        assert IPv4Address(address) in net and int(prefix) >= net.prefixlen, device
        assert str(IPv4Address(address)) == address


def test_positions_give_the_documented_addresses(small: Plan) -> None:
    got = _by_iface(small)
    assert got[("dgx0001", "eno1", "inband")] == ("10.16.1.10", 24)      # SU 1, slot 1
    assert got[("dgx0006", "bmc", "oob")] == ("10.17.2.11", 24)          # SU 2, slot 2
    assert got[("dgx0006", "mlx5_3", "ipoib")] == ("10.35.0.6", 16)      # rail 4, node 6
    assert got[("dgx0001", "mlx5_8", "storage")] == ("10.18.0.10", 24)   # leaf (1, 1)
    assert got[("dgx0001", "mlx5_9", "storage")] == ("10.18.1.10", 24)   # leaf (1, 2)
    assert got[("sleaf-s001-1", "vlan3000", "storage")] == ("10.18.0.1", 24)
    assert got[("mgmt-core2", "vlan1001", "inband")] == ("10.16.1.2", 24)


def test_every_interface_of_every_device_has_an_address(small: Plan) -> None:
    have = {(a.device, a.interface) for a in small.addresses}
    kinds = {m: {p.name: p.kind for p in spec.ports} for m, spec in small.models.items()}
    for d in small.devices:
        for port, kind in kinds[d.model].items():
            if kind in ("uplink",) or (d.role == "oob-switch" and kind == "mgmt"
                                       and port != "eth0"):
                continue
            assert (d.name, port) in have, (d.name, port, kind)


def test_plan_is_deterministic(tmp_path: Path, small: Plan) -> None:
    again = _plan(tmp_path)
    assert again.addresses == small.addresses
    kinds = ["csv", "hosts", "dns", "ansible", "nfs"]
    assert render(again, kinds) == render(small, kinds)


def test_exporters_read_plan_json_as_well(small: Plan) -> None:
    back = parse_plan_json(generate_plan_json(small))
    kinds = ["hosts", "dns", "ansible", "nfs"]
    assert render(back, kinds) == render(small, kinds)


@pytest.mark.parametrize(("before", "after"), [
    ({"sus": 2, "max_sus": 4}, {"sus": 4, "max_sus": 4}),
    ({"sus": 2, "gpu_nodes": 6, "max_sus": 3}, {"sus": 3, "max_sus": 3}),  # partial SU filled
])
def test_growth_keeps_every_address_and_cable(tmp_path: Path, before: dict[str, int],
                                              after: dict[str, int]) -> None:
    small = _plan(tmp_path, "small.yaml", **before)
    big = _plan(tmp_path, "big.yaml", **after)
    old, new = _by_iface(small), _by_iface(big)
    assert {k: new.get(k) for k in old} == old
    cables = {c.cable_id: c for c in big.cables}
    moved = [c.cable_id for c in small.cables
             if c.fabric != "compute" and cables.get(c.cable_id) != c]
    assert moved == []
    assert big.passed


def test_phase1_addresses_unchanged_in_phase2(phase1_plan: Plan, phase2_plan: Plan) -> None:
    old, new = _by_iface(phase1_plan), _by_iface(phase2_plan)
    changed = [k for k, v in old.items() if new.get(k) != v]
    assert changed == []
    cables = {c.cable_id: c for c in phase2_plan.cables}
    assert [c.cable_id for c in phase1_plan.cables if cables.get(c.cable_id) != c] == []


def test_hosts_file_names_every_address_once(small: Plan) -> None:
    text = render(small, ["hosts"])["hosts"].decode()
    lines = [ln.split() for ln in text.splitlines() if ln and not ln.startswith("#")]
    addrs = Counter(ln[0] for ln in lines)
    assert all(n == 1 for n in addrs.values())
    assert set(addrs) - {"127.0.0.1", "::1"} == {a.address for a in small.addresses}
    names = {n: ln[0] for ln in lines for n in ln[1:]}
    planned = [ln for ln in lines if ln[0] not in ("127.0.0.1", "::1")]
    assert len({n for ln in planned for n in ln[1:]}) == sum(len(ln) - 1 for ln in planned)
    assert names["dgx0001"] == names["dgx0001.lab.internal"] == "10.16.1.10"
    assert names["dgx0001-bmc"] == "10.17.1.10"
    assert names["sleaf-s001-1"].startswith("10.17."), "switches resolve on oob"


@pytest.mark.skipif(shutil.which("named-checkzone") is None,
                    reason="named-checkzone (Debian bind9-utils) not installed")
def test_dns_zones_load_in_bind(tmp_path: Path, small: Plan) -> None:
    files = render(small, ["dns"])
    assert "dns/named.conf.zones" in files
    zones = [k for k in files if k.startswith("dns/db.")]
    assert "dns/db.lab.internal" in zones and "dns/db.10.16" in zones
    for rel in zones:
        path = tmp_path / Path(rel).name
        path.write_bytes(files[rel])
        body = rel.removeprefix("dns/db.")
        origin = body if not body[0].isdigit() else ".".join(reversed(body.split("."))) + \
            ".in-addr.arpa"
        out = subprocess.run(["named-checkzone", "-i", "full", origin, str(path)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
    forward = files["dns/db.lab.internal"].decode()
    a_records = sum(1 for ln in forward.splitlines() if "\tIN\tA\t" in ln)
    assert a_records == len(small.addresses) + len({a.device for a in small.addresses})


def test_ansible_reads_the_inventory(tmp_path: Path, small: Plan) -> None:
    write_files(tmp_path, render(small, ["ansible"]))
    inv = tmp_path / "ansible/inventory"
    exe = Path(sys.executable).parent / "ansible-inventory"
    env = ansible_env(tmp_path, ANSIBLE_INVENTORY_ENABLED="yaml")
    out = subprocess.run([str(exe), "-i", str(inv), "--list"], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    host = data["_meta"]["hostvars"]["dgx0001"]
    assert host["ansible_host"] == "10.16.1.10"
    assert host["rsc_domain"] == "lab.internal"
    assert {i["network"] for i in host["rsc_interfaces"]} == {"inband", "oob", "storage", "ipoib"}
    assert [m["unit"] for m in host["rsc_nfs_mounts"]] == ["mnt-checkpoints.mount",
                                                         "mnt-cache.mount"]
    assert sorted(data["su_001"]["hosts"]) == ["dgx0001", "dgx0002", "dgx0003", "dgx0004"]
    assert "gpu_node" in data and "storage_system" in data
    assert inventory(small)["all"]["vars"]["rsc_networks"]["ipoib"]["segment_prefix"] == 16


def test_inventory_yaml_reads_back_as_its_data(small: Plan) -> None:
    import yaml

    files = render(small, ["ansible"])
    text = files["ansible/inventory/hosts.yml"].decode()
    light, host_vars = split_host_vars(inventory(small))
    assert yaml.safe_load(text) == light
    for host, hv in host_vars.items():
        assert yaml.safe_load(files[f"ansible/inventory/host_vars/{host}.yml"]) == hv
    # put back together, the files say exactly what the inventory data says
    for group in light["all"]["children"].values():
        for host, inline in group["hosts"].items():
            if inline is not None:
                inline.update(host_vars[host])
    assert light == inventory(small)
    lines = text.splitlines()
    assert sum(1 for ln in lines if ln.startswith("        dgx0001:")) == 3  # gpu_node, su, nfs
