"""Fabric benchmark: `verify cabling` of phase 2 (32,000 cables, 48,000 links with the
directors' own) against ibnetdiscover's output of the simulated fabric. Goal: <= 2 s.

Plans the build and writes plan.json (not timed), serves its fabric in ibsim with two cables
swapped and discovers it with the real ibnetdiscover (timed, reported, not part of the goal),
then times the command as a user runs it (`rscctl verify cabling BUILD --out OUT --discovered
FILE --format json`, a fresh process: start-up, plan.json, parse, compare, output), best of
--repeat, and its stages in-process (with the collector paused, as the command runs them).
--keep DIR keeps plan.json and the discovered file in DIR and reuses them on the next run
(ibsim and ibnetdiscover take ~30 s for phase 2). --up also times `rscctl lab fabric up BUILD`
(ibsim and one OpenSM ftree sweep; phase 2: minutes, over 1 GB).

    .venv/bin/python benchmarks/fabric_bench.py [--build phase2] [--repeat 3] [--keep DIR] [--up]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rscctl.declare import load_build  # noqa: E402
from rscctl.export.ibfabric import ib_fabric  # noqa: E402
from rscctl.export.ibtopo import export_fabric  # noqa: E402
from rscctl.gcpause import paused_gc  # noqa: E402
from rscctl.planjson import generate_plan_json, read_plan  # noqa: E402
from rscctl.planner import build_plan  # noqa: E402
from rscctl.verify.cabling import verify_cabling  # noqa: E402
from rscctl.verify.ibnetdiscover import read_discovered  # noqa: E402
from tests.ibsim_harness import ibsim  # noqa: E402


def discovered_fabric(build: str, out: Path, work: Path) -> Path:
    """OUT/plan.json and WORK/discovered.txt of the build with two rails swapped at one node
    (made with ibsim and ibnetdiscover; reused when both are there: delete them after changing
    the planner)."""
    found = work / "discovered.txt"
    if (out / "plan.json").is_file() and found.is_file():
        print(f"{build}: reusing {out / 'plan.json'} and {found}")
        return found
    plan = build_plan(load_build(build))
    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.json").write_text(generate_plan_json(plan))
    cables = list(plan.cables)
    i = next(n for n, c in enumerate(cables) if c.cable_id.startswith("C1-"))
    a, b = cables[i], cables[i + 1]  # two rails of one node
    cables[i], cables[i + 1] = replace(a, a_port=b.a_port), replace(b, a_port=a.a_port)
    bad = replace(plan, cables=tuple(cables))
    net = work / "net.topo"
    net.write_bytes(export_fabric(bad)["fabric/compute.topo"])
    t0 = time.perf_counter()
    with ibsim(net, ib_fabric(bad).limits(), work) as sim:
        t1 = time.perf_counter()
        text = sim.ibnetdiscover()
        t2 = time.perf_counter()
    found.write_text(text)
    links = sum(1 for c in plan.cables if c.fabric == "compute")
    print(f"{build}: {links:,} compute cables; ibsim ready {t1 - t0:.1f} s, "
          f"ibnetdiscover {t2 - t1:.1f} s ({len(text) / 1e6:.1f} MB)")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="phase2", help="the build to plan and verify")
    ap.add_argument("--repeat", type=int, default=3, help="fresh-process runs; the best counts")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="keep plan.json and the "
                    "discovered file here and reuse them next time (made anew when either is "
                    "missing)")
    ap.add_argument("--up", action="store_true", help="also time `rscctl lab fabric up`")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="fabric-bench-") as tmp:
        work = args.keep or Path(tmp)
        out = work / "out"
        found = discovered_fabric(args.build, out, work)
        text = found.read_text()

        cmd = [str(ROOT / ".venv/bin/rscctl"), "verify", "cabling", args.build, "--out",
               str(out), "--discovered", str(found), "--format", "json"]
        best = float("inf")
        doc: dict[str, object] = {}
        for _ in range(args.repeat):
            s = time.perf_counter()
            res = subprocess.run(cmd, capture_output=True, text=True, check=False)
            best = min(best, time.perf_counter() - s)
            assert res.returncode == 1, res.stderr
            doc = json.loads(res.stdout)
        print(f"rscctl verify cabling (fresh process): {best:.2f} s best of {args.repeat} "
              f"(goal 2 s); findings {doc['counts']}")

        with paused_gc():  # as the command runs them
            s = time.perf_counter()
            p = read_plan(out / "plan.json")
            s1 = time.perf_counter()
            topo = read_discovered(text, str(found))
            s2 = time.perf_counter()
            fab = ib_fabric(p)
            s3 = time.perf_counter()
            rep = verify_cabling(p, topo, fab)
            s4 = time.perf_counter()
        print(f"  in-process: plan.json {s1 - s:.2f} s, parse {s2 - s1:.2f} s, fabric graph "
              f"{s3 - s2:.2f} s, compare {s4 - s3:.2f} s ({rep.discovered_links:,} links, "
              f"{len(rep.findings)} findings: {rep.findings[0].fix if rep.findings else '-'})")

        if args.up:
            state = work / "fabric"
            s = time.perf_counter()
            res = subprocess.run([str(ROOT / ".venv/bin/rscctl"), "lab", "fabric", "up",
                                  args.build, "--state-dir", str(state)],
                                 capture_output=True, text=True, check=False)
            print(f"lab fabric up {args.build}: {time.perf_counter() - s:.1f} s, exit "
                  f"{res.returncode}: {res.stdout.strip()}")
            subprocess.run([str(ROOT / ".venv/bin/rscctl"), "lab", "fabric", "down",
                            "--state-dir", str(state)], check=False)


if __name__ == "__main__":
    main()
