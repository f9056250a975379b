"""The lab's pure parts: which hosts, which addresses, the files ssh and Ansible read."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rscctl.cli import app
from rscctl.declare import Build, load_build
from rscctl.errors import UserError
from rscctl.lab import access
from rscctl.lab.hosts import INTERNET, lab_id, lab_layout
from rscctl.lab.image import Recipe
from rscctl.planner import build_plan
from rscctl.planner.model import Address, Plan
from tests.conftest import small_build_dict, write_build


@pytest.fixture(scope="module")
def lab_plan() -> Plan:
    return build_plan(load_build("lab"))


def test_lab_build_plans_and_passes(lab_plan: Plan) -> None:
    assert lab_plan.passed, [c for c in lab_plan.checks if not c.passed]
    roles = {d.role for d in lab_plan.devices}
    assert {"gpu-node", "bastion", "ingest-gateway", "storage-system"} <= roles


def test_layout_hosts_and_addresses(lab_plan: Plan) -> None:
    build = load_build("lab")
    layout = lab_layout(build, lab_plan)
    names = [h.name for h in layout.hosts]
    nodes = [d.name for d in lab_plan.devices if d.role == "gpu-node"]
    assert names[: len(nodes)] == nodes
    assert {"internet", "proddc"} <= set(names)
    assert "leaf-s001-r1" not in names  # switches are not lab hosts
    addrs = [h.address for h in layout.hosts]
    assert len(set(addrs)) == len(addrs)
    assert layout.controller not in addrs
    inband = build.networks["inband"].supernet
    planned = {a.device: a for a in lab_plan.addresses if a.network == "inband"}
    assert planned, "topology/lab.yaml declares management: the plan gives in-band addresses"
    for h in layout.hosts:
        if h.zone_host:
            continue
        assert h.address in inband and h.prefix_len >= inband.prefixlen
        if h.name in planned:
            assert (str(h.address), h.prefix_len) == (planned[h.name].address,
                                                      planned[h.name].prefix_len)
    storage = [h for h in layout.hosts if h.role == "storage-system"]
    assert storage and all(h.name not in planned for h in storage)  # numbered by the lab
    internet = next(h for h in layout.hosts if h.name == "internet")
    assert internet.address in INTERNET and internet.group == "lab_outside"
    assert layout.controller in inband
    assert lab_layout(build, lab_plan) == layout  # deterministic


def test_layout_takes_the_address_plan(lab_plan: Plan) -> None:
    """When the plan has in-band addresses, the lab uses them, not its own allocation."""
    build = load_build("lab")
    planned = (Address("dgx0002", "eno1", "inband", "10.240.3.7", 24),
               Address("dgx0002", "mlx5_8", "storage", "10.242.0.9", 24))
    layout = lab_layout(build, replace(lab_plan, addresses=planned))
    by = {h.name: h for h in layout.hosts}
    assert (by["dgx0002"].address, by["dgx0002"].prefix_len) == (IPv4Address("10.240.3.7"), 24)
    assert by["dgx0001"].address != by["dgx0002"].address


def test_layout_needs_an_inband_network(tmp_path: Path) -> None:
    doc = small_build_dict(sus=1, nodes_per_su=2, spines=1)
    build = load_build(str(write_build(tmp_path, doc)))
    with pytest.raises(UserError, match=r"networks\.inband is missing"):
        lab_layout(build, build_plan(build))


def test_production_host_in_the_declared_external_zone(phase1_build: Build,
                                                      phase1_plan: Plan) -> None:
    """The production-datacenter host sits in the policy's external prefix, when declared."""
    policy = getattr(phase1_build, "policy", None)
    if policy is None:
        pytest.skip("phase1 declares no firewall policy yet")
    prefixes = [IPv4Network(p) for z in policy.zones if z.kind == "external"
                for p in z.prefixes]
    layout = lab_layout(phase1_build, phase1_plan)
    by = {h.name: h for h in layout.hosts}
    assert any(by["proddc"].address in p for p in prefixes)
    assert not any(by["internet"].address in p for p in prefixes)
    assert sum(not h.zone_host for h in layout.hosts) >= 760


def test_lab_id_is_per_state_dir(tmp_path: Path) -> None:
    assert lab_id(tmp_path / "a") == lab_id(tmp_path / "a")
    assert lab_id(tmp_path / "a") != lab_id(tmp_path / "b")
    assert len(lab_id(tmp_path)) == 6


def test_recipe_hash_follows_the_recipe() -> None:
    r = Recipe()
    assert r.digest() == Recipe().digest() and r.tag.endswith(r.digest())
    more = replace(r, packages=(*r.packages, "curl"))
    assert more.digest() != r.digest() and more.base_digest() != r.base_digest()
    edited = replace(r, files=(*r.files, ("/etc/motd", "lab\n", 0o644)))
    assert edited.digest() != r.digest()
    assert edited.base_digest() == r.base_digest()  # a file change keeps the debootstrap


def test_keyscan_parsing_and_known_hosts(lab_plan: Plan) -> None:
    layout = lab_layout(load_build("lab"), lab_plan)
    h = layout.hosts[0]
    text = (f"# {h.address}:22 SSH-2.0-OpenSSH_9.2p1\n"
            f"{h.address} ssh-ed25519 AAAAC3Nza\n"
            f"{h.address} ssh-rsa AAAAB3Nza\n")
    keys = access.parse_keyscan(text)
    assert keys == {str(h.address): "ssh-ed25519 AAAAC3Nza"}
    assert access.known_hosts_text([h], keys) == f"{h.name},{h.address} ssh-ed25519 AAAAC3Nza\n"


def test_ssh_config_and_inventory(tmp_path: Path, lab_plan: Plan) -> None:
    layout = lab_layout(load_build("lab"), lab_plan)
    keys = {str(h.address): "ssh-ed25519 AAAAC3Nza" for h in layout.hosts}
    access.write_access(tmp_path, "abc123", layout, keys, "PROXY %h %p")
    cfg = (tmp_path / "ssh_config").read_text()
    for line in ("StrictHostKeyChecking yes", f"UserKnownHostsFile {tmp_path}/known_hosts",
                 "ServerAliveInterval", "ProxyCommand PROXY %h %p", "ProxyUseFdpass yes"):
        assert line in cfg
    assert "StrictHostKeyChecking no" not in cfg
    inv = yaml.safe_load((tmp_path / "inventory.yml").read_text())
    groups = inv["all"]["children"]
    assert set(groups["gpu_node"]["hosts"]) == {f"dgx{n:04d}" for n in range(1, 9)}
    dgx1 = groups["gpu_node"]["hosts"]["dgx0001"]
    assert dgx1["ansible_host"] == str(layout.hosts[0].address)
    args = inv["all"]["vars"]["ansible_ssh_common_args"]
    assert args.startswith(f"-F {tmp_path}/ssh_config ")
    for opt in (f"UserKnownHostsFile={tmp_path}/known_hosts", "StrictHostKeyChecking=yes",
                "ServerAliveInterval=5"):
        assert f"-o {opt}" in args
    assert inv["all"]["vars"]["ansible_ssh_host_key_checking"] is True
    assert set(groups["lab_outside"]["hosts"]) == {"internet", "proddc"}
    assert len((tmp_path / "known_hosts").read_text().splitlines()) == len(layout.hosts)


def test_cli_hosts_json_reads_the_written_plan(tmp_path: Path) -> None:
    """`lab hosts` shows the hosts of out/BUILD/plan.json: an address edited there (as a
    plan written from another declaration would hold it) is what the lab uses."""
    out = tmp_path / "out"
    assert CliRunner().invoke(app, ["plan", "lab", "--out", str(out)]).exit_code == 0
    res = CliRunner().invoke(app, ["lab", "hosts", "lab", "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = yaml.safe_load(res.output)
    assert doc["build"] == "lab" and len(doc["hosts"]) == 14  # 8 DGX, 3 servers, fa001, 2 zones
    dgx1 = next(h for h in doc["hosts"] if h["name"] == "dgx0001")
    plan = out / "plan.json"
    plan.write_text(plan.read_text().replace(f'"{dgx1["address"]}"', '"10.16.1.250"'))
    res = CliRunner().invoke(app, ["lab", "hosts", "lab", "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    moved = next(h for h in yaml.safe_load(res.output)["hosts"] if h["name"] == "dgx0001")
    assert moved["address"] == "10.16.1.250"


def test_lab_without_a_plan_says_how_to_make_one(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """No plan.json: exit 2, one message naming the file and the command that writes it."""
    from rscctl.cli import main

    assert main(["lab", "hosts", "lab", "--out", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'none' / 'plan.json'}" in err.replace("\n", "")
    assert "run `rscctl plan lab` first" in err and "Traceback" not in err


def test_lab_refuses_another_builds_plan(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from rscctl.cli import main

    small = write_build(tmp_path, small_build_dict(name="other"), "other.yaml")
    assert main(["plan", str(small), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert main(["lab", "hosts", "lab", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "a plan of build 'other', not 'lab'" in err and "Traceback" not in err


def test_without_root_up_and_down_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """As a user (euid != 0), `lab up` and `lab down` exit 2 with the reason, nothing made."""
    from rscctl.cli import main
    from tests.lab.fixtures import lab_unavailable

    monkeypatch.setattr("os.geteuid", lambda: 1000)
    state = tmp_path / "state"
    assert main(["lab", "up", "lab", "--state-dir", str(state)]) == 2
    assert "needs root" in capsys.readouterr().err
    assert main(["lab", "down", "--state-dir", str(state)]) == 2
    assert "needs root" in capsys.readouterr().err
    assert not (state / "state.json").exists()
    assert "root" in (lab_unavailable() or "")
