"""`rscctl lab fabric up/status/down/console` on the lab build, `down` after a killed `up`,
and `verify cabling --live` through the simulator: locally and over SSH to a real sshd on
loopback (paramiko, host key pinned from known_hosts; an unknown or changed key exits 2)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rscctl.cli import main
from rscctl.declare import load_build
from rscctl.lab.fabric import fabric_pids, fabric_sockets
from rscctl.planjson import generate_plan_json
from rscctl.planner import build_plan
from tests.ibsim_harness import need_ib_tools

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def lab_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lab-out")
    (out / "plan.json").write_text(generate_plan_json(build_plan(load_build("lab"))))
    return out


@pytest.fixture
def fabric(tmp_path: Path) -> Iterator[Path]:
    need_ib_tools()
    d = tmp_path / "fabric"
    yield d
    if (d / "state.json").exists():
        main(["lab", "fabric", "down", "--state-dir", str(d)])


def _sock(d: Path) -> str:
    return str(json.loads((d / "state.json").read_text())["sock"])


def test_up_status_verify_console_down(fabric: Path, lab_out: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "lab", "fabric", "up", "lab", "--state-dir", str(fabric))
    assert code == 0, out
    assert "ftree tables configured on all switches" in out and "82 nodes, 128 links" in out
    sock = _sock(fabric)
    assert fabric_sockets(sock) and len(fabric_pids(sock)) == 1
    code, out, _ = _run(capsys, "lab", "fabric", "status", "--state-dir", str(fabric))
    assert code == 0 and "running" in out and "routing ftree" in out
    # a second up on the same state refuses
    code, _, err = _run(capsys, "lab", "fabric", "up", "lab", "--state-dir", str(fabric))
    assert code == 2 and "is up in" in err
    live = ("verify", "cabling", "lab", "--out", str(lab_out), "--live", "--lab", str(fabric))
    code, out, _ = _run(capsys, *live)
    assert code == 0 and "matches the plan" in out
    code, out, _ = _run(capsys, "verify", "routing", "lab", "--out", str(lab_out), "--lab",
                        str(fabric))
    assert code == 0 and "worst link load 1 overall" in out
    # a link goes down at run time: the next live run names its cable
    leaf = next(line for line in (fabric / "compute.topo").read_text().splitlines()
                if '# "leaf-s002-r7"' in line and line.startswith("Switch"))
    node_id = leaf.split('"')[1]
    code, _, _ = _run(capsys, "lab", "fabric", "console", f'Unlink "{node_id}"[3]',
                      "--state-dir", str(fabric))
    assert code == 0
    code, out, _ = _run(capsys, *live, "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["counts"] == {"missing": 1}
    assert doc["findings"][0]["cables"][0]["cable_id"] == "C1-S002-N03-R7"
    code, out, _ = _run(capsys, "lab", "fabric", "down", "--state-dir", str(fabric))
    assert code == 0 and "1 processes ended, 0 sockets left" in out
    assert not fabric.exists() and fabric_pids(sock) == [] and fabric_sockets(sock) == []
    code, out, _ = _run(capsys, "lab", "fabric", "status", "--state-dir", str(fabric))
    assert code == 1 and "no fabric" in out


def test_down_after_up_was_killed(fabric: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SIGKILL `up` as soon as ibsim runs (before it is ready or routed): ibsim lives on in
    its own session; down finds it by its socket name and leaves nothing."""
    proc = subprocess.Popen([sys.executable, "-m", "rscctl", "lab", "fabric", "up", "lab",
                             "--state-dir", str(fabric)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        st = fabric / "state.json"
        if st.exists() and json.loads(st.read_text()).get("ibsim_pid"):
            break
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    sock = _sock(fabric)
    deadline = time.monotonic() + 10
    while not fabric_sockets(sock) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fabric_pids(sock), "ibsim should outlive the killed up"
    code, out, _ = _run(capsys, "lab", "fabric", "down", "--state-dir", str(fabric))
    assert code == 0 and "0 sockets left" in out
    assert fabric_pids(sock) == [] and fabric_sockets(sock) == [] and not fabric.exists()


# -- over SSH ---------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    """A real sshd on loopback: (port, its host public key, a client key it accepts)."""
    if os.geteuid() != 0 or shutil.which("sshd") is None:
        pytest.skip("needs root and openssh-server (sshd)")
    d = tmp_path / "sshd"
    d.mkdir()
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)],
                       check=True)
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        f"UsePAM no\nPidFile {d / 'sshd.pid'}\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")],
                            stderr=(d / "sshd.log").open("w"))
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline and proc.poll() is None, (
                (d / "sshd.log").read_text())
            time.sleep(0.05)
    try:
        yield port, d / "host.pub", d / "client"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_live_over_ssh_with_a_pinned_host_key(fabric: Path, lab_out: Path, tmp_path: Path,
                                              sshd: tuple[int, Path, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    port, host_pub, client_key = sshd
    assert main(["lab", "fabric", "up", "lab", "--state-dir", str(fabric)]) == 0
    capsys.readouterr()
    work = tmp_path / "remote"
    work.mkdir()
    remote = f"cd {work} && IBSIM_SOCKNAME={_sock(fabric)} ibsim-run ibnetdiscover"
    kt, ks = host_pub.read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {kt} {ks}\n")
    base = ("verify", "cabling", "lab", "--out", str(lab_out), "--live",
            "--ssh", f"root@127.0.0.1:{port}", "--identity", str(client_key),
            "--command", remote)
    code, out, err = _run(capsys, *base, "--known-hosts", str(known))
    assert code == 0 and "matches the plan" in out, err
    # a key not on record: refused, never added
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    code, _, err = _run(capsys, *base, "--known-hosts", str(empty))
    assert code == 2 and "no host key for it" in err and empty.read_text() == ""
    # a changed key: refused
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "o")],
                   check=True)
    ot, os_ = (tmp_path / "o.pub").read_text().split()[:2]
    other = tmp_path / "other_known_hosts"
    other.write_text(f"[127.0.0.1]:{port} {ot} {os_}\n")
    code, _, err = _run(capsys, *base, "--known-hosts", str(other))
    assert code == 2 and "differs" in err
    code, _, err = _run(capsys, *base[:-2])
    assert code == 2 and "--known-hosts" in err
