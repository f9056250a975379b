"""Apply benchmark: `rscctl apply` on 32 lab DGX (+ bastion, ingest, management), a first run
and a no-change rerun, next to stock Ansible settings in the same run (forks 5, linear
strategy, facts gathered, no pipelining) on a fresh lab. Goal (issue 11): the no-change rerun
at least 3x faster than stock's.

Both use the same roles and batches (canary, then the rest: --batch 100%), so the figures
compare settings; the converge role's one write per host (rsc.cluster.files) is in both. Each
run's CPU is the machine's (the lab's nodes share its cores), split into the controller's
(rscctl, ansible-playbook and its workers, ssh) and the nodes' (the containers' cgroups).

    sudo .venv/bin/python benchmarks/apply_bench.py [--sus 4] [--nodes-per-su 8]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from lab_bench import lab_build  # noqa: E402

from rscctl.apply import run  # noqa: E402
from rscctl.cli import main as rscctl  # noqa: E402
from rscctl.lab import lifecycle  # noqa: E402
from rscctl.lab.state import LabState  # noqa: E402

STOCK_ENV = {"ANSIBLE_PIPELINING": "False", "ANSIBLE_STRATEGY": "linear",
             "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s"}


def stock_playbook(tmp: Path) -> Path:
    """site.yml with facts gathered, as a stock play has them."""
    plays = yaml.safe_load((ROOT / "playbooks/site.yml").read_text())
    for p in plays:
        p["gather_facts"] = True
    path = tmp / "site-stock.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return path


def machine_cpu_s() -> float:
    """CPU seconds the whole machine has spent (every core, user + system, /proc/stat): the
    lab's nodes share the controller's cores, so this is the work a run costs here."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system = (int(x) for x in fields[:3])
    irq, softirq = int(fields[5]), int(fields[6])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def controller_cpu_s() -> float:
    """CPU seconds of this process and its waited-for children (ansible-playbook, its
    workers, ssh clients): the controller's share of a run."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                 resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def nodes_cpu_s(lab: LabState) -> float | None:
    """CPU seconds the lab's containers have spent (their cgroups' cpuacct; None where this
    machine keeps them elsewhere): the nodes' share of a run (sshd, sudo, the modules)."""
    ids = lifecycle.engine(lab.state_dir)("inspect", "--format", "{{.Id}}",
                                          *lab.containers).stdout.split()
    total = 0
    for cid in ids:
        usage = Path(f"/sys/fs/cgroup/cpuacct/libpod_parent/libpod-{cid}/cpuacct.usage")
        if not usage.is_file():
            return None
        total += int(usage.read_text())
    return total / 1e9


def one(label: str, opts: run.Options, lab: LabState) -> float:
    t0, c0, l0 = time.perf_counter(), machine_cpu_s(), os.getloadavg()[0]
    k0, n0 = controller_cpu_s(), nodes_cpu_s(lab)
    s = run.apply(opts, lambda _m: None)
    wall, cpu = time.perf_counter() - t0, machine_cpu_s() - c0
    ctl, n1 = controller_cpu_s() - k0, nodes_cpu_s(lab)
    nodes = f"{n1 - n0:6.1f}" if n0 is not None and n1 is not None else "     ?"
    changed = sum(1 for r in s.hosts.values() if r.changed)
    bad = [h for h, r in s.hosts.items() if r.status in ("failed", "unreachable")]
    print(f"  {label:26} {wall:6.1f} s {cpu:6.1f} CPU-s (controller {ctl:5.1f}, nodes "
          f"{nodes})  {len(s.hosts)} hosts, {changed} changed (load {l0:.1f} at start)"
          + (f", FAILED {bad[:3]} (see {s.run_dir})" if bad else ""), flush=True)
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sus", type=int, default=4)
    ap.add_argument("--nodes-per-su", type=int, default=8)
    a = ap.parse_args()
    # Kept afterwards (its runs hold each batch's ansible-runner artifacts); printed at the end.
    tmp = Path(tempfile.mkdtemp(prefix="rscctl-applybench-"))
    decl = tmp / "lab32.yaml"
    decl.write_text(yaml.safe_dump(lab_build(a.sus, a.nodes_per_su), sort_keys=False))
    out = tmp / "plan"
    assert rscctl(["plan", str(decl), "--out", str(out)]) == 0
    assert rscctl(["pki", str(decl), "--out", str(out), "--secrets", str(tmp / "sec")]) == 0
    results: dict[str, float] = {}
    for mode in ("stock", "rscctl"):
        state = tmp / f"lab-{mode}"
        lab = lifecycle.up(str(decl), state, out / "plan.json")
        try:
            access = run.Access(ssh_config=state / "ssh_config",
                                known_hosts=state / "known_hosts", user="rscctl",
                                key=state / "id_ed25519", bastion="bastion01")
            base = {"build": "lab32", "plan": out / "plan.json", "runs_dir": tmp / "runs",
                    "access": access, "batch": "100%",
                    "extra_vars": {**run.LAB_VARS,
                                   "nfs_tls_secrets_dir": str(tmp / "sec")}}
            if mode == "stock":
                opts = run.Options(**base, forks=5, env=STOCK_ENV,  # type: ignore[arg-type]
                                   playbook=stock_playbook(tmp))
            else:
                opts = run.Options(**base, forks=50)  # type: ignore[arg-type]
            results[f"{mode} first"] = one(f"{mode}: first run", opts, lab)
            results[f"{mode} rerun"] = one(f"{mode}: no-change rerun", opts, lab)
        finally:
            lifecycle.down(state)
    ratio = results["stock rerun"] / results["rscctl rerun"]
    print(f"no-change rerun: {ratio:.1f}x faster than stock (goal 3x); runs in {tmp}")


if __name__ == "__main__":
    main()
