"""Rendering: every ruleset passes `nft -c -f`, the output is deterministic and the same from
plan.json, zones come from the address plan where it has landed, and the Ansible role renders
the very same bytes from the same template (and lints clean)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from ipaddress import IPv4Network
from pathlib import Path

import pytest
import yaml

from rscctl.export import EXPORTERS, render
from rscctl.firewall.render import render_rulesets
from rscctl.firewall.rules import policy_graph
from rscctl.firewall.zones import resolve_zones
from rscctl.outputs import write_files
from rscctl.planjson import generate_plan_json, parse_plan_json
from rscctl.planner.model import Address, Plan
from rscctl.verify.firewall import capture, report
from tests.ansiblehelp import ansible_env

ROOT = Path(__file__).resolve().parents[1]
needs_nft = pytest.mark.skipif(not shutil.which("nft") or os.geteuid() != 0,
                               reason="nft -c needs nft and root")


def nft_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True,
                          check=False)


@needs_nft
@pytest.mark.parametrize("which", ["phase1_plan", "phase2_plan"])
def test_every_ruleset_passes_nft_check(which: str, request: pytest.FixtureRequest,
                                        tmp_path: Path) -> None:
    plan: Plan = request.getfixturevalue(which)
    texts = render_rulesets(plan)
    assert set(texts) == {"bastion", "bmc", "border", "gpu-node", "ingest-gateway",
                          "management-host", "storage"}
    for name, text in texts.items():
        path = tmp_path / f"{name}.nft"
        path.write_text(text)
        proc = nft_check(path)
        assert proc.returncode == 0, f"{name}.nft: {proc.stderr}"
    broken = tmp_path / "broken.nft"
    broken.write_text(texts["gpu-node"].replace("policy drop;", "policy dorp;", 1))
    assert nft_check(broken).returncode != 0  # the check can fail


def test_deterministic_and_same_from_plan_json(phase1_plan: Plan) -> None:
    first = EXPORTERS["firewall"](phase1_plan)
    assert first == EXPORTERS["firewall"](phase1_plan)
    again = parse_plan_json(generate_plan_json(phase1_plan))
    assert EXPORTERS["firewall"](again) == first
    assert {k for k in first if k.endswith(".nft")} == {
        f"firewall/{n}.nft" for n in render_rulesets(phase1_plan)}


def test_no_policy_no_firewall(phase1_plan: Plan) -> None:
    facts = replace(phase1_plan.facts, firewall=None)
    assert EXPORTERS["firewall"](replace(phase1_plan, facts=facts)) == {}


def test_graph_has_zones_roles_and_flows(phase1_plan: Plan) -> None:
    g = policy_graph(resolve_zones(phase1_plan))
    assert g.nodes["compute"]["kind"] == "compute"
    assert g.has_edge("role:gpu-node", "compute")
    assert g.has_edge("production", "ingest", key="ingest-upload")
    assert not any(u == "internet" or v == "internet" for u, v in g.edges())


def landed(plan: Plan) -> Plan:
    """The plan as if the address plan had landed: a few devices with addresses."""
    dev = {d.name: d for d in plan.devices}
    rows = [
        ("mgmt01", "eth0", "inband", "10.16.1.10"), ("mgmt01", "bmc", "oob", "10.17.1.10"),
        ("bastion01", "eth0", "inband", "10.16.1.20"), ("bastion02", "eth0", "inband",
                                                          "10.16.1.21"),
        ("dgx0001", "eth0", "inband", "10.16.8.1"), ("dgx0002", "eth0", "inband", "10.16.8.2"),
        ("dgx0001", "bmc", "oob", "10.17.8.1"), ("dgx0001", "stor0", "storage", "10.18.8.1"),
        ("ingest01", "eth0", "inband", "10.16.1.30"),
        ("ingest01", "stor0", "storage", "10.18.1.30"),
        ("spine01", "mgmt", "oob", "10.17.2.1"),
    ]
    assert all(d in dev for d, *_ in rows)
    return replace(plan, addresses=tuple(Address(d, i, n, a, 16) for d, i, n, a in rows))


def test_zones_from_the_address_plan(phase1_plan: Plan) -> None:
    zm = resolve_zones(landed(phase1_plan))
    z = {x.name: x for x in zm.zones}
    assert z["bastion"].prefixes == (IPv4Network("10.16.1.20/31"),)
    assert not z["bastion"].provisional
    # every BMC is in the oob zone, the management host's too
    assert z["management"].prefixes == (IPv4Network("10.16.1.10/32"),)
    assert z["oob"].prefixes == tuple(map(IPv4Network, ["10.17.1.10/32", "10.17.2.1/32",
                                                        "10.17.8.1/32"]))
    # ipoib has no addresses yet: still a provisional slice, and only for compute
    assert IPv4Network("10.32.0.0/12") in z["compute"].prefixes and z["compute"].provisional
    assert z["storage"].prefixes == ()  # its networks have addresses, none of a storage role
    assert str(z["compute"].hosts(2)[1]) == "10.16.8.2"


@needs_nft
def test_landed_plan_renders_and_proves(phase1_plan: Plan, tmp_path: Path) -> None:
    plan = landed(phase1_plan)
    paths = {}
    for name, text in render_rulesets(plan).items():
        paths[name] = tmp_path / f"{name}.nft"
        paths[name].write_text(text)
        assert nft_check(paths[name]).returncode == 0
    assert "10.16.1.20/31" in paths["gpu-node"].read_text()
    rep = report(resolve_zones(plan), capture(paths))
    assert rep.passed, rep.findings


# -- the Ansible role ----------------------------------------------------------------------

def test_role_lints_clean_in_production_profile() -> None:
    lint = Path(sys.executable).with_name("ansible-lint")
    proc = subprocess.run(
        [str(lint), "--profile", "production", "--offline",
         "playbooks/roles/firewall", "playbooks/firewall.yml"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    link = ROOT / "playbooks/roles/firewall/templates/ruleset.nft.j2"
    assert link.resolve() == ROOT / "templates/firewall/ruleset.nft.j2"


def test_firewall_group_matches_the_inventory(phase1_plan: Plan) -> None:
    """The `firewall` group's children are the ansible exporter's groups of host roles."""
    from rscctl.export.netdata import inventory

    groups = inventory(phase1_plan)["all"]["children"]
    fw = yaml.safe_load(EXPORTERS["firewall"](phase1_plan)["ansible/inventory/firewall.yml"])
    children = fw["firewall"]["children"]
    assert set(children) == {"gpu_node", "bastion", "ingest_gateway", "management_host"}
    assert set(children) <= set(groups)
    assert "dgx0001" in groups["gpu_node"]["hosts"]


@needs_nft
def test_ansible_renders_the_same_bytes(phase1_plan: Plan, tmp_path: Path) -> None:
    """ansible-playbook, with the group_vars and group rscctl writes, renders the file rscctl
    renders, byte for byte. It runs in a throwaway network namespace (its handler loads the
    ruleset there), on a local connection. (The inventory's hosts are cut to two: Ansible
    needs minutes to read phase 1's 3,000-host hosts.yml.)"""
    files = render(phase1_plan, ["firewall"])
    write_files(tmp_path / "out", files)
    inventory = tmp_path / "out/ansible/inventory"
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {
        "gpu_node": {"hosts": {"dgx0001": {"ansible_host": "10.16.1.10"}}},
        "bastion": {"hosts": {"bastion01": {"ansible_host": "10.16.101.10"}}},
    }}}))
    dest = tmp_path / "nftables.conf"
    bindir = Path(sys.executable).parent
    env = ansible_env(tmp_path)
    proc = subprocess.run(
        ["unshare", "--net", str(bindir / "ansible-playbook"), "-i", str(inventory),
         "-l", "dgx0001", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
         "-e", f"firewall_conf_path={dest}", "-e", "firewall_service_enabled=false",
         "-e", f"firewall_state_dir={tmp_path / 'fw-state'}",
         "-e", "ansible_become=false", str(ROOT / "playbooks/firewall.yml")],
        env=env, capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Load the firewall ruleset" in proc.stdout
    assert dest.read_bytes() == files["firewall/gpu-node.nft"]
    vars_file = inventory / "group_vars/gpu_node/firewall.json"
    assert json.loads(vars_file.read_text())["firewall_ruleset"]["name"] == "gpu-node"
