"""Lab benchmark: wall time and peak memory of `rscctl lab up` and `lab down` for 32 DGX.

The build is topology/lab.yaml grown to 4 SUs of 8 nodes (32 gpu nodes; with the bastion, the
ingest gateway, the management host, the storage system and the two zone hosts: 38
containers), written to a temporary dir. The image is made warm first (not timed). Each run is
a fresh `rscctl` process; `up` is timed until every host's key is in known_hosts, then one ssh
login is checked (not timed), then `down` is timed. The load average is printed: the 2 cores
are shared, and starting containers is CPU-bound.
Goals (issue 6): up <= 15 s, down <= 5 s. Needs root.

    sudo .venv/bin/python benchmarks/lab_bench.py [--runs 2] [--nodes-per-su 8 --sus 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rscctl.lab.engine import Podman  # noqa: E402
from rscctl.lab.image import Recipe, cache_dir, ensure_image  # noqa: E402

RSCCTL = str(Path(sys.executable).parent / "rscctl")


def lab_build(sus: int, per_su: int) -> dict[str, Any]:
    """topology/lab.yaml with `sus` SUs of `per_su` nodes, two SUs per row."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "topology/lab.yaml").read_text())
    data["name"] = f"lab{sus * per_su}"
    data["catalog"] = str(ROOT / "topology/catalog.yaml")
    c = data["compute"]
    c.update(scalable_units=sus, nodes_per_su=per_su, gpu_nodes=sus * per_su,
             gpus=sus * per_su * 8, max_sus=sus)
    data["floorplan"]["pod_layout"] = ["gpu"] * (per_su // 4) + ["network"] + ["gpu"] * (
        -(-per_su // 2) - per_su // 4)
    c.update(spine_model="cs8500", spines=2)  # 32 leaves x 8 uplinks need directors
    if "storage" in data:
        data["storage"]["uplinks_per_leaf"] = per_su  # 4 storage ports x per_su nodes, <= 4:1
    rows = [{"name": "SP", "y": 0, "racks": [{"at": 1, "count": 2, "kind": "spine"},
                                             {"at": 3, "count": 1, "kind": "management"},
                                             {"at": 4, "count": 1, "kind": "network"}]}]
    rows += [{"name": f"A{i // 2 + 1:02d}", "y": i // 2 + 1, "sus": [i + 1, i + 2][: sus - i]}
             for i in range(0, sus, 2)]
    rows += [dict(r, y=len(rows) + k) for k, r in enumerate(
        r for r in data["floorplan"]["halls"][0]["rows"] if not r.get("sus")
        and r["name"] != "SP")]
    data["floorplan"]["halls"][0]["rows"] = rows
    return data


# podman (cgroupfs manager) puts conmon, runc's work and the containers under this cgroup.
PODMAN_CPU = Path("/sys/fs/cgroup/cpuacct/libpod_parent/cpuacct.usage")


def podman_cpu() -> float:
    """CPU seconds used so far by conmon, the exit cleanups and the containers (cgroup v1)."""
    try:
        return int(PODMAN_CPU.read_text()) / 1e9
    except (OSError, ValueError):
        return 0.0


def timed(cmd: list[str]) -> tuple[float, float, float, str]:
    """Wall s, peak RSS (MiB), CPU s (the process, its children, podman's cgroup), stdout.

    CPU seconds do not depend on the other users of the machine: CPU / 2 cores is what the
    step would take at best on this machine when idle.
    """
    start, cpu0 = time.perf_counter(), podman_cpu()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)  # its output is a few lines: the pipes hold it
    wall = time.perf_counter() - start
    time.sleep(0.5)  # conmon's exit cleanups finish after `down` returns
    cpu = usage.ru_utime + usage.ru_stime + podman_cpu() - cpu0
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd[1:3])} failed: {err}")
    return wall, usage.ru_maxrss / 1024, cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--sus", type=int, default=4)
    ap.add_argument("--nodes-per-su", type=int, default=8)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("the lab benchmark needs root (namespaces, podman)")
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as tmp_s:
        tmp = Path(tmp_s)
        path = tmp / "lab32.yaml"
        path.write_text(yaml.safe_dump(lab_build(args.sus, args.nodes_per_su), sort_keys=False))
        state = tmp / "state"
        state.mkdir()
        podman = Podman(state.resolve(), cache_dir())
        podman.preflight()
        t = time.perf_counter()
        ensure_image(podman, Recipe())
        print(f"image warm in {time.perf_counter() - t:.1f} s")
        for run in range(1, args.runs + 1):
            load = os.getloadavg()[0]
            try:
                up_s, up_mb, up_cpu, _ = timed([RSCCTL, "lab", "up", str(path),
                                                "--state-dir", str(state)])
                hosts = len((state / "known_hosts").read_text().splitlines())
                steps = json.loads((state / "state.json").read_text())["timings"]
                ok = subprocess.run(["ssh", "-F", str(state / "ssh_config"), "dgx0032",
                                     "hostname"], capture_output=True, text=True, check=False)
            finally:
                down_s, down_mb, down_cpu, said = timed([RSCCTL, "lab", "down", "--state-dir",
                                                         str(state)])
                inner = re.search(r"in ([0-9.]+) s", said)
            print(f"run {run}: {hosts} hosts up in {up_s:.2f} s (cpu {up_cpu:.1f} s, peak "
                  f"{up_mb:.0f} MiB), ssh {ok.stdout.strip() or 'FAILED'}; down in "
                  f"{down_s:.2f} s (cpu {down_cpu:.1f} s, peak {down_mb:.0f} MiB)   "
                  "goals: up <= 15 s, down <= 5 s")
            print("       up steps: " + ", ".join(f"{k[:-2]} {v:.2f}" for k, v in steps.items())
                  + f"; down itself {inner.group(1) if inner else '?'} s (the rest of each wall "
                  f"time is starting the rscctl CLI); load average before {load:.1f} "
                  "(2 cores shared)")


if __name__ == "__main__":
    main()
