"""rscctl.names is the one rule of every name: the planner, the inventory, the firewall groups
and the lab follow it, and the storage fabric's names are declared like the compute fabric's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rscctl import names
from rscctl.cli import main
from rscctl.declare import load_build
from rscctl.planner import build_plan

SMALL = Path(__file__).parent / "golden" / "small.yaml"


def _with_naming(tmp_path: Path, naming: dict[str, str]) -> Path:
    doc = yaml.safe_load(SMALL.read_text())
    doc["catalog"] = str((SMALL.parent / doc["catalog"]).resolve())
    doc["naming"] = naming
    path = tmp_path / "named.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_defaults_are_todays_names() -> None:
    plan = build_plan(load_build(str(SMALL)))
    by_role: dict[str, list[str]] = {}
    for d in plan.devices:
        by_role.setdefault(d.role, []).append(d.name)
    assert by_role[names.Role.STORAGE_LEAF][:2] == ["sleaf-s001-1", "sleaf-s002-1"]
    assert by_role[names.Role.STORAGE_SPINE][0] == "sspine01"
    assert by_role[names.Role.GPU_NODE][0] == "dgx0001"
    assert set(by_role) <= {r.value for r in names.Role}


def test_storage_names_are_declared(tmp_path: Path) -> None:
    """naming.storage_leaf / storage_spine rename the storage fabric everywhere."""
    b = load_build(str(_with_naming(tmp_path, {"storage_leaf": "st-{su:02d}-{leaf}",
                                               "storage_spine": "stsp{n}"})))
    plan = build_plan(b)
    devices = {d.name for d in plan.devices}
    assert {"st-01-1", "st-02-1", "stsp1"} <= devices
    assert not any(n.startswith(("sleaf", "sspine")) for n in devices)
    cabled = {c.b_device for c in plan.cables} | {c.a_device for c in plan.cables}
    assert "stsp1" in cabled and "st-01-1" in cabled
    assert "st-01-1" in {a.device for a in plan.addresses if a.network == "oob"}


@pytest.mark.parametrize(("naming", "said"), [
    ({"storage_leaf": "sleaf-{su:03d}"}, "gives every device the same name; use {su} and {leaf}"),
    ({"storage_leaf": "sleaf-{rail}-{leaf}"}, "unknown placeholder {rail}"),
    ({"storage_spine": "Spine{n}"}, "literal text 'Spine' may hold only lowercase"),
])
def test_bad_storage_patterns_are_refused(tmp_path: Path, naming: dict[str, str], said: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(_with_naming(tmp_path, naming))]) == 2
    err = capsys.readouterr().err
    assert said in " ".join(err.split()) and "naming.storage_" in err


def test_one_group_rule(tmp_path: Path) -> None:
    """The inventory's role groups and SU groups are names.role_group / su_group."""
    out = tmp_path / "out"
    assert main(["plan", str(SMALL), "--out", str(out), "--only", "ansible"]) == 0
    inv = yaml.safe_load((out / "ansible/inventory/hosts.yml").read_text())
    groups = set(inv["all"]["children"])
    plan = build_plan(load_build(str(SMALL)))
    roles = {names.role_group(d.role) for d in plan.devices if d.role in
             {"gpu-node", "bastion", "management-host", "ingest-gateway"}}
    assert roles <= groups
    assert {names.su_group(1), names.su_group(2)} <= groups
    assert names.role_group("ingest-gateway") == "ingest_gateway"
    assert names.iface_name("dgx0001", "mlx5_8") == "dgx0001-mlx5-8"
    assert names.port_label("L01/P01") == "l01-p01"
