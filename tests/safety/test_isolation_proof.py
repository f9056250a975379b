"""The isolation proof `rscctl apply` ends with (rscctl/apply/isolation.py), on rulesets as
real nft lists them: what the plan renders passes; one node's ruleset edited by hand fails,
naming that node and the property it breaks."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rscctl.apply.isolation import planned_parsed, prove_loaded
from rscctl.firewall.render import render_rulesets
from rscctl.firewall.zones import resolve_zones
from rscctl.planner.model import Plan
from tests.lab.fixtures import needs_lab

pytestmark = [needs_lab]


def listed(path: Path, then: str = "true") -> str:
    """`nft -j list ruleset` after loading `path` (and running `then`) in a fresh netns."""
    sh = f'nft -f "$1" && {then} && nft -j list ruleset'
    return subprocess.run(["unshare", "--net", "sh", "-c", sh, "sh", str(path)],
                          capture_output=True, text=True, check=True).stdout


def test_the_proof_fails_on_the_one_node_edited_by_hand(phase1_plan: Plan,
                                                       tmp_path: Path) -> None:
    zm = resolve_zones(phase1_plan)
    rendered = render_rulesets(phase1_plan)
    planned = planned_parsed(rendered)
    f = tmp_path / "gpu-node.nft"
    f.write_text(rendered["gpu-node"])
    good = listed(f)
    ok, distinct = prove_loaded(zm, planned, {"dgx0001": ("gpu-node", good),
                                              "dgx0002": ("gpu-node", good)})
    assert ok == [] and distinct == 1
    edited = listed(f, "nft insert rule inet rscctl input tcp dport 22 accept")
    bad, distinct = prove_loaded(zm, planned, {"dgx0001": ("gpu-node", good),
                                               "dgx0002": ("gpu-node", edited)})
    assert distinct == 2 and bad
    assert all(line.startswith("dgx0002 (ruleset gpu-node)") for line in bad)
    assert any("[ssh-only-from-bastion]" in line for line in bad)
    flushed = listed(f, "nft flush table inet rscctl && nft delete table inet rscctl")
    gone, _ = prove_loaded(zm, planned, {"dgx0003": ("gpu-node", flushed)})
    assert any("[default-drop]" in line and line.startswith("dgx0003") for line in gone)
