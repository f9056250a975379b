"""Growth benchmark (issue 14): `rscctl plan phase2 --from phase1` against `rscctl plan phase2`
(the bound is 2x), and OpenSM fat-tree routing on ibsim at the first and the last growth step
of phase 1 -> phase 2 (--opensm; ~2 minutes and ~1.2 GB for the last step, see shared/lab.md).

    .venv/bin/python benchmarks/growth_bench.py [--opensm]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RSCCTL = [sys.executable, "-m", "rscctl"]


def timed(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([*RSCCTL, *args], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


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
    with tempfile.TemporaryDirectory(prefix="rscctl-growth-") as tmp:
        alone = timed("plan", "phase2", "--out", f"{tmp}/a")
        grown = timed("plan", "phase2", "--from", "phase1", "--out", f"{tmp}/b")
    print(f"plan phase2: {alone:.2f} s; plan phase2 --from phase1: {grown:.2f} s "
          f"({grown / alone:.2f}x, bound 2x)")
    if "--opensm" in sys.argv:
        opensm_steps()


if __name__ == "__main__":
    main()
