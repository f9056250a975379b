"""`rscctl verify firewall`: load each ruleset into real nft in a throwaway network namespace,
read it back as JSON and prove the isolation properties on what nft parsed.

The namespace (`unshare --net`, or with a user namespace when not root) dies with the
process: nothing is left behind and the host's own ruleset is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rscctl.errors import Finding, MissingTool, UserError
from rscctl.firewall.nftjson import NftParseError, NftRuleset, parse_nft_json
from rscctl.firewall.prove import PROPERTIES, prove_all
from rscctl.firewall.zones import ZoneMap, resolve_zones
from rscctl.planner.model import Plan

LOAD_AND_LIST = 'nft -f "$1" && nft -j list ruleset'


@dataclass(frozen=True)
class FirewallReport:
    rulesets: tuple[str, ...]
    rules: int
    results: dict[str, list[Finding]]
    unzoned: int
    provisional: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not any(self.results.values())

    @property
    def findings(self) -> list[Finding]:
        return [f for p in PROPERTIES for f in self.results[p]]


def _tools() -> list[str]:
    nft, unshare = shutil.which("nft"), shutil.which("unshare")
    if nft is None:
        raise MissingTool("nft is not installed; install it: apt-get install nftables")
    if unshare is None:
        raise MissingTool("unshare is not installed; install it: apt-get install util-linux")
    if os.geteuid() == 0:
        return [unshare, "--net"]
    return [unshare, "--user", "--map-root-user", "--net"]


def nft_json(path: Path, prefix: list[str] | None = None) -> str:
    """`nft -j list ruleset` after loading `path` alone into a fresh network namespace."""
    cmd = [*(prefix or _tools()), "sh", "-c", LOAD_AND_LIST, "sh", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise UserError(f"{path}: nft refused the ruleset: {proc.stderr.strip()}")
    return proc.stdout


def capture(paths: Mapping[str, Path]) -> dict[str, str]:
    """nft's JSON of every ruleset, by name (run in parallel: each is its own namespace)."""
    prefix = _tools()
    with ThreadPoolExecutor(max_workers=4) as pool:
        texts = pool.map(lambda p: nft_json(p, prefix), paths.values())
        return dict(zip(paths, texts, strict=True))


def report(zm: ZoneMap, captured: Mapping[str, str]) -> FirewallReport:
    """Parse what nft printed and prove every property. Pure."""
    parsed: dict[str, NftRuleset] = {}
    for name, text in captured.items():
        try:
            parsed[name] = parse_nft_json(text)
        except NftParseError as exc:
            raise UserError(f"{name}.nft: {exc}") from None
    return FirewallReport(
        rulesets=tuple(sorted(parsed)),
        rules=sum(len(rs.rules) for rs in parsed.values()),
        results=prove_all(zm, parsed),
        unzoned=zm.unzoned,
        provisional=tuple(z.name for z in zm.zones if z.provisional),
    )


def verify_firewall(plan: Plan, directory: Path) -> FirewallReport:
    """Prove the isolation properties on the rulesets in `directory`: NAME.nft files (loaded
    by nft first) or NAME.json, `nft -j list ruleset` already captured (e.g. from a live host:
    parsed as is, no nft needed)."""
    zm = resolve_zones(plan)
    if not directory.is_dir():
        raise UserError(
            f"{directory}: no rendered rulesets; run `rscctl plan {plan.build}` (or "
            f"`rscctl export {plan.build} --only firewall`) first"
        )
    paths = {p.stem: p for p in sorted(directory.glob("*.nft"))}
    captured = {p.stem: p.read_text() for p in sorted(directory.glob("*.json"))
                if p.stem not in paths}
    if paths:
        captured.update(capture(paths))
    return report(zm, captured)
