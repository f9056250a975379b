"""PKI benchmark: `rscctl pki` on a build's plan, first run (every key and certificate made)
and second run (every key kept), wall time and peak memory, each in a fresh process.

    .venv/bin/python benchmarks/pki_bench.py [BUILD]      (default phase2: ~2,500 nodes)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(cmd: list[str]) -> tuple[float, float, str]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.read() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024, " ".join(out.split())


def main() -> None:
    build = sys.argv[1] if len(sys.argv) > 1 else "phase2"
    with tempfile.TemporaryDirectory() as tmp:
        out, secrets = Path(tmp) / "out", Path(tmp) / "secrets"
        timed([str(BIN / "rscctl"), "plan", build, "--out", str(out), "--only", "plan"])
        for label in ("first run", "second run"):
            wall, peak, text = timed([str(BIN / "rscctl"), "pki", build, "--out", str(out),
                                      "--secrets", str(secrets)])
            print(f"{label:>10}: {wall:6.2f} s wall, {peak:5.0f} MB peak  ({text[:90]})")


if __name__ == "__main__":
    main()
