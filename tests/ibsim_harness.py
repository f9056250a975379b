"""Run ibsim, ibnetdiscover and OpenSM on a topology file, for tests (see shared/lab.md).

Each simulator gets its own IBSIM_SOCKNAME (else a second one fails to bind and clients talk
to the first), -n (no console: with an idle stdin ibsim spins), and -N/-S/-P sized for the
fabric (defaults stop at 2,048 nodes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

IB_TOOLS = ("ibsim", "ibsim-run", "ibnetdiscover", "opensm")


def need_ib_tools() -> None:
    """Skip (with the reason) when the Debian packages are absent; CI has them."""
    missing = [t for t in IB_TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install ibsim-utils "
                    "infiniband-diags opensm)")


class Sim:
    def __init__(self, env: dict[str, str], work: Path,
                 proc: subprocess.Popen[str] | None = None, log: Path | None = None) -> None:
        self.env = env
        self.work = work
        self.proc = proc
        self.log = log

    def console(self, command: str, timeout: float = 10) -> str:
        """Run one ibsim console command (`Unlink "S-<guid>"[3]`: netfile node names, not
        descriptions) and return what it printed; needs ibsim(..., console=True)."""
        assert self.proc is not None and self.proc.stdin is not None and self.log is not None
        before = self.log.read_text(errors="replace").count("sim>")
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            # ibsim prints its prompt after each answer: the answer ends at the next prompt
            text = self.log.read_text(errors="replace")
            if text.count("sim>") > before:
                return text.split("sim>")[before]
            if time.monotonic() > deadline:
                raise AssertionError(f"ibsim console: no answer to {command!r}: {text[-500:]}")
            time.sleep(0.05)

    def run(self, *cmd: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        # umad2sim writes a fake sysfs (sys-PID/) into the client's working directory
        return subprocess.run(["ibsim-run", *cmd], env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False, cwd=self.work)

    def ibnetdiscover(self) -> str:
        res = self.run("ibnetdiscover")
        assert res.returncode == 0, res.stderr[-2000:]
        return res.stdout

    def opensm_ftree(self, roots: Path, cn: Path | None = None) -> str:
        """One sweep of OpenSM with fat-tree routing; returns its log."""
        d = self.work / f"osm-{uuid.uuid4().hex[:6]}"
        d.mkdir()
        env = {**self.env, "OSM_TMP_DIR": str(d), "OSM_CACHE_DIR": str(d)}
        cmd = ["ibsim-run", "opensm", "-o", "-R", "ftree", "-a", str(roots),
               "-f", str(d / "osm.log")]
        if cn is not None:
            cmd += ["-u", str(cn)]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                             check=False, cwd=d)
        log = (d / "osm.log").read_text(errors="replace")
        assert res.returncode == 0, res.stderr[-2000:] + log[-2000:]
        return log


@contextmanager
def ibsim(netfile: Path, limits: tuple[int, int, int], work: Path,
          console: bool = False) -> Iterator[Sim]:
    """An ibsim serving `netfile` until the block ends (stopped even when a test fails).
    With `console`, its stdin is a pipe held open (commands through Sim.console; an idle
    closed stdin would make it spin), else -n."""
    nodes, switches, ports = limits
    sock = f"rscctl-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "IBSIM_SOCKNAME": sock}
    log = work / f"ibsim-{sock}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["ibsim", "-s", *([] if console else ["-n"]), "-N", str(nodes + 16),
             "-S", str(switches + 8), "-P", str(ports + 64), str(netfile)],
            env=env, stdin=subprocess.PIPE if console else subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, text=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "ready" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"ibsim did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield Sim(env, work, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
