"""Class 4 of issue 9: growth that re-cables, and names declared twice in one file.

A build that `extends` another may only add: a child that changes what the parent's cables
and addresses are computed from (spines, rails, SU size, reserved SU slots, supernets, naming,
floor positions, storage and management layout) is refused at load, at the child's line, with
how many of the parent's cables and addresses would move. Two items of one named list (or two
keys of one mapping) in one file are refused at the second, not merged last-wins.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rscctl.cli import main
from rscctl.declare import load_build
from rscctl.declare.growth import GrowthError
from rscctl.planner import build_plan
from tests.conftest import TOPOLOGY
from tests.hardening.declfiles import assert_file_refused

Doc = dict[str, Any]

_LAB: Doc = yaml.safe_load((TOPOLOGY / "lab.yaml").read_text())


def _base() -> Doc:
    """The lab with one SU of its two slots built: room for a child to grow into."""
    doc = copy.deepcopy(_LAB)
    doc["name"] = "base"
    doc["catalog"] = str(TOPOLOGY / "catalog.yaml")
    doc["compute"].update(gpu_nodes=4, gpus=32, scalable_units=1, spines=4)
    doc["floorplan"]["halls"][0]["rows"][1]["sus"] = [1]
    return doc


def _grow() -> Doc:
    """What a correct child says: the second SU in a new row."""
    return {
        "extends": "base",
        "name": "child",
        "compute": {"gpu_nodes": 8, "gpus": 64, "scalable_units": 2},
        "floorplan": {"halls": [{"name": "LAB", "rows": [{"name": "A02", "y": 3, "sus": [2]}]}]},
    }


def _write(src: Path, base: Doc, child: Doc) -> Path:
    src.mkdir(exist_ok=True)
    (src / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    path = src / "child.yaml"
    path.write_text(yaml.safe_dump(child, sort_keys=False))
    return path


def _line_of(path: Path, text: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if text in t)


def test_growth_that_adds_is_accepted(tmp_path: Path) -> None:
    """The child plans, and keeps every one of the parent's cables and addresses."""
    from rscctl.cli.common import _moved

    path = _write(tmp_path, _base(), _grow())
    child = load_build(str(path))
    parent = load_build(str(tmp_path / "base.yaml"))
    old, new = build_plan(parent, check=False), build_plan(child, check=False)
    assert len(new.cables) > len(old.cables)
    assert _moved(old, new) == (0, 0)
    assert main(["validate", str(path)]) == 0


def test_storage_group_grows_into_its_reserve(tmp_path: Path) -> None:
    """`reserve` keeps a group's spine ports and addresses: raising count into it is growth
    (allowed, nothing of the parent moves); shrinking it is not."""
    from rscctl.cli.common import _moved

    base = _base()
    base["storage"]["systems"][0]["reserve"] = 3
    child = _grow()
    child["storage"] = {"systems": [{"name": "fa", "model": "pure-fa-xl170", "count": 3}]}
    path = _write(tmp_path, base, child)
    old = build_plan(load_build(str(tmp_path / "base.yaml")), check=False)
    assert _moved(old, build_plan(load_build(str(path)), check=False)) == (0, 0)
    base["storage"]["systems"][0]["count"] = 2
    child["storage"]["systems"][0]["count"] = 1
    path = _write(tmp_path, base, child)
    with pytest.raises(GrowthError, match=r"child.yaml:\d+: storage.systems\[0\].count: 2 -> 1"):
        load_build(str(path))


def test_phase2_still_grows_phase1() -> None:
    assert load_build("phase2").compute.scalable_units == 100


def _set(doc: Doc, dotted: str, value: Any) -> None:
    *head, last = dotted.split(".")
    node: Any = doc
    for key in head:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    node[int(last) if last.isdigit() else last] = value


_ROW_A01 = {"name": "LAB", "rows": [{"name": "A01", "y": 5, "sus": [1]},
                                    {"name": "A02", "y": 3, "sus": [2]}]}
_POD = {"pod_layout": ["network", "gpu", "gpu"],
        "halls": [{"name": "LAB", "rows": [{"name": "A02", "y": 3, "sus": [2]}]}]}

# (case, dotted field of the child and its value, the field the message names, the YAML text
#  of the child's line it points at, what must move: "cables", "addresses" or "" (the parent
#  depends on the field, though with these values nothing happens to move))
CASES: list[tuple[str, str, Any, str, str, str]] = [
    ("spines", "compute.spines", 2, "compute.spines: 4 -> 2", "spines: 2", "cables"),
    ("max-sus", "compute.max_sus", 3, "compute.max_sus: 2 -> 3", "max_sus: 3", "addresses"),
    ("naming-node", "naming.node", "gpu{n:04d}", "naming.node", "node: gpu", "cables"),
    ("naming-leaf", "naming.leaf", "sw-s{su:03d}-r{rail}", "naming.leaf", "leaf: sw-",
     "cables"),
    ("supernet", "networks.inband.supernet", "10.230.0.0/20",
     "networks.inband.supernet: 10.240.0.0/20 -> 10.230.0.0/20", "supernet: 10.230",
     "addresses"),
    ("segment-prefix", "networks.storage.segment_prefix", 25,
     "networks.storage.segment_prefix: 24 -> 25", "segment_prefix: 25", "addresses"),
    ("storage-spines", "storage.spines", 1, "storage.spines: 2 -> 1", "spines: 1", "cables"),
    ("storage-uplinks", "storage.uplinks_per_leaf", 8, "storage.uplinks_per_leaf: 4 -> 8",
     "uplinks_per_leaf: 8", "cables"),
    ("row-moved", "floorplan.halls", [_ROW_A01], "floorplan.halls[0].rows[1].y: 1.0 -> 5.0",
     "y: 5", "cables"),
    ("pod-layout", "floorplan", _POD, "floorplan.pod_layout", "- network", "cables"),
    ("rack-units", "floorplan.rack_units", 42, "floorplan.rack_units: 48 -> 42",
     "rack_units: 42", ""),
    ("server-count", "servers", [{"name": "mgmt", "role": "management-host",
                                  "model": "x86-server", "count": 2}],
     "servers[2].count: 1 -> 2", "count: 2", "addresses"),
    ("storage-count", "storage.systems", [{"name": "fa", "model": "pure-fa-xl170", "count": 2,
                                           "rows": ["ST1"]}],
     "storage.systems[0].count: 1 -> 2", "count: 2", ""),
    ("management", "management.pdus_per_rack", 1, "management", "pdus_per_rack: 1", "cables"),
]


@pytest.mark.parametrize("case,dotted,value,field,line_text,moves", CASES,
                         ids=[c[0] for c in CASES])
def test_recabling_growth_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, dotted: str, value: Any,
    field: str, line_text: str, moves: str,
) -> None:
    child = _grow()
    _set(child, dotted, value)
    path = _write(tmp_path / "src", _base(), child)
    line = _line_of(path, line_text)
    msg = assert_file_refused(tmp_path, capsys, path, [
        f"child.yaml:{line}: {field}", "changes what base", "would move",
        "may only add",
    ])
    parent = build_plan(load_build(str(tmp_path / "src" / "base.yaml")), check=False)
    m = re.search(r"([\d,]+) of its ([\d,]+) cables and ([\d,]+) of its ([\d,]+) addresses", msg)
    assert m, msg
    moved_c, all_c, moved_a, all_a = (int(g.replace(",", "")) for g in m.groups())
    assert (all_c, all_a) == (len(parent.cables), len(parent.addresses))
    if moves == "cables":
        assert moved_c > 0, msg
    if moves == "addresses":
        assert moved_a > 0, msg


def test_shrinking_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A child with fewer nodes than its parent removes the parent's cables."""
    base = copy.deepcopy(_LAB)
    base["name"] = "base"
    base["catalog"] = str(TOPOLOGY / "catalog.yaml")
    child = {"extends": "base", "name": "child",
             "compute": {"gpu_nodes": 6, "gpus": 48}}
    path = _write(tmp_path / "src", base, child)
    assert_file_refused(tmp_path, capsys, path, [
        f"child.yaml:{_line_of(path, 'gpu_nodes: 6')}: compute.gpu_nodes: 8 -> 6",
        "would move",
    ])


def test_rails_changed_through_the_catalog(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Swapping two HCAs' rails in the child's catalog moves node-leaf cables."""
    src = tmp_path / "src"
    src.mkdir()
    cat = yaml.safe_load((TOPOLOGY / "catalog.yaml").read_text())
    ports = [p for p in cat["models"]["dgx-a100"]["ports"] if p.get("rail") in (1, 2)]
    ports[0]["rail"], ports[1]["rail"] = ports[1]["rail"], ports[0]["rail"]
    (src / "swapped.yaml").write_text(yaml.safe_dump(cat, sort_keys=False))
    child = _grow()
    child["catalog"] = "swapped.yaml"
    path = _write(src, _base(), child)
    msg = assert_file_refused(tmp_path, capsys, path, [
        f"child.yaml:{_line_of(path, 'catalog:')}: catalog.models.dgx-a100", "would move",
    ])
    assert not re.search(r" 0 of its [\d,]+ cables", msg), msg


def test_only_changed_fields_are_planned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A normal load plans nothing: counting runs only when a dependency differs."""
    import rscctl.cli.common as common

    calls: list[object] = []
    monkeypatch.setattr(common, "build_plan", lambda *a, **k: calls.append(a))
    path = _write(tmp_path, _base(), _grow())
    assert main(["validate", str(path)]) == 0
    assert calls == []


# -- names declared twice in one file ---------------------------------------------------------

def _dup(where: str, item: Doc) -> Doc:
    doc = copy.deepcopy(_LAB)
    doc["catalog"] = str(TOPOLOGY / "catalog.yaml")
    node: Any = doc
    for key in where.split("."):
        node = node[int(key)] if key.isdigit() else node[key]
    node.append(item)
    return doc


DUPS: list[tuple[str, Doc, str, str]] = [
    ("row", _dup("floorplan.halls.0.rows", {"name": "A01", "y": 9, "sus": [2]}),
     "floorplan.halls[0].rows[3]", "'A01'"),
    ("hall", _dup("floorplan.halls", {"name": "LAB", "rows": [{"name": "Z1", "y": 9}]}),
     "floorplan.halls[1]", "'LAB'"),
    ("storage-group", _dup("storage.systems", {"name": "fa", "model": "pure-fa-xl170",
                                               "count": 1, "rows": ["ST1"]}),
     "storage.systems[1]", "'fa'"),
    ("server-group", _dup("servers", {"name": "mgmt", "role": "management-host",
                                      "model": "x86-server"}), "servers[3]", "'mgmt'"),
]


@pytest.mark.parametrize("case,doc,field,name", DUPS, ids=[d[0] for d in DUPS])
def test_name_twice_in_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                case: str, doc: Doc, field: str, name: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    path = src / "build.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False))
    lines = [i for i, t in enumerate(path.read_text().splitlines(), 1)
             if re.match(rf"\s*-?\s*name: {name[1:-1]}$", t)]
    assert len(lines) >= 2
    assert_file_refused(tmp_path, capsys, path, [
        f"build.yaml:{lines[-1]}: {field}: name {name} is declared twice",
        f"first at line {lines[-2]}",
    ])


@pytest.mark.parametrize("text,line,words", [
    ("policy:\n  zones:\n    - {name: a, kind: internet}\n    - {name: a, kind: bastion}\n",
     4, "policy.zones[1]: name 'a' is declared twice"),
    ("policy:\n  flows:\n    - name: f\n      from: a\n    - name: f\n      from: b\n",
     5, "policy.flows[1]: name 'f' is declared twice"),
    ("networks:\n  inband: {supernet: 10.0.0.0/16}\n  inband: {supernet: 10.1.0.0/16}\n",
     3, "key 'inband' is given twice"),
    ("catalog:\n  models:\n    x: {kind: pdu}\n    x: {kind: pdu}\n", 4,
     "key 'x' is given twice"),
], ids=["zones", "flows", "network-key", "model-key"])
def test_twice_in_raw_text(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           text: str, line: int, words: str) -> None:
    path = tmp_path / "src" / "build.yaml"
    path.parent.mkdir()
    path.write_text("name: x\n" + text)
    assert_file_refused(tmp_path, capsys, path, [f"build.yaml:{line + 1}: {words}"])


def test_child_may_name_a_parent_item_once(tmp_path: Path) -> None:
    """Naming a parent's row in a child merges into it (the point of named lists); that is not
    a duplicate, and the same name in parent and child is fine."""
    child = _grow()
    child["floorplan"]["halls"][0]["rows"].append({"name": "ST1", "y": 2})
    path = _write(tmp_path, _base(), child)
    b = load_build(str(path))
    assert [r.name for r in b.floorplan.halls[0].rows] == ["SP", "A01", "ST1", "A02"]
