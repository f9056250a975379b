"""Firewall benchmark: render and verify the phase-2 rulesets. Goal: <= 2 s together.

Plans the build once (not timed: that is the plan benchmark's figure), then times, best of
--repeat runs: rendering every ruleset (zones from the address plan, graph, template), writing
them, and `verify firewall` (each ruleset loaded by real nft in a throwaway network namespace,
read back with `nft -j`, parsed and proved). Prints wall times, sizes and peak RSS.

    .venv/bin/python benchmarks/firewall_bench.py [--build phase2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rscctl.declare import load_build  # noqa: E402
from rscctl.firewall.render import export_firewall  # noqa: E402
from rscctl.outputs import write_files  # noqa: E402
from rscctl.planner import build_plan  # noqa: E402
from rscctl.planner.model import Plan  # noqa: E402
from rscctl.verify.firewall import verify_firewall  # noqa: E402


def once(plan: Plan, out: Path) -> tuple[float, float, int, int]:
    t0 = time.perf_counter()
    files = export_firewall(plan)
    write_files(out, files)
    t1 = time.perf_counter()
    rep = verify_firewall(plan, out / "firewall")
    t2 = time.perf_counter()
    if not rep.passed:
        sys.exit("verify failed:\n" + "\n".join(map(str, rep.findings)))
    size = sum(len(v) for k, v in files.items() if k.endswith(".nft"))
    return t1 - t0, t2 - t1, size, rep.rules


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="phase2")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t = time.perf_counter()
    plan = build_plan(load_build(args.build), check=False)
    print(f"{args.build}: planned in {time.perf_counter() - t:.2f} s (not counted), "
          f"{len(plan.addresses):,} addresses")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            runs.append(once(plan, Path(tmp) / str(i)))
    render_s, verify_s, size, rules = min(runs, key=lambda r: r[0] + r[1])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"render {render_s:.2f} s ({size / 1024:.0f} KiB of rulesets), "
          f"verify {verify_s:.2f} s ({rules} rules parsed back by nft), "
          f"total {render_s + verify_s:.2f} s (goal <= 2 s); peak RSS {rss:.0f} MiB "
          f"(includes the plan)")


if __name__ == "__main__":
    main()
