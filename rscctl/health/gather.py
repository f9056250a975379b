"""`rscctl health BUILD`: every node's health result, gathered over fresh paramiko sessions
through the bastion (host keys pinned). A node with systemd is read (its rscctl-health.timer
wrote the result); a node without one runs the check on demand. Pure verdicts in `verdict`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from rscctl.apply.nodessh import Jump, Route, Unreachable
from rscctl.errors import UserError
from rscctl.health.check import RESULT

CHECK = "/usr/local/sbin/rscctl-health"
CHECK_NAMES = ("gpu", "ib", "ipoib", "nfs", "firewall", "clock")
# A timer result older than this (3 missed runs of 5 minutes) is stale.
STALE_S = 15 * 60
WORKERS = 16
# Read the timer's result where systemd runs; else run the check now.
COMMAND = (f"if [ -d /run/systemd/system ] && [ -s {RESULT} ]; then cat {RESULT}; "
           f"else sudo -n {CHECK}; fi")


def select(hosts: list[str], groups: Mapping[str, list[str]], limit: str | None) -> list[str]:
    """--limit: comma-separated host names, groups or shell patterns. Pure."""
    if not limit:
        return hosts
    out: set[str] = set()
    for word in (w.strip() for w in limit.split(",") if w.strip()):
        members = groups.get(word)
        out.update(h for h in hosts if (members is not None and h in members)
                   or fnmatchcase(h, word))
    if not out:
        raise UserError(f"--limit {limit!r} matches none of the plan's Linux hosts; name "
                        "hosts (dgx0001), groups (su_001) or patterns (dgx00*)")
    return [h for h in hosts if h in out]


def verdict(result: Mapping[str, Any] | None, error: str, now: float) -> dict[str, Any]:
    """One row: the node's status and each check's status. Pure."""
    if result is None:
        return {"status": "unhealthy", "why": error, "checks": {}}
    age = now - float(result.get("at", 0))
    status = str(result.get("status", "unhealthy"))
    why = ""
    if age > STALE_S:
        status, why = "unhealthy", f"result {age / 60:.0f} min old (the timer stopped)"
    checks = result.get("checks", {})
    if status == "unhealthy" and not why:
        why = "; ".join(f"{n}: {c.get('summary', '')}" for n, c in checks.items()
                        if c.get("status") == "fail")
    return {"status": status, "why": why, "age_s": round(age, 1), "checks": checks}


def gather(plan: Path, route: Route, limit: str | None) -> dict[str, dict[str, Any]]:
    from rscctl.apply.invcache import load

    if not plan.is_file():
        raise UserError(f"{plan}: no plan here; run `rscctl plan BUILD` first")
    inv = load(plan)
    hosts = select(sorted(inv["groups"].get("linux_host", [])), inv["groups"], limit)
    jump = Jump(route)

    def one(host: str) -> tuple[str, dict[str, Any] | None, str]:
        addr = str(inv["hosts"].get(host, {}).get("ansible_host", host))
        try:
            res = jump.run(host, addr, COMMAND, timeout=120)
        except Unreachable as exc:
            return host, None, f"unreachable: {exc}"
        if res.rc != 0:
            tail = (res.stderr or res.stdout).strip()[-200:]
            return host, None, f"no health result (rc {res.rc}: {tail}); run `rscctl apply`"
        try:
            return host, json.loads(res.stdout), ""
        except ValueError:
            return host, None, f"unreadable result: {res.stdout.strip()[-200:]!r}"

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(WORKERS, len(hosts)))) as pool:
            got = list(pool.map(one, hosts))
    finally:
        jump.close()
    now = time.time()
    return {h: {**verdict(r, e, now), "result": r} for h, r, e in got}
