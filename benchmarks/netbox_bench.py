"""NetBox push benchmark against the test harness's NetBox (tests/netbox/harness.py: installed
and migrated once, gunicorn with NetBox's own gunicorn.py on loopback, DEBUG off).

    .venv/bin/python benchmarks/netbox_bench.py [BUILD]            (default phase1)
        `rscctl netbox push` into an empty NetBox (bound 10 min for phase 1), then a push with
        no change (bound 1 min). Phase 1 takes hours on a 2-core machine: see --sus.
    .venv/bin/python benchmarks/netbox_bench.py BUILD --seeded
        the no-change push at full size: the catalog and racks pushed, the devices,
        interfaces and cables written by ORM (benchmarks/netbox_seed.py in nbshell), then
        `rscctl netbox push` twice (bound 1 min).
    .venv/bin/python benchmarks/netbox_bench.py BUILD --sus "SU 1,SU 2"
        a first push of a slice (devices whose description is one of those SUs, their
        interfaces, the cables between them; the catalog and all racks): objects per second
        and CPU seconds per object (gunicorn workers + PostgreSQL) per type, to extrapolate.

RSCCTL_NB_WORKERS: gunicorn workers (3); RSCCTL_NETBOX_WRITERS: bulk writes at once (3).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.netbox import harness  # noqa: E402

BIN = Path(sys.executable).parent
BOUNDS = {"empty NetBox": 600.0, "no change": 60.0}


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _push(build: str, out: Path, url: str) -> tuple[float, str]:
    env = dict(os.environ, RSCCTL_NETBOX_TOKEN=harness.TOKEN)
    start = time.perf_counter()
    r = subprocess.run([str(BIN / "rscctl"), "netbox", "push", build, "--out", str(out), "--url",
                        url], env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"push failed ({r.returncode}): {r.stderr[-2000:]}")
    return wall, (r.stdout.strip().splitlines() or [""])[-1]


def _report(label: str, wall: float, last: str) -> bool:
    ok = wall <= BOUNDS[label]
    print(f"{label:>13}: {wall:7.1f} s (bound {BOUNDS[label]:.0f} s, "
          f"{'ok' if ok else 'OVER'}, {_load()})  {last}", flush=True)
    return ok


class _Cpu:
    """CPU seconds of the gunicorn workers and of PostgreSQL (the postmaster's reaped
    backends: NetBox's CONN_MAX_AGE 0 opens one per request), read from /proc."""

    def __init__(self, srv: harness.Server) -> None:
        self.srv = srv
        self.tck = os.sysconf("SC_CLK_TCK")
        pidfile = next(iter(glob.glob("/var/run/postgresql/*.pid")), "")
        self.pm = int(Path(pidfile).read_text().split()[0]) if pidfile else 0

    @staticmethod
    def _stat(pid: int | str, children: bool) -> int:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0
        return sum(int(x) for x in f[11:15 if children else 13])

    def _kids(self, pid: int) -> list[str]:
        return subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True,
                              check=False).stdout.split()

    def now(self) -> tuple[float, float]:
        gun = sum(self._stat(p, False) for p in self._kids(self.srv.proc.pid))
        pg = self._stat(self.pm, True) + sum(self._stat(p, False) for p in self._kids(self.pm)) \
            if self.pm else 0
        return gun / self.tck, pg / self.tck


def _sliced(sus: set[str]) -> Any:
    """rscctl.netbox.state.desired cut to the SUs' devices and what hangs off them."""
    from rscctl.netbox import state

    real = state.desired

    def desired(plan: Any) -> Any:
        site, want = real(plan)
        want["devices"] = {k: v for k, v in want["devices"].items() if v["description"] in sus}
        names = {k[1] for k in want["devices"]}
        want["interfaces"] = {k: v for k, v in want["interfaces"].items()
                              if v["device"] in names}
        want["cables"] = {k: v for k, v in want["cables"].items()
                          if v["a"][0] in names and v["b"][0] in names}
        return site, want
    return desired


def slice_push(build: str, out: Path, srv: harness.Server, sus: set[str]) -> None:
    from rscctl.netbox import push as push_mod
    from rscctl.netbox.client import NetBoxClient, Secret
    from rscctl.planjson import read_plan

    plan = read_plan(out / "plan.json")
    push_mod.desired = _sliced(sus)
    _, want = push_mod.desired(plan)
    print("slice:", {k: len(v) for k, v in want.items()}, flush=True)
    cpu = _Cpu(srv)
    mark = [cpu.now(), time.monotonic()]

    def say(line: str) -> None:
        if line.startswith("wrote "):
            kind = line.split()[1]
            (g, pg), now = cpu.now(), time.monotonic()
            n = len(want[kind]) or 1
            wall = now - mark[1]
            line += (f"  [{n / wall:6.1f}/s; CPU per object: gunicorn "
                     f"{1000 * (g - mark[0][0]) / n:.0f} ms, PostgreSQL "
                     f"{1000 * (pg - mark[0][1]) / n:.0f} ms; {_load()}]")
            mark[0], mark[1] = (g, pg), now
        print(line, flush=True)

    nb = NetBoxClient(srv.url, Secret(harness.TOKEN))
    t = time.perf_counter()
    push_mod.push(nb, plan, dry_run=False, prune=False, say=say)
    print(f"first push of the slice: {time.perf_counter() - t:.1f} s ({_load()})")
    t = time.perf_counter()
    push_mod.push(NetBoxClient(srv.url, Secret(harness.TOKEN)), plan, dry_run=False,
                  prune=False, say=lambda s: None)
    print(f"no-change push of the slice: {time.perf_counter() - t:.1f} s ({_load()})")


def seeded(build: str, out: Path, srv: harness.Server) -> bool:
    """The catalog and racks by push, the rest by ORM, then two no-change pushes."""
    from rscctl.netbox import push as push_mod
    from rscctl.netbox.client import NetBoxClient, Secret
    from rscctl.netbox.state import desired
    from rscctl.planjson import read_plan

    plan = read_plan(out / "plan.json")
    site, want = desired(plan)

    def plain(v: Any) -> Any:
        return sorted(v) if isinstance(v, frozenset) else list(v) if isinstance(v, tuple) else v

    seed = out / "seed.json"
    seed.write_text(json.dumps({"site": site, **{
        k: [{f: plain(x) for f, x in v.items()} for v in want[k].values()]
        for k in ("devices", "interfaces", "cables")}}))

    def catalog(p: Any) -> Any:
        s, w = desired(p)
        return s, {**w, "devices": {}, "interfaces": {}, "cables": {}}

    push_mod.desired = catalog
    t = time.perf_counter()
    push_mod.push(NetBoxClient(srv.url, Secret(harness.TOKEN)), plan, dry_run=False,
                  prune=False, say=lambda s: None)
    push_mod.desired = desired
    print(f"catalog and racks pushed in {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    r = subprocess.run(harness.netbox_cmd("nbshell"), env={
        **harness.env(), "RSCCTL_NB_SEED": str(seed)}, capture_output=True, text=True,
        input=f"exec(open({str(ROOT / 'benchmarks/netbox_seed.py')!r}).read())\n", check=False)
    line = [x for x in r.stdout.splitlines() if "seeded" in x]
    if not line:
        sys.exit(f"seeding failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    print(f"{line[0].lstrip('> ')} by ORM in {time.perf_counter() - t:.0f} s", flush=True)
    ok = True
    for _ in range(2):
        ok &= _report("no change", *_push(build, out, srv.url))
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", nargs="?", default="phase1")
    ap.add_argument("--seeded", action="store_true")
    ap.add_argument("--sus", default="")
    args = ap.parse_args()
    t = time.monotonic()
    harness.setup()
    harness.reset()
    srv = harness.start(workers=int(os.environ.get("RSCCTL_NB_WORKERS", "3")))
    print(f"NetBox ready in {time.monotonic() - t:.0f} s at {srv.url} ({_load()})", flush=True)
    ok = True
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / args.build
            subprocess.run([str(BIN / "rscctl"), "plan", args.build, "--out", str(out),
                            "--only", "plan"], check=True, capture_output=True)
            if args.sus:
                slice_push(args.build, out, srv, {s.strip() for s in args.sus.split(",")})
            elif args.seeded:
                ok = seeded(args.build, out, srv)
            else:
                for label in BOUNDS:
                    ok &= _report(label, *_push(args.build, out, srv.url))
    finally:
        srv.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
