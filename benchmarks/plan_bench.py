"""Plan benchmark: wall time and peak memory of `rscctl plan` at 1, 10, 38 and 100 SUs.

Each size is the phase-2 declaration cut down to its first N SUs, planned in a fresh process
(so peak RSS is that run's own) with every check and the outputs of `rscctl plan` named by
--only (default: plan.json and the CSVs). Prints one line per size and the cost per SU, which
stays flat when cost grows linearly. Goal for phase 2: <= 3 s wall and <= 500 MB peak (issue 2),
<= 5 s and 800 MB with all four networks (issue 4).

    .venv/bin/python benchmarks/plan_bench.py [--only KIND ...] [--sizes 1,10,38,100]
        [--compute-only]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rscctl.declare.loader import _load_chain, topology_dir  # noqa: E402

# The sections beyond the compute fabric (issue 4 and 5): --compute-only drops them, to time
# what issue 2 asked for (the Clos alone, goal <= 3 s for phase 2).
BEYOND_COMPUTE = ("storage", "management", "dns", "policy", "servers", "networks")


def cut_build(sus: int, compute_only: bool = False) -> dict[str, Any]:
    """The phase-2 declaration with only its first `sus` SUs."""
    data = _load_chain(topology_dir() / "phase2.yaml", ())[-1].data
    if compute_only:
        for key in BEYOND_COMPUTE:
            data.pop(key, None)
    data["name"] = f"bench{sus}"
    data["catalog"] = str(topology_dir() / "catalog.yaml")
    c = data["compute"]
    per = c.get("nodes_per_su", 20)
    if "storage" in data:  # the storage target scales with the GPUs it feeds
        data["storage"]["target_tbytes_s"] *= sus / c["scalable_units"]
    c["scalable_units"] = sus
    c["gpu_nodes"] = sus * per
    c["gpus"] = sus * per * 8
    for hall in data["floorplan"]["halls"]:
        for row in hall["rows"]:
            if "sus" in row:
                row["sus"] = [s for s in row["sus"] if s <= sus]
    return data


def run(sus: int, kinds: list[str], tmp: Path, compute_only: bool) -> tuple[float, float]:
    path = tmp / f"bench{sus}.yaml"
    path.write_text(yaml.safe_dump(cut_build(sus, compute_only), sort_keys=False))
    cmd = [str(Path(sys.executable).parent / "rscctl"), "plan", str(path), "--out",
           str(tmp / f"out{sus}")]
    for k in kinds:
        cmd += ["--only", k]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"plan of {sus} SUs failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", default=None)
    ap.add_argument("--sizes", default="1,10,38,100")
    ap.add_argument("--compute-only", action="store_true",
                    help="drop storage, management, addresses and policy (issue 2's scope)")
    args = ap.parse_args()
    kinds = args.only or ["plan", "csv"]
    print(f"rscctl plan --only {' --only '.join(kinds)}  (fresh process per size)")
    print(f"{'SUs':>5} {'nodes':>6} {'wall s':>8} {'peak MB':>8} {'ms/SU':>7}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for sus in (int(s) for s in args.sizes.split(",")):
            wall, peak = run(sus, kinds, Path(tmp), args.compute_only)
            rows.append((sus, wall))
            print(f"{sus:>5} {sus * 20:>6} {wall:>8.2f} {peak:>8.0f} {wall / sus * 1000:>7.1f}")
    if len(rows) >= 2:
        (s0, w0), (s1, w1) = rows[-2], rows[-1]
        print(f"marginal cost {s0}->{s1} SUs: {(w1 - w0) / (s1 - s0) * 1000:.1f} ms per SU "
              "(flat marginal cost = linear growth; the 1-SU figure is mostly start-up)")


if __name__ == "__main__":
    main()
