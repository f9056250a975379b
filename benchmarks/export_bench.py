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
import os
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

# The deliverables of issue 3 (the 10 s / 1 GB goal); plan.json and the CSVs come from issue 2
# and the other kinds from other issues, timed here too since `rscctl plan` writes them all.
ISSUE3 = ("xlsx", "labels", "drawings", "html", "netbox", "fabric")


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
    total = issue3 = cpu_total = 0.0
    size = 0
    print(f"  {'kind':<10} {'wall s':>7} {'cpu s':>6} {'files':>6} {'MB':>7}")
    for kind in args.only or list(EXPORTERS):
        t0, c0 = time.perf_counter(), time.process_time()
        files = EXPORTERS[kind](plan)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        total += dt
        cpu_total += dc
        issue3 += dt if kind in ISSUE3 else 0.0
        nbytes = sum(len(v) for v in files.values())
        size += nbytes
        mark = " *" if kind in ISSUE3 else ""
        print(f"  {kind:<10} {dt:7.2f} {dc:6.2f} {len(files):6d} {nbytes / 1e6:7.1f}{mark}")
    verdict = "ok" if issue3 <= 10 and rss_mb() <= 1024 else "OVER the 10 s / 1 GB goal"
    print(f"issue-3 kinds (*): {issue3:.2f} s ({verdict}); all kinds: {total:.2f} s wall, "
          f"{cpu_total:.2f} s CPU, {size / 1e6:.1f} MB of files; peak RSS {rss_mb():.0f} MB")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(wall times stretch when others share the machine; CPU times do less)")


if __name__ == "__main__":
    main()
