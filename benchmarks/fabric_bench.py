"""Fabric benchmark: `verify cabling` of phase 2 (32,000 cables, 48,000 links with the
directors' own) against ibnetdiscover's output of the simulated fabric. Goal: <= 2 s.

Plans the build and writes plan.json (not timed), serves its fabric in ibsim with two cables
swapped and discovers it with the real ibnetdiscover (timed, reported, not part of the goal),
then times the command as a user runs it (`rscctl verify cabling BUILD --out OUT --discovered
FILE --format json`, a fresh process: start-up, plan.json, parse, compare, output), best of
--repeat, and its stages in-process. --up also times `rscctl lab fabric up BUILD` (ibsim and
one OpenSM ftree sweep; phase 2: minutes, over 1 GB).

    .venv/bin/python benchmarks/fabric_bench.py [--build phase2] [--repeat 3] [--up]
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
from rscctl.planjson import generate_plan_json, read_plan  # noqa: E402
from rscctl.planner import build_plan  # noqa: E402
from rscctl.verify.cabling import verify_cabling  # noqa: E402
from rscctl.verify.ibnetdiscover import read_discovered  # noqa: E402
from tests.ibsim_harness import ibsim  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="phase2")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--up", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="fabric-bench-") as tmp:
        work = Path(tmp)
        plan = build_plan(load_build(args.build))
        out = work / "out"
        out.mkdir()
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
        found = work / "discovered.txt"
        found.write_text(text)
        links = sum(1 for c in plan.cables if c.fabric == "compute")
        print(f"{args.build}: {links:,} compute cables; ibsim ready {t1 - t0:.1f} s, "
              f"ibnetdiscover {t2 - t1:.1f} s ({len(text) / 1e6:.1f} MB)")

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

        s = time.perf_counter()
        p = read_plan(out / "plan.json")
        s1 = time.perf_counter()
        topo = read_discovered(text, str(found))
        s2 = time.perf_counter()
        rep = verify_cabling(p, topo)
        s3 = time.perf_counter()
        print(f"  in-process: plan.json {s1 - s:.2f} s, parse {s2 - s1:.2f} s, compare "
              f"{s3 - s2:.2f} s ({rep.discovered_links:,} links, {len(rep.findings)} findings: "
              f"{rep.findings[0].fix if rep.findings else '-'})")

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
