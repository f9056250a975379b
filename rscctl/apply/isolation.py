"""Isolation proven after every push, on what the nodes actually loaded.

`rscctl apply` ends by reading `nft -j list ruleset` from each host it reached (a fresh
paramiko session through the bastion, host keys pinned) and proving `rscctl verify
firewall`'s properties (rscctl/firewall/prove.py) on it: each distinct loaded ruleset stands in
for its zone's planned one, the other zones keep their planned rulesets (loaded by nft in a
throwaway namespace, as `verify firewall` does), so a hand edit on one node fails the proof and
names that node.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rscctl.apply.nodessh import Jump, Route, Unreachable, sudo
from rscctl.errors import Finding
from rscctl.firewall.nftjson import NftParseError, NftRuleset, parse_nft_json
from rscctl.firewall.prove import PROPERTIES, prove_all
from rscctl.firewall.zones import ZoneMap

Say = Callable[[str], None]
WORKERS = 16


def planned_parsed(rendered: Mapping[str, str]) -> dict[str, NftRuleset]:
    """The plan's rulesets as nft parses them (each loaded alone in a fresh namespace)."""
    from rscctl.verify.firewall import capture

    with tempfile.TemporaryDirectory(prefix="rscctl-prove-") as d:
        paths = {}
        for name, text in rendered.items():
            paths[name] = Path(d) / f"{name}.nft"
            paths[name].write_text(text)
        return {n: parse_nft_json(t) for n, t in capture(paths).items()}


def prove_loaded(zm: ZoneMap, planned: Mapping[str, NftRuleset],
                 loaded: Mapping[str, tuple[str, str]]) -> tuple[list[str], int]:
    """Findings (each naming its hosts) for `loaded`: host -> (ruleset name, nft JSON).
    Pure but for the proof's cost: one proof per distinct loaded ruleset."""
    groups: dict[tuple[str, str], list[str]] = {}
    texts: dict[tuple[str, str], str] = {}
    for host, (name, text) in sorted(loaded.items()):
        k = (name, hashlib.sha256(text.encode()).hexdigest())
        groups.setdefault(k, []).append(host)
        texts[k] = text
    out: list[str] = []
    for k, hosts in sorted(groups.items()):
        name = k[0]
        who = ", ".join(hosts[:6]) + (f" and {len(hosts) - 6} more" if len(hosts) > 6 else "")
        try:
            rs = parse_nft_json(texts[k])
        except NftParseError as exc:
            out.append(f"{who}: nft -j list ruleset unreadable: {exc}")
            continue
        found: dict[str, list[Finding]] = prove_all(zm, {**planned, name: rs})
        for prop in PROPERTIES:
            for f in found[prop]:
                if f"{name}.nft" in f.devices:
                    out.append(f"{who} (ruleset {name}): [{prop}] {f.message}; fix: {f.fix}")
    return out, len(groups)


def after_apply(opts: Any, summary: Any, say: Say) -> dict[str, Any]:
    """The proof over the run's reached hosts (`opts`: run.Options, `summary`: run.Summary);
    {} when not asked for (--no-prove), in check mode, or when the plan has no firewall."""
    if opts.check or not opts.prove:
        return {}
    from rscctl.apply.invcache import load
    from rscctl.firewall.render import host_rulesets, render_rulesets
    from rscctl.firewall.zones import resolve_zones
    from rscctl.planjson import read_plan

    plan = read_plan(opts.plan)
    if plan.facts.firewall is None:
        return {}
    zm = resolve_zones(plan)
    by_role = host_rulesets(plan, zm)
    role_of = {d.name: d.role for d in plan.devices}
    hosts = sorted(h for h, r in summary.hosts.items()
                   if r.status != "unreachable" and role_of.get(h) in by_role)
    if not hosts:
        return {}
    hv = load(opts.plan)["hosts"]
    a = opts.access
    jump = Jump(Route(bastion=a.bastion, ssh_config=a.ssh_config, known_hosts=a.known_hosts,
                      user=a.user, key=a.key))
    say(f"proving isolation on the rulesets {len(hosts)} hosts loaded")

    def read(host: str) -> tuple[str, bool, str]:
        try:
            res = jump.run(host, str(hv.get(host, {}).get("ansible_host", host)),
                           sudo("nft", "-j", "list", "ruleset"), timeout=60)
        except Unreachable as exc:
            return host, False, f"cannot read its ruleset: {exc}"
        if res.rc != 0:
            return host, False, f"nft -j list ruleset: rc {res.rc}: {res.stderr.strip()[-200:]}"
        return host, True, res.stdout

    try:
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(hosts))) as pool:
            got = list(pool.map(read, hosts))
    finally:
        jump.close()
    errors = [f"{h}: {t}" for h, ok, t in got if not ok]
    loaded = {h: (by_role[role_of[h]], t) for h, ok, t in got if ok}
    findings, distinct = prove_loaded(zm, planned_parsed(render_rulesets(plan)), loaded)
    findings = errors + findings
    for line in findings:
        say(f"  isolation: {line}")
    return {"proved": not findings, "hosts": len(hosts), "distinct_rulesets": distinct,
            "findings": findings}


def summary_line(isolation: Mapping[str, Any]) -> str:
    """One line for the apply table's foot ('' when no proof ran)."""
    if not isolation:
        return ""
    n, k = isolation.get("hosts", 0), isolation.get("distinct_rulesets", 0)
    if isolation.get("proved"):
        return f"isolation proved on the rulesets {n} hosts loaded ({k} distinct)"
    bad = isolation.get("findings", [])
    return f"isolation NOT proved: {len(bad)} findings on {n} hosts; first: {bad[0] if bad else ''}"
