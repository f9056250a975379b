"""The safety nets of `rscctl apply` on the lab (issue 12, item 4): real sshd in podman
containers, real ansible-core, rscctl-fw-guard on the node, the confirm over a fresh paramiko
session through the bastion.

These tests push rulesets of their own (not the plan's) with tests/safety/firewall_only.yml
(the role alone, the ruleset as an extra variable), so apply's isolation proof is off for those
pushes. One lab for the session (tests/lab/fixtures.py), shared with tests/apply: a node may
hold the plan's ruleset (loaded by an earlier full apply) or none.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rscctl.apply import run
from rscctl.apply.invcache import load
from rscctl.apply.nodessh import Jump, Route
from rscctl.lab.lifecycle import engine
from rscctl.lab.state import LabState
from tests.lab.fixtures import needs_lab, planned_lab

pytestmark = [pytest.mark.lab, needs_lab]

ROOT = Path(__file__).resolve().parents[2]
RSCCTL = str(Path(sys.executable).parent / "rscctl")
FW_ONLY = Path(__file__).with_name("firewall_only.yml")
GUARD_SRC = ROOT / "playbooks" / "roles" / "firewall" / "files" / "rscctl-fw-guard"
GUARD = "/usr/local/sbin/rscctl-fw-guard"
SSH_RULE = {"saddr": None, "daddr": None, "proto": "tcp", "ports": "22",
            "comment": "ssh from anywhere"}


def ruleset(name: str, input_rules: list[dict[str, Any]]) -> dict[str, Any]:
    """firewall_ruleset data as rscctl renders it for the role (no sets)."""
    return {"name": name, "title": "a safety test's ruleset", "build": "lab",
            "table": "rscctl", "sets": [],
            "chains": {"input": input_rules, "forward": [], "output": []},
            "log": {"rate_per_minute": 30, "burst": 10, "prefix": "rscctl-drop"}}


class Lab:
    def __init__(self, lab: LabState, plan: Path, secrets: Path, runs: Path) -> None:
        self.lab, self.plan, self.secrets, self.runs = lab, plan, secrets, runs
        sd = lab.state_dir.resolve()
        self.access = run.Access(ssh_config=sd / "ssh_config", known_hosts=sd / "known_hosts",
                                 user="rscctl", key=sd / "id_ed25519", bastion="bastion01")
        hv = load(plan / "plan.json")["hosts"]
        self.addr = {h: str(v.get("ansible_host", h)) for h, v in hv.items()}

    def node(self, host: str, command: str, check: bool = True) -> str:
        """A root shell on the node through podman (not SSH: works whatever its firewall)."""
        res = engine(self.lab.state_dir)("exec", self.lab.netns_of(host), "sh", "-c",
                                         command, check=check)
        return res.stdout

    def guard_status(self, host: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.node(host, f"{GUARD} status"))
        return doc

    def push(self, limit: str, rules: dict[str, Any], timeout: int,
             batch: str = "100%") -> run.Summary:
        """The firewall role alone through `rscctl apply`'s own run (batches, confirm)."""
        opts = run.Options(build="lab", plan=self.plan / "plan.json", runs_dir=self.runs,
                           access=self.access, limit=limit, batch=batch,
                           extra_vars={**run.LAB_VARS, "firewall_ruleset": rules},
                           playbook=FW_ONLY, confirm_timeout=timeout, prove=False)
        return run.apply(opts, lambda _line: None)

    def fresh(self, host: str, command: str = "true") -> int:
        """rc of `command` over a new SSH session through the bastion (the operators' path)."""
        jump = Jump(Route("bastion01", self.access.ssh_config, self.access.known_hosts,
                          "rscctl", self.access.key))
        try:
            return jump.run(host, self.addr[host], command, timeout=30).rc
        finally:
            jump.close()

    def health(self, limit: str) -> tuple[int, dict[str, Any]]:
        res = subprocess.run([RSCCTL, "health", "lab", "--out", str(self.plan), "--lab",
                              str(self.lab.state_dir), "--limit", limit, "--json"],
                             capture_output=True, text=True, timeout=180, check=False)
        assert res.stdout, res.stderr[-2000:]
        doc: dict[str, Any] = json.loads(res.stdout)
        return res.returncode, doc["hosts"]

    def restart(self, host: str) -> None:
        """Kill the node's container and start it again (lab-init runs the guard's boot)."""
        podman = engine(self.lab.state_dir)
        name = self.lab.netns_of(host)
        podman("kill", name)
        podman("start", name)
        for _ in range(100):
            if "sshd" in podman("exec", name, "cat", "/proc/1/comm", check=False).stdout:
                return
            time.sleep(0.2)
        raise AssertionError(f"{host}: sshd did not come back")


@pytest.fixture(scope="module")
def sl(lab: LabState, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return Lab(lab, *planned_lab(tmp_path_factory, "safety"))


def test_a_ruleset_that_cuts_ssh_is_rolled_back_by_the_node(sl: Lab) -> None:
    """Input drops every new connection: Ansible's established session still loads it, the
    fresh confirm session through the bastion cannot get in, the node restores its old
    ruleset by itself; apply says 'rolled back', counts it failed and stops the next batch."""
    host = "dgx0004"
    before = sl.guard_status(host)["live_sha256"] if "rscctl" in sl.node(
        host, f"test -x {GUARD} && echo rscctl || true") else None
    t0 = time.time()
    s = sl.push(f"{host},dgx0005", ruleset("cuts-ssh", []), timeout=25, batch="1")
    took = time.time() - t0
    r = s.hosts[host]
    assert r.status == "rolled back", (r, s.stopped)
    assert not s.succeeded
    assert "max-fail" in s.stopped and s.not_run == ["dgx0005"]
    # the node itself undid it, within the timeout (plus the confirm's own margin)
    st = sl.guard_status(host)
    assert st["pending"] is None and st["rolled_back"]["at"] >= t0
    assert st["rolled_back"]["why"] == "not confirmed in time" and st["rolled_back"]["restored"]
    assert st["rolled_back"]["at"] - t0 < took
    if before is None:
        assert "table inet rscctl" not in sl.node(host, "nft list ruleset")
    else:
        assert st["live_sha256"] == before
    # reachable again over a new session, and the planned file dropped for the next apply
    assert sl.fresh(host) == 0
    assert sl.node(host, "ls /var/lib/rscctl/firewall/").split().count("planned.nft") == 0


def test_a_node_restarted_between_load_and_confirm_comes_back_with_its_old_ruleset(
        sl: Lab) -> None:
    host = "dgx0006"
    podman = engine(sl.lab.state_dir)
    podman("cp", str(GUARD_SRC), f"{sl.lab.netns_of(host)}:{GUARD}")
    old = "table inet rscctl {\n\tchain input {\n\t\ttype filter hook input priority filter;" \
          " policy accept;\n\t\ttcp dport 22 accept\n\t}\n}\n"
    new = old.replace("tcp dport 22 accept", "tcp dport 22 accept\n\t\ttcp dport 8080 accept")
    sl.node(host, f"printf %s {shlex.quote(old)} > /root/old.nft && "
            f"printf %s {shlex.quote(new)} > /root/new.nft && nft delete table inet rscctl "
            f"2>/dev/null; {GUARD} load /root/old.nft --timeout 0 --conf /root/boot.nft")
    kept = sl.guard_status(host)["live_sha256"]
    armed = json.loads(sl.node(host, f"{GUARD} load /root/new.nft --timeout 600 "
                                     "--conf /root/boot.nft"))
    assert armed["state"] == "armed"
    assert "8080" in sl.node(host, "nft list table inet rscctl")
    sl.restart(host)
    st = sl.guard_status(host)
    assert st["pending"] is None
    assert st["rolled_back"]["why"] == "the node restarted before the change was confirmed"
    assert st["live_sha256"] == kept
    assert "8080" not in sl.node(host, "nft list table inet rscctl")
    assert sl.node(host, "cat /root/boot.nft") == old  # the boot ruleset never changed
    assert sl.fresh(host) == 0


def test_health_reports_absent_hardware_and_a_flushed_ruleset_honestly(sl: Lab) -> None:
    """GPUs and InfiniBand the containers lack are `absent`, never `pass`; a ruleset confirmed
    through the fresh-session path passes until it is flushed; a mount not there fails."""
    host = "dgx0005"
    res = subprocess.run([RSCCTL, "apply", "lab", "--out", str(sl.plan), "--lab",
                          str(sl.lab.state_dir), "--secrets", str(sl.secrets), "--runs-dir",
                          str(sl.runs), "--limit", f"{host},mgmt01", "--tags", "firewall,health",
                          "--batch", "100%"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    s = sl.push(host, ruleset("allows-ssh", [SSH_RULE]), timeout=60)
    assert s.hosts[host].status in ("ok", "changed") and s.succeeded, s
    st = sl.guard_status(host)
    assert st["pending"] is None and st["confirmed"]["at"] >= time.time() - 120
    # the node's spec names the plan's ruleset: give it the one this test pushed instead
    sl.node(host, "python3 -c \"import hashlib, json; p = '/etc/rscctl/health-spec.json'; "
            "d = json.load(open(p)); d['firewall_sha256'] = hashlib.sha256(open("
            "'/var/lib/rscctl/firewall/planned.nft', 'rb').read()).hexdigest(); "
            "json.dump(d, open(p, 'w'))\"")
    rc, rows = sl.health(f"{host},mgmt01")
    assert rc == 1 and set(rows) == {host, "mgmt01"}
    c = rows[host]["checks"]
    assert (c["gpu"]["status"], c["ib"]["status"], c["ipoib"]["status"]) == \
        ("absent", "absent", "absent")
    assert "none seen" in c["gpu"]["summary"] and "no /sys/class/infiniband" in \
        c["ib"]["summary"]
    assert c["firewall"]["status"] == "pass", c["firewall"]
    assert c["nfs"]["status"] == "fail" and "/mnt/checkpoints not mounted" in \
        c["nfs"]["summary"]
    assert rows[host]["status"] == "unhealthy"
    assert rows["mgmt01"]["checks"]["gpu"]["status"] == "n/a"
    assert rows["mgmt01"]["checks"]["firewall"]["status"] == "pass"  # the plan's, applied
    sl.node(host, "nft flush ruleset")
    _rc, rows = sl.health(host)
    fw = rows[host]["checks"]["firewall"]
    assert fw["status"] == "fail" and "flushed" in fw["summary"]
    assert "firewall:" in rows[host]["why"]
