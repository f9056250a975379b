"""NetBox push benchmark: `rscctl netbox push` of a build into an empty NetBox (bound 10 min
for phase 1), then a push with no change (bound 1 min), against the test harness's NetBox
(tests/netbox/harness.py: installed and migrated once, gunicorn on loopback).

    .venv/bin/python benchmarks/netbox_bench.py [BUILD]      (default phase1)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.netbox import harness  # noqa: E402

BIN = Path(sys.executable).parent
BOUNDS = {"empty NetBox": 600.0, "no change": 60.0}


def main() -> None:
    build = sys.argv[1] if len(sys.argv) > 1 else "phase1"
    t = time.monotonic()
    harness.setup()
    harness.reset()
    srv = harness.start(workers=int(os.environ.get("RSCCTL_NB_WORKERS", "3")))
    print(f"NetBox ready in {time.monotonic() - t:.0f} s at {srv.url}")
    failed = False
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / build
            subprocess.run([str(BIN / "rscctl"), "plan", build, "--out", str(out), "--only",
                            "plan"], check=True, capture_output=True)
            env = dict(os.environ, RSCCTL_NETBOX_TOKEN=harness.TOKEN)
            for label, bound in BOUNDS.items():
                start = time.perf_counter()
                r = subprocess.run([str(BIN / "rscctl"), "netbox", "push", build, "--out",
                                    str(out), "--url", srv.url], env=env, capture_output=True,
                                   text=True, check=False)
                wall = time.perf_counter() - start
                if r.returncode != 0:
                    sys.exit(f"push failed ({r.returncode}): {r.stderr[-2000:]}")
                ok = wall <= bound
                failed |= not ok
                last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
                print(f"{label:>13}: {wall:7.1f} s (bound {bound:.0f} s, "
                      f"{'ok' if ok else 'OVER'})  {last}")
    finally:
        srv.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
