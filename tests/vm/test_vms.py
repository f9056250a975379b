"""The lab on real VMs (tests/vm/conftest.py): what containers cannot show, a reboot.

In file order on one set of VMs: traffic stays inside; `rscctl apply` converges and a second
apply changes nothing; every VM reboots and comes back with the planned nftables ruleset
(loaded by nftables.service), its addresses and the NFS mount units; `vagrant destroy` leaves
nothing in libvirt, also after a `vagrant up` killed half way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rscctl.lab import box
from tests.apply.runevents import node_calls
from tests.vm.conftest import BASTION, HOSTS, Vms

pytestmark = [pytest.mark.slow, pytest.mark.lab, pytest.mark.vm]

RULESET = {"bastion01": "bastion", "dgx0001": "gpu-node", "dgx0002": "gpu-node"}
ADDRESS = {"bastion01": "10.240.3.10/24", "dgx0001": "10.240.1.10/24",
           "dgx0002": "10.240.1.11/24"}
MOUNT_UNIT = "/etc/systemd/system/mnt-checkpoints.mount"


def _virsh(*args: str) -> str:
    res = subprocess.run(["virsh", "-c", "qemu:///system", *args], text=True,
                         capture_output=True, check=True)
    return res.stdout


def _planned_table(path: Path) -> str:
    """The ruleset file as nft itself lists it, loaded in a throwaway network namespace."""
    ns = f"rscvm{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", str(path)], check=True)
        return subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "table", "inet",
                               "rscctl"], text=True, capture_output=True, check=True).stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def _summary(vms: Vms) -> dict[str, dict[str, int]]:
    run = sorted((vms.runs / "vmlab").iterdir())[-1]
    hosts: dict[str, dict[str, int]] = json.loads((run / "summary.json").read_text())["hosts"]
    return hosts


def test_traffic_stays_inside(vms: Vms) -> None:
    """Every libvirt network of the lab is isolated with DNS off; no VM has a route or a
    name server out; the host's IP forwarding is as it was."""
    nets = [n for n in _virsh("net-list", "--all", "--name").split() if n.startswith(box.PREFIX)]
    assert sorted(nets) == ["rscctl-lab", "rscctl-lab-mgmt"]
    for n in nets:
        xml = _virsh("net-dumpxml", n)
        assert "<forward" not in xml, (n, xml)
        assert "<dns enable='no'/>" in xml, (n, xml)
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == vms.ip_forward
    for h in HOSTS:
        out = vms.ssh(h, "ip route show default; ip -6 route show default; "
                         "grep -c nameserver /etc/resolv.conf || true; "
                         "ip route get 9.9.9.9 2>&1 || true").stdout
        lines = out.splitlines()
        assert lines[0] == "0", (h, out)  # no default route (v4, v6), no name server
        assert "unreachable" in out, (h, out)


def test_apply_converges_and_a_second_apply_changes_nothing(vms: Vms) -> None:
    t = time.monotonic()
    first = vms.apply()
    vms.timings["apply_first_s"] = time.monotonic() - t
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    hosts = _summary(vms)
    assert set(hosts) == set(HOSTS)
    assert all(r["changed"] > 0 for r in hosts.values()), hosts
    t = time.monotonic()
    second = vms.apply()
    vms.timings["apply_second_s"] = time.monotonic() - t
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    again = _summary(vms)
    assert {h: r["changed"] for h, r in again.items()} == dict.fromkeys(HOSTS, 0), again
    # a no-change apply is two module calls per host: every role's files in one write, every
    # role's units in one call (each costs 10-30 s of guest CPU under emulation)
    run = sorted((vms.runs / "vmlab").iterdir())[-1]
    assert node_calls(run) == {h: ["rsc.cluster.files", "rsc.cluster.units"] for h in HOSTS}


def _boot_id(vms: Vms, host: str) -> str:
    return vms.ssh(host, "cat /proc/sys/kernel/random/boot_id").stdout.strip()


def _wait_up(vms: Vms, host: str, before: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = vms.ssh(host, "cat /proc/sys/kernel/random/boot_id; systemctl is-system-running "
                            "--wait", check=False, timeout=180)
        if res.returncode in (0, 1) and res.stdout.split()[:1] != [before] and res.stdout:
            return res.stdout
        # A changed host key is refused (StrictHostKeyChecking): it must never happen here.
        assert "REMOTE HOST IDENTIFICATION HAS CHANGED" not in res.stderr, res.stderr
        time.sleep(3)
    raise AssertionError(f"{host} did not come back within {timeout:.0f} s of its reboot")


def test_reboot_brings_back_the_planned_state(vms: Vms) -> None:
    """After a reboot of each VM (the DGX first, then the bastion they are reached through):
    nftables.service loaded the planned ruleset, the lab address is back, the NFS mount
    units are in place (loaded by systemd), nothing failed to start but those mounts."""
    t = time.monotonic()
    order = [h for h in HOSTS if h != BASTION] + [BASTION]
    before = {h: _boot_id(vms, h) for h in order}
    for h in order:
        vms.ssh(h, "sudo systemctl reboot", check=False)
    states = {h: _wait_up(vms, h, before[h]) for h in order}
    vms.timings["reboot_s"] = time.monotonic() - t
    planned = {name: _planned_table(vms.out / "firewall" / f"{name}.nft")
               for name in set(RULESET.values())}
    for h in HOSTS:
        out = vms.ssh(h, "systemctl is-enabled nftables; systemctl is-active nftables; "
                         "sudo nft list table inet rscctl").stdout
        enabled, active, loaded = out.split("\n", 2)
        assert (enabled, active) == ("enabled", "active"), (h, out[:200])
        assert loaded == planned[RULESET[h]], f"{h}: the loaded ruleset is not the planned one"
        conf = vms.ssh(h, "sudo cat /etc/nftables.conf").stdout
        assert conf == (vms.out / "firewall" / f"{RULESET[h]}.nft").read_text(), h
        addrs = vms.ssh(h, "ip -br -4 addr").stdout
        assert any(line.split()[2:] == [ADDRESS[h]] for line in addrs.splitlines()), (h, addrs)
        failed = vms.ssh(h, "systemctl --failed --no-legend --plain | awk '{print $1}'").stdout
        assert set(failed.split()) <= {"mnt-checkpoints.mount"}, (h, failed, states[h])
    units = {p.read_text() for p in (vms.out / "nfs" / "units").glob("*/mnt-checkpoints.mount")}
    assert units
    for h in ("dgx0001", "dgx0002"):
        out = vms.ssh(h, f"cat {MOUNT_UNIT}; systemctl show -p LoadState --value "
                         "mnt-checkpoints.mount").stdout
        text, _, state = out.rpartition("\n")[0].rpartition("\n")
        assert state == "loaded", (h, out[-200:])
        assert text + "\n" in units, f"{h}: {MOUNT_UNIT} is not a planned unit"


HEALTH_TIMER = "rscctl-health.timer"
HEALTH_RESULT = "/var/lib/rscctl/health.json"


def test_health_timer_ran_after_the_reboot_and_is_honest(vms: Vms) -> None:
    """rscctl-health.timer (role health; OnBootSec 10 s on VMs, box.VM_VARS) ran the check after
    the reboot. A VM has no GPU, no HCA, no NFS server and no reachable time source, so its
    result is never `healthy`; the one thing it does have, the planned ruleset loaded, passes."""
    deadline = time.monotonic() + 420
    for h in HOSTS:
        while True:
            out = vms.ssh(h, f"systemctl is-enabled {HEALTH_TIMER}; systemctl show -p "
                             "ExecMainExitTimestampMonotonic --value rscctl-health.service; "
                             "echo $(( $(date +%s) - $(cut -d. -f1 /proc/uptime) )); "
                             f"sudo cat {HEALTH_RESULT} 2>/dev/null || true",
                          check=False).stdout
            enabled, ran, booted, doc = [*out.split("\n", 3), "", "", "", ""][:4]
            if ran not in ("", "0") and doc.strip():
                break
            assert time.monotonic() < deadline, f"{h}: no health result since the reboot: {out}"
            time.sleep(3)
        assert enabled == "enabled", (h, out)
        result = json.loads(doc)
        assert result["host"] == h and result["at"] >= int(booted) - 5, (h, result)
        assert result["status"] in ("unhealthy", "unverified"), (h, result["status"])
        assert result["checks"]["firewall"]["status"] == "pass", (h, result["checks"])
        if h != BASTION:
            assert result["checks"]["gpu"]["status"] == "absent", (h, result["checks"]["gpu"])


def test_destroy_leaves_nothing_behind(vms: Vms) -> None:
    res = vms.vagrant("destroy", "-f")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert box.leftovers() == []
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == vms.ip_forward


def test_a_killed_up_is_cleaned_by_name(vms: Vms) -> None:
    """`vagrant up` killed once its domain exists: `lab vm-clean` finds what it left by name."""
    p = subprocess.Popen(["vagrant", "up", "--provider", "libvirt", "dgx0003"], env=vms.env,
                         cwd=vms.base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        # Defined is enough (before it starts): libvirt holds a domain to clean by name.
        while "rscctl-lab_dgx0003" not in _virsh("list", "--all", "--name"):
            assert p.poll() is None and time.monotonic() < deadline, "no domain came up"
            time.sleep(1)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    left = box.leftovers()
    assert "domain rscctl-lab_dgx0003" in left and "network rscctl-lab" in left, left
    res = vms.rscctl("lab", "vm-clean")
    assert res.returncode == 0, res.stdout + res.stderr
    assert box.leftovers() == []
    check = vms.rscctl("lab", "vm-clean", "--check")
    assert check.returncode == 0, check.stdout
