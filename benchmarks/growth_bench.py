"""Growth benchmark (issue 14): `rscctl plan phase2 --from phase1` against `rscctl plan phase2`
(the bound is 2x), and OpenSM fat-tree routing on ibsim at the first and the last growth step
of phase 1 -> phase 2 (--opensm; measured 81 s for the first and 258 s for the last step on
this 2-core machine under load, ~1.2 GB, see shared/lab.md).

Each command runs --repeat times (default 3), alternating, and the best wall and CPU time
(user + system of the child) of each are compared: on a shared machine the wall time of one run
swings by 2x with the others' load, the CPU time much less.

    .venv/bin/python benchmarks/growth_bench.py [--repeat N] [--opensm]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RSCCTL = [sys.executable, "-m", "rscctl"]


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(*args: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one rscctl run in a child process."""
    cpu, start = _child_cpu(), time.perf_counter()
    done = subprocess.run([*RSCCTL, *args], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"rscctl {' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return wall, _child_cpu() - cpu


def opensm_steps() -> None:
    sys.path.insert(0, str(ROOT))
    from rscctl.declare import load_build
    from rscctl.export.ibfabric import ib_fabric
    from rscctl.export.ibtopo import export_fabric
    from rscctl.growth.diff import diff_plans
    from rscctl.growth.steps import plan_growth
    from rscctl.outputs import write_files
    from rscctl.planner import build_plan
    from tests.ibsim_harness import ibsim

    g = plan_growth(diff_plans(build_plan(load_build("phase1"), check=False),
                               build_plan(load_build("phase2"))))
    for n in (1, len(g.steps)):
        with tempfile.TemporaryDirectory(prefix="rscctl-growth-") as tmp:
            work = Path(tmp)
            plan = g.step_plan(n)
            write_files(work, export_fabric(plan))
            start = time.perf_counter()
            with ibsim(work / "fabric" / "compute.topo", ib_fabric(plan).limits(), work) as sim:
                log = sim.opensm_ftree(work / "fabric" / "roots.guids",
                                       work / "fabric" / "cn.guids")
            ok = "ftree tables configured on all switches" in log and "ERR AB" not in log
            print(f"step {n}/{len(g.steps)}: OpenSM ftree {'ok' if ok else 'FAILED'} in "
                  f"{time.perf_counter() - start:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each command (best counts)")
    ap.add_argument("--opensm", action="store_true", help="also route the first and last step")
    args = ap.parse_args()
    alone: list[tuple[float, float]] = []
    grown: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="rscctl-growth-") as tmp:
        for n in range(max(1, args.repeat)):
            alone.append(timed("plan", "phase2", "--out", f"{tmp}/a{n}"))
            grown.append(timed("plan", "phase2", "--from", "phase1", "--out", f"{tmp}/b{n}"))
    for what, i in (("wall", 0), ("CPU", 1)):
        a, g = min(x[i] for x in alone), min(x[i] for x in grown)
        print(f"{what}: plan phase2 {a:.2f} s; plan phase2 --from phase1 {g:.2f} s "
              f"({g / a:.2f}x, bound 2x; best of {len(alone)})")
    if args.opensm:
        opensm_steps()


if __name__ == "__main__":
    main()
