"""VM lab benchmark: the box build, `vagrant up` of a few hosts, boot to sshd, `destroy`.

Times, each in a fresh process: `rscctl lab box` (with --cold: the box and its debootstrap base
removed first, so the whole recipe is built; otherwise only the customise/mkfs/qcow2/add steps
when --rebuild, or nothing when cached), `vagrant up` of HOSTS (libvirt, qemu emulation as the
Vagrantfile chooses; includes the box's upload into the pool the first time), each VM's
`systemd-analyze` (kernel + userspace to the default target), and `vagrant destroy -f` with
its `lab vm-clean`. The load average is printed: the 2 cores are shared and emulation is
CPU-bound. Needs root.

    sudo .venv/bin/python benchmarks/vm_bench.py [--cold | --rebuild] [--hosts H ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rscctl.lab import box  # noqa: E402

RSCCTL = str(Path(sys.executable).parent / "rscctl")
BUILD = ROOT / "tests" / "vm" / "vmlab.yaml"


def timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    t = time.monotonic()
    res = subprocess.run(cmd, env=env, cwd=cwd, text=True, capture_output=True, check=False)
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed (rc {res.returncode}):\n{res.stdout[-2000:]}\n"
                 f"{res.stderr[-2000:]}")
    return time.monotonic() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold", action="store_true", help="build the box from debootstrap on")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the box, keep the base")
    ap.add_argument("--hosts", nargs="+", default=["bastion01", "dgx0001", "dgx0002"])
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("vm_bench needs root (debootstrap, libvirt)")
    r = box.BoxRecipe()
    if args.cold or args.rebuild:
        shutil.rmtree(box.locate(r).directory, ignore_errors=True)
    if args.cold:
        (box.box_dir() / f"base-{r.base_digest()}.tar").unlink(missing_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="vm-bench-"))
    env = {**os.environ, "VAGRANT_CWD": str(ROOT), "LAB_BUILD": str(BUILD),
           "LAB_OUT": str(tmp / "out"), "LAB_STATE": str(tmp / "state"),
           "VAGRANT_DOTFILE_PATH": str(tmp / "vagrant"), "RSCCTL": RSCCTL,
           "VAGRANT_CHECKPOINT_DISABLE": "1"}
    result: dict[str, object] = {"load_before": os.getloadavg()[0], "hosts": args.hosts}
    try:
        timed([RSCCTL, "lab", "vm-clean"], env)
        result["box_s"] = round(timed([RSCCTL, "lab", "box"], env), 1)
        timed([RSCCTL, "plan", str(BUILD), "--out", str(tmp / "out")], env)
        result["up_s"] = round(timed(["vagrant", "up", "--provider", "libvirt", *args.hosts],
                                     env, tmp), 1)
        timed([RSCCTL, "lab", "trust", str(BUILD), *args.hosts, "--state-dir",
               str(tmp / "state"), "--out", str(tmp / "out")], env)
        boots = {}
        for h in args.hosts:
            res = subprocess.run(["ssh", "-F", str(tmp / "state" / "ssh_config"), h,
                                  "systemd-analyze"], text=True, capture_output=True,
                                 check=False)
            boots[h] = res.stdout.splitlines()[0] if res.stdout else res.stderr.strip()
        result["boot"] = boots
        result["load_during"] = os.getloadavg()[0]
        result["destroy_s"] = round(timed(["vagrant", "destroy", "-f"], env, tmp), 1)
        result["left"] = box.leftovers()
    finally:
        subprocess.run(["vagrant", "destroy", "-f"], env=env, cwd=tmp, capture_output=True,
                       check=False)
        subprocess.run([RSCCTL, "lab", "vm-clean"], env=env, capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
