"""Export benchmark: every deliverable kind of a build, rendered from one plan, timed per kind.

Plans the build once (not timed as export), then renders each kind registered in EXPORTERS in
registry order, in this one process, as `rscctl plan` does, and prints seconds per kind, the
total and peak RSS (the process high-water mark, which includes the plan itself; the RSS after
planning is printed too). With --from-json the plan is first written to plan.json and read
back, as `rscctl export` does. Goal (issue 3): every deliverable of phase 2 in <= 10 s and
<= 1 GB on this machine.

    .venv/bin/python benchmarks/export_bench.py [BUILD] [--from-json] [--only KIND ...]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rscctl.declare import load_build  # noqa: E402
from rscctl.export import EXPORTERS  # noqa: E402
from rscctl.planjson import generate_plan_json, parse_plan_json  # noqa: E402
from rscctl.planner import build_plan  # noqa: E402


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", nargs="?", default="phase2")
    ap.add_argument("--from-json", action="store_true", help="render from plan.json text")
    ap.add_argument("--only", action="append", choices=list(EXPORTERS), help="kinds to time")
    args = ap.parse_args()
    start = time.perf_counter()
    plan = build_plan(load_build(args.build))
    if args.from_json:
        plan = parse_plan_json(generate_plan_json(plan))
    print(f"{args.build}: planned in {time.perf_counter() - start:.2f} s, "
          f"{len(plan.devices):,} devices, {len(plan.cables):,} cables; "
          f"peak RSS so far {rss_mb():.0f} MB")
    total = 0.0
    size = 0
    for kind in args.only or list(EXPORTERS):
        t0 = time.perf_counter()
        files = EXPORTERS[kind](plan)
        dt = time.perf_counter() - t0
        total += dt
        nbytes = sum(len(v) for v in files.values())
        size += nbytes
        print(f"  {kind:<10} {dt:6.2f} s  {len(files):4d} files  {nbytes / 1e6:8.1f} MB")
    verdict = "ok" if total <= 10 and rss_mb() <= 1024 else "OVER the 10 s / 1 GB goal"
    print(f"total render {total:.2f} s, {size / 1e6:.1f} MB of files; "
          f"peak RSS {rss_mb():.0f} MB ({verdict})")


if __name__ == "__main__":
    main()
