"""What each Linux host of a plan should look like, as the health check's spec.

`python -m rscctl.health.planned PLAN_JSON DIR` writes DIR/HOST.json for every Linux host and
DIR/rscctl-health (the node-side check): the health role runs it once per play on the
controller and copies each host its own spec.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from rscctl.apply.invcache import load
from rscctl.errors import UserError
from rscctl.planjson import read_plan

LINUX_GROUP = "linux_host"
_DIGITS = re.compile(r"(\d+)$")


def netdev_of(device: str) -> str:
    """The IPoIB netdev of an HCA, as the fabric role names it (ib<N> for mlx5_<N>)."""
    m = _DIGITS.search(device)
    return f"ib{m.group(1) if m else device}"


def specs(plan_file: Path) -> dict[str, dict[str, Any]]:
    """Host -> health spec (gpus, ib ports, ipoib, mounts, firewall sha256)."""
    plan = read_plan(plan_file)
    inv = load(plan_file)
    linux = set(inv["groups"].get(LINUX_GROUP, []))
    fw_sha: dict[str, str] = {}
    if plan.facts.firewall is not None:
        from rscctl.firewall.render import host_rulesets, render_rulesets
        from rscctl.firewall.zones import resolve_zones

        texts = render_rulesets(plan)
        for role, name in host_rulesets(plan, resolve_zones(plan)).items():
            fw_sha[role] = hashlib.sha256(texts[name].encode()).hexdigest()
    out: dict[str, dict[str, Any]] = {}
    for d in plan.devices:
        if d.name not in linux:
            continue
        model = plan.models[d.model]
        hv = inv["hosts"].get(d.name, {})
        ib = [{"device": p.name, "port": 1, "rail": p.rail, "rate_gbps": p.speed_gbps}
              for p in model.ports if p.kind == "compute"]
        ipoib = [{"device": i["name"], "netdev": netdev_of(i["name"]),
                  "address": f"{i['address']}/{i['prefix_len']}"}
                 for i in hv.get("rsc_interfaces", []) if i.get("network") == "ipoib"]
        mounts = [{"where": m["where"], "what": m["what"],
                   "tls": "xprtsec=" in m.get("options", "")}
                  for m in hv.get("rsc_nfs_mounts", [])]
        out[d.name] = {"format": 1, "host": d.name, "build": plan.build,
                       "gpus": model.gpus if model.kind == "gpu-node" else 0,
                       "ib": ib, "ipoib": ipoib, "mounts": mounts,
                       "firewall_sha256": fw_sha.get(d.role, "")}
    return out


def write(plan_file: Path, directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    all_specs = specs(plan_file)
    for host, spec in all_specs.items():
        (directory / f"{host}.json").write_text(json.dumps(spec, indent=1, sort_keys=True)
                                                + "\n")
    shutil.copyfile(Path(__file__).with_name("check.py"), directory / "rscctl-health")
    return len(all_specs)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m rscctl.health.planned PLAN_JSON DIR")
    try:
        print(write(Path(sys.argv[1]), Path(sys.argv[2])))
    except UserError as exc:  # the health role shows this line, not a traceback
        print(f"rscctl: {exc}", file=sys.stderr)
        sys.exit(2)
