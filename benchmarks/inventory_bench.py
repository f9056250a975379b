"""Inventory benchmark: `ansible-inventory --list --export` (what AWX's inventory sync runs) on
phase 2, through the rsc.cluster.plan plugin (first load and cached) and on the inventory files
`rscctl plan` writes. Goal: the plugin <= 5 s (issue 11; the written files took 16 s).

Plans the build once into a scratch dir (not timed), then runs stock ansible-inventory in a
child process per measurement: wall, CPU (user + sys of the child) and peak RSS.

    .venv/bin/python benchmarks/inventory_bench.py [--build phase2] [--repeat 2] [--skip-written]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GOAL_S = 5.0


def run(source: Path, env: dict[str, str], *args: str) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS MB) of one ansible-inventory child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), *args],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        sys.exit(f"ansible-inventory failed:\n{res.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss // 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="phase2")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-written", action="store_true",
                    help="do not time the written inventory files (slow)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rscctl-invbench-") as tmp:
        t = Path(tmp)
        out = t / a.build
        subprocess.run([str(BIN / "rscctl"), "plan", a.build, "--out", str(out)], check=True,
                       stdout=subprocess.DEVNULL)
        env = {**os.environ, "ANSIBLE_HOME": str(t / "ah"), "ANSIBLE_LOCAL_TEMP": str(t / "lt"),
               "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "RSCCTL_CACHE_DIR": str(t / "cache"),
               "RSCCTL_PLAN": str(out / "plan.json"), "PATH": f"{BIN}:{os.environ['PATH']}"}
        src = ROOT / "inventory" / f"{a.build}.rsc.yml"
        rows = []
        for _ in range(a.repeat):
            if (t / "cache").exists():
                subprocess.run(["rm", "-rf", str(t / "cache")], check=True)
            rows.append(("plugin, first load", *run(src, env, "--list", "--export")))
            rows.append(("plugin, cached", *run(src, env, "--list", "--export")))
            rows.append(("plugin --graph, cached", *run(src, env, "--graph")))
        if not a.skip_written:
            rows.append(("written files", *run(out / "ansible/inventory", env, "--list",
                                                 "--export")))
    print(f"ansible-inventory --list --export, build {a.build} (load average "
          f"{os.getloadavg()[0]:.1f}); goal {GOAL_S:.0f} s")
    best: dict[str, tuple[float, float, int]] = {}
    for name, wall, cpu, rss in rows:
        if name not in best or wall < best[name][0]:
            best[name] = (wall, cpu, rss)
    for name, (wall, cpu, rss) in best.items():
        print(f"  {name:24} {wall:6.2f} s wall  {cpu:6.2f} s CPU  {rss:5d} MB peak (children)")


if __name__ == "__main__":
    main()
