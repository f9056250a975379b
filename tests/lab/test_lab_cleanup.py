"""`lab down` leaves nothing behind: after a normal run, and after `lab up` was killed half way.

Each test runs its own small lab (1 SU of 2 nodes) in its own state dir, beside the session
lab, and checks for leftovers with its own probes as well as with `lifecycle.leftovers`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rscctl.cli import main
from rscctl.lab import lifecycle
from rscctl.lab.lifecycle import LABEL, engine
from rscctl.lab.state import LabState
from tests.conftest import small_build_dict, write_build
from tests.lab.fixtures import needs_lab

pytestmark = [pytest.mark.lab, needs_lab]
RSCCTL = str(Path(sys.executable).parent / "rscctl")
ROOT = Path(__file__).resolve().parents[2]


def tiny_build(tmp_path: Path) -> Path:
    doc = small_build_dict(sus=1, nodes_per_su=2, spines=1, name="tiny")
    doc["networks"] = {"inband": {"supernet": "10.240.64.0/20"}}
    return write_build(tmp_path, doc, "tiny.yaml")


def tiny_plan(tmp_path: Path) -> Path:
    """The tiny build planned into tmp_path/out: the lab runs a written plan."""
    assert main(["plan", str(tiny_build(tmp_path)), "--out", str(tmp_path / "out")]) == 0
    return tmp_path / "out" / "plan.json"


def traces(st: LabState, merged: list[str]) -> list[str]:
    """Everything of the lab the host still shows, probed independently of lifecycle."""
    found = []
    ps = engine(st.state_dir)("ps", "-a", "-q", "--filter", f"label={LABEL}={st.lab_id}",
                              check=False)
    found += [f"container {c}" for c in ps.stdout.split()]
    netns = Path("/run/netns")
    found += [f"netns {p.name}" for p in (netns.iterdir() if netns.is_dir() else [])
              if p.name.startswith(st.prefix)]
    mountinfo = Path("/proc/self/mountinfo").read_text()
    found += [f"mount {m}" for m in [st.prefix, *merged] if m in mountinfo]
    found += [f"cgroup {d}" for m in merged if m.startswith("libpod-")
              for d in Path("/sys/fs/cgroup").glob(f"*/libpod_parent/{m}")]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if st.prefix.encode() in cmd and state != "Z":
            found.append(f"process {proc.name}: {cmd[:80]!r}")
    return found


def merged_dirs(st: LabState) -> list[str]:
    """Each container's overlay root and cgroup dir: both must be gone after `down`."""
    res = engine(st.state_dir)("ps", "-a", "-q", "--no-trunc", "--filter",
                               f"label={LABEL}={st.lab_id}")
    ids = res.stdout.split()
    if not ids:
        return []
    out = engine(st.state_dir)("inspect", "--format", "{{.GraphDriver.Data.MergedDir}}", *ids)
    return [d for d in out.stdout.split() if d] + [f"libpod-{i}" for i in ids]


def test_down_leaves_nothing(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    try:
        st = lifecycle.up(str(tiny_build(tmp_path)), state_dir, tiny_plan(tmp_path))
        merged = merged_dirs(st)
        assert len(merged) == 8  # 2 nodes + 2 zone hosts: overlay root and cgroup of each
        assert all(m in Path("/proc/self/mountinfo").read_text() for m in merged[:4])
        assert all(any(Path("/sys/fs/cgroup").glob(f"*/libpod_parent/{c}")) for c in merged[4:])
        assert traces(st, merged), "the probes must see a running lab"
        # an ssh master such as Ansible's ControlPersist leaves behind
        master = subprocess.Popen(
            ["ssh", "-F", str(st.path("ssh_config")), "-o", "ControlMaster=yes", "-o",
             f"ControlPath={tmp_path}/cm", "-N", "dgx0001"], stdin=subprocess.DEVNULL)
        time.sleep(0.5)
        assert master.poll() is None
    finally:
        report = lifecycle.down(state_dir)
    master.wait(timeout=5)
    assert report.containers == 4 and report.namespaces == 6 and report.ssh_clients == 1
    assert traces(st, merged) == []
    assert lifecycle.leftovers(state_dir) == []
    assert not st.path("state.json").exists()
    assert lifecycle.down(state_dir).containers == 0  # repeating is harmless


def test_down_after_up_was_killed_half_way(tmp_path: Path) -> None:
    """SIGKILL `rscctl lab up` once containers are being made; `down` still cleans it all."""
    state_dir = tmp_path / "state"
    tiny_plan(tmp_path)
    proc = subprocess.Popen([RSCCTL, "lab", "up", str(tiny_build(tmp_path)), "--state-dir",
                             str(state_dir), "--out", str(tmp_path / "out")],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    st = LabState(state_dir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        doc = json.loads(st.path("state.json").read_text()) if st.path(
            "state.json").is_file() else {}
        if doc.get("containers"):
            break
        assert proc.poll() is None, "lab up ended before it could be killed"
        time.sleep(0.02)
    else:
        pytest.fail("lab up never reached the container step")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert LabState.load(state_dir).phase == "starting"
    try:
        assert Path("/run/netns", st.switch_ns).exists()
    finally:
        lifecycle.down(state_dir)
    time.sleep(0.2)  # podman calls the crashed `up` left behind were killed by `down`
    assert traces(st, []) == []
    assert lifecycle.leftovers(state_dir) == []


def test_unworkable_engine_is_said_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """podman that cannot run (here: a runtime this machine lacks) -> exit 2, one message."""
    conf = tmp_path / "containers.conf"
    conf.write_text(Path(ROOT / "templates/lab/containers.conf").read_text()
                    .replace('runtime = "runc"', 'runtime = "no-such-runtime"'))
    monkeypatch.setenv("RSCCTL_LAB_CONTAINERS_CONF", str(conf))
    state_dir = tmp_path / "state"
    assert main(["lab", "up", str(tiny_build(tmp_path)), "--state-dir", str(state_dir)]) == 2
    err = capsys.readouterr().err
    assert "podman cannot run on this machine" in err and "Traceback" not in err
    assert lifecycle.leftovers(state_dir) == []


def test_missing_podman_is_said_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ip").symlink_to(shutil.which("ip") or "/usr/sbin/ip")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert main(["lab", "up", str(tiny_build(tmp_path)), "--state-dir",
                 str(tmp_path / "state")]) == 2
    assert "podman is not installed" in capsys.readouterr().err
