"""The operators' path through the lab under the build's policy (rscctl/lab/access.py
`policy_paths`), and what ssh itself makes of the ssh_config written from it (`ssh -G`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from rscctl.declare import load_build
from rscctl.lab import access
from rscctl.lab.hosts import LabLayout, lab_layout
from rscctl.planner import build_plan
from rscctl.planner.model import Plan
from tests.conftest import ROOT, write_build

NS = Path("/run/netns")


@pytest.fixture(scope="module")
def lab_plan() -> Plan:
    return build_plan(load_build("lab"))


@pytest.fixture(scope="module")
def layout(lab_plan: Plan) -> LabLayout:
    return lab_layout(load_build("lab"), lab_plan)


def test_bastion_from_the_management_host_the_others_through_the_bastion(
        lab_plan: Plan, layout: LabLayout) -> None:
    p = access.policy_paths(lab_plan, layout)
    assert (p.bastion, p.front, p.warning) == ("bastion01", "mgmt01", "")
    firewalled = {h.name for h in layout.hosts if h.role in
                  ("gpu-node", "ingest-gateway", "management-host")}
    assert set(p.via_bastion) == firewalled
    # the zone hosts and the storage system (its lab address is in no zone) stay direct
    assert not {"internet", "proddc", "fa001", "bastion01"} & set(p.via_bastion)


def test_without_a_policy_every_host_is_reached_directly(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "topology/lab.yaml").read_text())
    doc.pop("policy")
    doc["catalog"] = str(ROOT / "topology/catalog.yaml")
    build = load_build(str(write_build(tmp_path, doc)))
    plan = build_plan(build)
    assert plan.facts.firewall is None
    assert access.policy_paths(plan, lab_layout(build, plan)) == access.Paths()


def test_no_management_host_in_the_lab_is_said(lab_plan: Plan, layout: LabLayout) -> None:
    alone = LabLayout(layout.build, tuple(h for h in layout.hosts if h.name != "mgmt01"),
                      layout.controller, layout.controller_prefix_len)
    p = access.policy_paths(lab_plan, alone)
    assert p.bastion == "bastion01" and p.front is None
    assert "bastion01" in p.warning and "own namespace" in p.warning


def effective(cfg: Path, host: str) -> dict[str, str]:
    """ssh's own reading of the config for `host` (ssh -G: no connection is made)."""
    res = subprocess.run(["ssh", "-G", "-F", str(cfg), host], capture_output=True, text=True,
                         check=True)
    return dict(line.split(" ", 1) for line in res.stdout.splitlines() if " " in line)


def test_ssh_reads_the_operators_path_from_the_config(tmp_path: Path, lab_plan: Plan,
                                                      layout: LabLayout) -> None:
    p = access.policy_paths(lab_plan, layout)
    keys = {str(h.address): "ssh-ed25519 AAAAC3Nza" for h in layout.hosts}
    ctl = access.proxy_command(NS / "rscl-abc123-ctl")
    front = access.proxy_command(NS / "rscl-abc123-mgmt01")
    assert p.bastion is not None
    access.write_access(tmp_path, "abc123", layout, keys, ctl,
                        jumps={h: p.bastion for h in p.via_bastion},
                        proxies={p.bastion: front})
    cfg = tmp_path / "ssh_config"
    # by name and by address: Ansible connects to ansible_host, the address
    for name in ("bastion01", "10.240.3.10"):
        bastion = effective(cfg, name)
        assert bastion["proxycommand"] == front and bastion["hostname"] == "10.240.3.10"
        assert bastion["proxyusefdpass"] == "yes" and "proxyjump" not in bastion
    for host in ("dgx0001", "mgmt01", "ingest01", "10.240.1.10"):
        conf = effective(cfg, host)
        assert conf["proxyjump"] == "bastion01" and "proxycommand" not in conf, conf
        assert conf["stricthostkeychecking"] == "true"
    outside = effective(cfg, "internet")
    assert outside["proxycommand"] == ctl
    assert "proxyjump" not in outside
