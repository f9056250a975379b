"""One set of Vagrant VMs (libvirt, qemu emulation) for the whole tests/vm session.

The bastion and two DGX of tests/vm/vmlab.yaml (the lab build with phase 1's firewall policy)
are brought up once from the repository's Vagrantfile, trusted with `rscctl lab trust`, and
destroyed at the end whatever happened; `rscctl lab vm-clean` runs before (a killed earlier
run) and after. Needs root, vagrant, vagrant-libvirt and a running libvirtd (`make test`
installs and starts them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "tests" / "vm" / "vmlab.yaml"
RSCCTL = str(Path(sys.executable).parent / "rscctl")
HOSTS = ("bastion01", "dgx0001", "dgx0002")
BASTION = "bastion01"


@dataclass
class Vms:
    """The running VMs and how to reach them."""

    base: Path
    out: Path
    state: Path
    secrets: Path
    runs: Path
    env: dict[str, str]
    ip_forward: str
    timings: dict[str, float] = field(default_factory=dict)

    def vagrant(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["vagrant", *args], env=self.env, cwd=self.base, text=True,
                              capture_output=True, timeout=timeout, check=False)

    def rscctl(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run([RSCCTL, *args], env=self.env, cwd=ROOT, text=True,
                              capture_output=True, timeout=timeout, check=False)

    def ssh(self, host: str, command: str, timeout: float = 120,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """`command` on `host` as the lab user, host key checked; every host but the bastion
        through it (the firewall lets only the bastion in)."""
        jump = [] if host == BASTION else ["-o", f"ProxyJump={BASTION}"]
        res = subprocess.run(
            ["ssh", "-F", str(self.state / "ssh_config"), "-o", "BatchMode=yes",
             "-o", "ConnectTimeout=10", *jump, host, command],
            text=True, capture_output=True, timeout=timeout, check=False)
        if check:
            assert res.returncode == 0, f"{host}: {command}: {res.stderr[-1500:]}"
        return res

    def apply(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.rscctl("apply", str(BUILD), "--out", str(self.out), "--lab",
                           str(self.state), "--secrets", str(self.secrets), "--runs-dir",
                           str(self.runs), "--limit", ":".join(HOSTS), "--batch", "100%",
                           "--no-canary",
                           *args, timeout=1200)


def _ok(res: subprocess.CompletedProcess[str], what: str) -> None:
    assert res.returncode == 0, f"{what}: rc {res.returncode}\n{res.stdout[-3000:]}\n" \
                                f"{res.stderr[-3000:]}"


@pytest.fixture(scope="session")
def vms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vms]:
    assert os.geteuid() == 0, "the VM tests need root (libvirt, the box build)"
    base = tmp_path_factory.mktemp("vms")
    env = {**os.environ, "VAGRANT_CWD": str(ROOT), "LAB_BUILD": str(BUILD),
           "LAB_OUT": str(base / "out"), "LAB_STATE": str(base / "state"),
           "VAGRANT_DOTFILE_PATH": str(base / "vagrant"), "RSCCTL": RSCCTL,
           "VAGRANT_NO_COLOR": "1", "VAGRANT_CHECKPOINT_DISABLE": "1"}
    v = Vms(base, base / "out", base / "state", base / "secrets", base / "runs", env,
            Path("/proc/sys/net/ipv4/ip_forward").read_text().strip())
    _ok(v.rscctl("lab", "vm-clean"), "lab vm-clean before")
    _ok(v.rscctl("plan", str(BUILD), "--out", str(v.out)), "plan")
    _ok(v.rscctl("pki", str(BUILD), "--out", str(v.out), "--secrets", str(v.secrets)), "pki")
    t = time.monotonic()
    _ok(v.rscctl("lab", "box", timeout=1800), "lab box")
    v.timings["box_s"] = time.monotonic() - t
    try:
        t = time.monotonic()
        up = v.vagrant("up", "--provider", "libvirt", *HOSTS)
        if up.returncode != 0:
            for h in HOSTS:  # the serial consoles (Vagrantfile): where a boot stopped
                log = Path(f"/var/log/libvirt/qemu/rscctl-lab_{h}-console.log")
                tail = log.read_text(errors="replace")[-1500:] if log.is_file() else "none"
                up.stderr += f"\n--- console of {h}:\n{tail}"
        _ok(up, "vagrant up")
        v.timings["up_s"] = time.monotonic() - t
        _ok(v.rscctl("lab", "trust", str(BUILD), *HOSTS, "--state-dir", str(v.state),
                     "--out", str(v.out)), "lab trust")
        yield v
    finally:
        v.vagrant("destroy", "-f")
        v.rscctl("lab", "vm-clean")
