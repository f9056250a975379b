"""`rscctl apply` on the lab (real sshd in podman containers, real ansible-core through
ansible-runner, host keys checked, every node but the bastion reached through it).

One lab for the session (tests/lab/fixtures.py), one plan and one set of keys for the module;
the tests run in file order: converge first, then what breaks and how it is fixed.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rscctl.lab.lifecycle import engine
from rscctl.lab.state import LabState
from tests.apply.runevents import node_calls
from tests.lab.fixtures import needs_lab, planned_lab

pytestmark = [pytest.mark.lab, needs_lab]

RSCCTL = str(Path(sys.executable).parent / "rscctl")
# Files the roles manage on a GPU node (base, fabric, storage).
MANAGED = ("/etc/hostname", "/etc/hosts", "/etc/chrony/sources.d/rscctl.sources",
           "/etc/systemd/network/60-rsc-mlx5_0.network", "/etc/rdma/node_desc",
           "/etc/tlshd.conf", "/etc/tlshd/node.pem", "/etc/tlshd/node.key",
           "/etc/systemd/system/mnt-checkpoints.mount")


class Ctx:
    def __init__(self, lab: LabState, plan: Path, secrets: Path, runs: Path) -> None:
        self.lab, self.plan, self.secrets, self.runs = lab, plan, secrets, runs

    def apply(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        cmd = [RSCCTL, "apply", "lab", "--out", str(self.plan), "--lab",
               str(self.lab.state_dir), "--secrets", str(self.secrets), "--runs-dir",
               str(self.runs), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              check=False)

    def last(self) -> dict[str, dict[str, int]]:
        run = sorted((self.runs / "lab").iterdir())[-1]
        doc = json.loads((run / "summary.json").read_text())
        hosts: dict[str, dict[str, int]] = doc["hosts"]
        return hosts

    def node(self, host: str, command: str) -> str:
        res = engine(self.lab.state_dir)("exec", self.lab.netns_of(host), "sh", "-c", command)
        return res.stdout


@pytest.fixture(scope="module")
def ctx(lab: LabState, tmp_path_factory: pytest.TempPathFactory) -> Ctx:
    return Ctx(lab, *planned_lab(tmp_path_factory, "apply"))


def fingerprint(ctx: Ctx) -> dict[str, str]:
    """sha256 of every managed file (and its mode and owner) on every GPU node."""
    out = {}
    for h in (f"dgx000{i}" for i in range(1, 9)):
        text = ctx.node(h, " ; ".join(f"stat -c '%n %a %U' {p} 2>&1; cat {p} 2>&1"
                                      for p in MANAGED))
        out[h] = hashlib.sha256(text.encode()).hexdigest()
    return out


def test_apply_converges_and_a_second_apply_changes_nothing(ctx: Ctx) -> None:
    first = ctx.apply("--batch", "100%")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    hosts = ctx.last()
    assert set(hosts) == {*(f"dgx000{i}" for i in range(1, 9)), "bastion01", "ingest01",
                          "mgmt01"}
    assert all(r["changed"] > 0 for r in hosts.values())
    assert ctx.node("dgx0001", "cat /etc/hosts") == (ctx.plan / "hosts").read_text()
    assert ctx.node("dgx0001", "cat /etc/rdma/node_desc") == "%h %d\n"
    # the build's in-enclave mirror is the only apt source
    src = ctx.node("dgx0001", "cat /etc/apt/sources.list.d/rscctl-mirror.sources")
    assert "URIs: http://mgmt01.rsc.internal/debian" in src
    assert ctx.node("dgx0001", "grep -v '^#' /etc/apt/sources.list || true").strip() == ""
    unit = ctx.node("dgx0003", "cat /etc/systemd/network/60-rsc-mlx5_2.network")
    assert "Name=ib2" in unit and "Address=10.248.2.3/24" in unit
    again = ctx.apply()
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    hosts = ctx.last()
    assert {h: r["changed"] for h, r in hosts.items()} == {h: 0 for h in hosts}
    # a no-change run is one module call per host: every role's files in one write (the
    # containers run no systemd, so there is no units call)
    run = sorted((ctx.runs / "lab").iterdir())[-1]
    assert node_calls(run) == {h: ["rsc.cluster.files"] for h in hosts}
    assert "canary dgx0001" in again.stderr and "SU 002" in again.stderr
    # no thread of the confirm or proof sessions dies noisily (paramiko's, at close)
    assert "Traceback" not in first.stderr + again.stderr, again.stderr[-3000:]
    # --last shows the same summary again
    shown = subprocess.run([RSCCTL, "apply", "--last", "--runs-dir", str(ctx.runs)],
                           capture_output=True, text=True, check=False)
    assert shown.returncode == 0 and "11 hosts: 11 ok" in shown.stdout.replace("\n", " ")


def test_nodes_are_reached_through_the_bastion(ctx: Ctx) -> None:
    """The SSH masters apply left open come to a node from the bastion, not the controller,
    and to the bastion from the management host's address (the policy's operator-ssh)."""
    assert ctx.lab.layout is not None
    addr = {h.name: str(h.address) for h in ctx.lab.layout.hosts}
    peers = ctx.node("dgx0002", "ss -Htn state established '( sport = :22 )'")
    assert addr["bastion01"] in peers
    assert str(ctx.lab.layout.controller) not in peers
    direct = ctx.node("bastion01", "ss -Htn state established '( sport = :22 )'")
    assert addr["mgmt01"] in direct
    assert str(ctx.lab.layout.controller) not in direct


def test_check_mode_changes_no_file(ctx: Ctx) -> None:
    ctx.node("dgx0002", "echo drift > /etc/rdma/node_desc")
    before = fingerprint(ctx)
    res = ctx.apply("--check", "--diff", "--limit", "su_001")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert ctx.last()["dgx0002"]["changed"] == 1
    assert fingerprint(ctx) == before
    assert ctx.node("dgx0002", "cat /etc/rdma/node_desc") == "drift\n"
    fix = ctx.apply("--limit", "dgx0002")
    assert fix.returncode == 0, fix.stderr[-3000:]
    assert ctx.node("dgx0002", "cat /etc/rdma/node_desc") == "%h %d\n"


def test_a_changed_host_key_is_refused(ctx: Ctx) -> None:
    key = "/etc/ssh/ssh_host_ed25519_key"
    ctx.node("dgx0003", f"cp {key} /root/k && cp {key}.pub /root/k.pub && rm {key} {key}.pub "
             f"&& ssh-keygen -q -t ed25519 -N '' -f {key} && kill -HUP 1")
    try:
        res = ctx.apply("--limit", "dgx0003")
        assert res.returncode == 1
        assert ctx.last()["dgx0003"]["unreachable"] == 1
        assert "unreachable" in res.stderr
    finally:
        ctx.node("dgx0003", f"cp /root/k {key} && cp /root/k.pub {key}.pub && kill -HUP 1")
        time.sleep(1)


def test_a_failing_batch_beyond_max_fail_stops_the_later_ones(ctx: Ctx) -> None:
    ctx.node("dgx0006", "rm -rf /etc/rdma && touch /etc/rdma")  # the fabric role cannot write
    try:
        res = ctx.apply("--limit", "su_002", "--batch", "1", "--max-fail", "0")
        assert res.returncode == 1
        hosts = ctx.last()
        assert hosts["dgx0005"]["failed"] == 0 and hosts["dgx0006"]["failed"] == 1
        assert "dgx0007" not in hosts and "dgx0008" not in hosts
        assert "stopped: batch hosts 1-1" in res.stdout.replace("\n", " ") or \
            "more than --max-fail 0%" in res.stdout.replace("\n", " ")
    finally:
        ctx.node("dgx0006", "rm -f /etc/rdma")


def test_a_node_killed_mid_run_is_unreachable_and_limit_fixes_it(ctx: Ctx) -> None:
    ctx.node("dgx0008", "echo drift > /etc/rdma/node_desc")
    ctx.node("dgx0007", "echo drift > /etc/rdma/node_desc")
    podman = engine(ctx.lab.state_dir)
    name = ctx.lab.netns_of("dgx0008")
    result: dict[str, subprocess.CompletedProcess[str]] = {}
    t = threading.Thread(target=lambda: result.setdefault(
        "r", ctx.apply("--limit", "dgx0007,dgx0008", "--batch", "100%")))
    t.start()
    time.sleep(2)
    podman("kill", name)
    t.join()
    res = result["r"]
    assert res.returncode == 1
    hosts = ctx.last()
    assert hosts["dgx0008"]["unreachable"] == 1
    assert hosts["dgx0007"]["failed"] == 0 and hosts["dgx0007"]["unreachable"] == 0
    assert ctx.node("dgx0007", "cat /etc/rdma/node_desc") == "%h %d\n"
    podman("start", name)
    for _ in range(50):
        if "sshd" in podman("exec", name, "cat", "/proc/1/comm", check=False).stdout:
            break
        time.sleep(0.2)
    fix = ctx.apply("--limit", "dgx0008")
    assert fix.returncode == 0, fix.stdout[-2000:] + fix.stderr[-2000:]
    assert ctx.node("dgx0008", "cat /etc/rdma/node_desc") == "%h %d\n"
