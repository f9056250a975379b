"""The rsc.cluster.plan inventory plugin under stock ansible-inventory: the same hosts, groups
and variables as the inventory files `rscctl plan` writes, plus rack, rail and linux_host
groups; a missing plan is one message with the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rscctl.cli import main
from tests.ansiblehelp import ROOT
from tests.apply.invhelp import ansible_inventory, listed


@pytest.fixture(scope="module")
def lab_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("inv") / "lab"
    assert main(["plan", "lab", "--out", str(out)]) == 0
    return out


def _hosts(doc: dict[str, Any], group: str) -> set[str]:
    return set(doc.get(group, {}).get("hosts", []))


def test_plugin_gives_the_written_inventory(lab_plan: Path, tmp_path: Path) -> None:
    written = listed(tmp_path / "w", lab_plan / "ansible/inventory")
    plugin = listed(tmp_path / "p", ROOT / "inventory/lab.rsc.yml",
                    RSCCTL_PLAN=str(lab_plan / "plan.json"))
    assert plugin["_meta"]["hostvars"] == written["_meta"]["hostvars"]
    assert len(written["_meta"]["hostvars"]) > 50
    groups = [g for g in written if g not in ("_meta", "all", "ungrouped")]
    assert {"gpu_node", "su_001", "nfs_client", "firewall"} <= set(groups) or \
        {"gpu_node", "su_001", "nfs_client"} <= set(groups)
    for g in groups:
        assert _hosts(plugin, g) == _hosts(written, g), g
        assert set(plugin[g].get("children", [])) == set(written[g].get("children", [])), g
        assert plugin[g].get("vars", {}) == written[g].get("vars", {}), g
    assert {k: v for k, v in plugin["all"]["vars"].items() if k != "rsc_plan_dir"} == \
        written["all"]["vars"]
    assert plugin["all"]["vars"]["rsc_plan_dir"] == str(lab_plan.resolve())


def test_plugin_groups_per_rack_rail_and_linux_hosts(lab_plan: Path, tmp_path: Path) -> None:
    doc = listed(tmp_path, ROOT / "inventory/lab.rsc.yml",
                 RSCCTL_PLAN=str(lab_plan / "plan.json"))
    assert "dgx0001" in _hosts(doc, "rack_lab_a01_01")
    assert _hosts(doc, "rail_3") == {"leaf-s001-r3", "leaf-s002-r3"}
    linux = _hosts(doc, "linux_host")
    assert {"dgx0001", "dgx0008", "bastion01", "ingest01", "mgmt01"} <= linux
    assert not any(h.startswith(("leaf", "pdu", "fa0")) for h in linux)


def test_cached_inventory_is_the_same_and_follows_a_new_plan(lab_plan: Path,
                                                            tmp_path: Path) -> None:
    """The second load comes from the cache, identical; a changed plan is read afresh."""
    src = ROOT / "inventory/lab.rsc.yml"
    plan = tmp_path / "copy" / "plan.json"
    plan.parent.mkdir()
    plan.write_bytes((lab_plan / "plan.json").read_bytes())
    first = listed(tmp_path, src, RSCCTL_PLAN=str(plan))
    assert list((tmp_path / "cache" / "inventory").glob("*.json"))
    assert listed(tmp_path, src, RSCCTL_PLAN=str(plan)) == first
    text = plan.read_text().replace('"lab"', '"lab2"', 1)
    plan.write_text(text)
    again = listed(tmp_path, src, RSCCTL_PLAN=str(plan))
    assert again["all"]["vars"]["rsc_build"] == "lab2"


def test_missing_plan_is_one_message_with_the_fix(tmp_path: Path) -> None:
    res = ansible_inventory(tmp_path, ROOT / "inventory/lab.rsc.yml", "--graph",
                            RSCCTL_PLAN=str(tmp_path / "nowhere" / "plan.json"))
    assert res.returncode != 0
    assert "no plan here; run `rscctl plan BUILD` first" in res.stderr
    assert "Traceback" not in res.stderr
