"""Issue 14: growth adds only, in work orders after each of which the running fabric is valid.

The scaled-down pair (pair/grow-parent.yaml -> pair/grow-child.yaml: 2 -> 4 SUs, a second
storage group in a new row) is checked after every step with every planner check, and routed
by OpenSM fat-tree on ibsim at the first and the last step.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from rscctl.cli import main
from rscctl.declare import Build, load_build
from rscctl.declare.growth import growth_conflicts
from rscctl.export.ibfabric import ib_fabric
from rscctl.export.ibtopo import export_fabric
from rscctl.growth.diff import diff_plans
from rscctl.growth.export import CHANGE_COLUMNS, growth_files
from rscctl.growth.steps import Growth, growth_orders, plan_growth, step_plans
from rscctl.outputs import write_files
from rscctl.planner import build_plan
from rscctl.planner.checks import run_checks
from rscctl.planner.model import Plan
from tests.ibsim_harness import ibsim, need_ib_tools

PAIR = Path(__file__).parent / "pair"
PARENT, CHILD = str(PAIR / "grow-parent.yaml"), str(PAIR / "grow-child.yaml")


@pytest.fixture(scope="module")
def pair() -> tuple[Plan, Plan]:
    return build_plan(load_build(PARENT)), build_plan(load_build(CHILD))


@pytest.fixture(scope="module")
def growth(pair: tuple[Plan, Plan]) -> Growth:
    return plan_growth(diff_plans(*pair))


def _failed(plan: Plan) -> list[str]:
    return [f"{c.name}: {c.findings[:1]}" for c in run_checks(plan) if not c.passed]


def test_shipped_growth_only_adds(phase1_build: Build, phase2_build: Build, phase1_plan: Plan,
                                  phase2_plan: Plan) -> None:
    d = diff_plans(phase1_plan, phase2_plan)
    assert (d.moved_cables, d.moved_devices, d.changed_addresses) == (0, 0, 0)
    assert len(d.added) == len(phase2_plan.cables) - len(phase1_plan.cables)
    assert growth_conflicts(phase1_build, phase2_build) == []
    g = plan_growth(d)
    assert sum(len(s.order.cables) for s in g.steps) == len(d.added)
    assert {x.name for s in g.steps for x in s.power_on} == {x.name for x in d.added_devices}


def test_every_step_passes_every_check(growth: Growth, pair: tuple[Plan, Plan]) -> None:
    old, new = pair
    steps = list(step_plans(growth))
    assert len(steps) == len(growth.steps) + 1 > 10
    parent_cables = set(old.cables)
    for n, plan in steps:
        assert not _failed(plan), (n, _failed(plan))
        # running SUs keep full bandwidth: every parent cable is there, unchanged
        assert parent_cables <= set(plan.cables), n
    assert steps[-1][1].cables == new.cables and steps[-1][1].devices == new.devices
    assert {c.cable_id for c in steps[0][1].cables} == {c.cable_id for c in old.cables}


def test_a_wrong_order_is_caught(pair: tuple[Plan, Plan]) -> None:
    """SU orders before the uplinks: nodes come on behind leaves that are not, so a step
    fails full-bisection (the checks after every step do see the order)."""
    d = diff_plans(*pair)
    wrong = sorted(growth_orders(d), key=lambda wo: wo.key[1] != "su")
    failures = [n for n, p in step_plans(plan_growth(d, wrong)) if _failed(p)]
    assert failures


def _ftree(plan: Plan, tmp: Path) -> str:
    out = tmp / "fabric"
    write_files(tmp, export_fabric(plan))
    with ibsim(out / "compute.topo", ib_fabric(plan).limits(), tmp) as sim:
        return sim.opensm_ftree(out / "roots.guids", out / "cn.guids")


def test_opensm_routes_the_first_and_last_step(growth: Growth, tmp_path: Path) -> None:
    need_ib_tools()
    for n in (1, len(growth.steps)):
        work = tmp_path / f"step{n}"
        work.mkdir()
        log = _ftree(growth.step_plan(n), work)
        assert "ftree tables configured on all switches" in log, (n, log[-3000:])
        assert "ERR AB" not in log, n


def test_files(growth: Growth) -> None:
    files = growth_files(growth.diff, growth)
    rows = list(csv.reader(io.StringIO(files["growth/changes.csv"].decode())))
    assert tuple(rows[0]) == CHANGE_COLUMNS
    assert {r[0] for r in rows[1:]} == {"add"} and len(rows) - 1 == len(growth.diff.added)
    # the work order of each change is its step's, in step order
    order = [s.order.sheet for s in growth.steps]
    assert [order.index(r[7]) for r in rows[1:]] == sorted(order.index(r[7]) for r in rows[1:])
    devices = list(csv.DictReader(io.StringIO(files["growth/devices.csv"].decode())))
    assert {d["name"] for d in devices} == {d.name for d in growth.diff.added_devices}
    assert all(d["rack"] and d["ru"] and d["step"] for d in devices)
    assert files["growth/moves.csv"].decode().count("\n") == 1
    assert files["growth/labels.pdf"].startswith(b"%PDF")
    import openpyxl

    path = io.BytesIO(files["growth/cabling.xlsx"])
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames[0] == "Summary" and len(wb.sheetnames) == len(growth.steps) + 1
    assert wb.sheetnames[1].startswith("01 ")


def test_plan_from_writes_growth_and_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["plan", CHILD, "--from", PARENT, "--out", str(out)]) == 0
    for f in ("changes.csv", "moves.csv", "devices.csv", "addresses.csv", "steps.csv",
              "cabling.xlsx", "labels.pdf", "labels.csv"):
        assert (out / "growth" / f).is_file(), f
    html = (out / "index.html").read_text()
    assert "Growth from grow-parent" in html and 'id="growth-steps"' in html
    # diff of the two plan.json files says the same, and writes growth/ beside the plan
    assert main(["plan", PARENT, "--out", str(tmp_path / "p")]) == 0
    before = (out / "growth" / "changes.csv").read_bytes()
    assert main(["diff", str(tmp_path / "p" / "plan.json"), str(out)]) == 0
    assert (out / "growth" / "changes.csv").read_bytes() == before


def _moving_child(tmp_path: Path) -> Path:
    """A child that moves the spine row (cable lengths, so parts) and the in-band supernet."""
    doc = yaml.safe_load(Path(CHILD).read_text())
    doc["floorplan"]["halls"][0]["rows"].append({"name": "SP", "y": 9})
    doc["networks"] = {"inband": {"supernet": "10.230.0.0/20"}}
    parent = yaml.safe_load(Path(PARENT).read_text())
    parent["catalog"] = str((PAIR / parent["catalog"]).resolve())
    (tmp_path / "grow-parent.yaml").write_text(yaml.safe_dump(parent, sort_keys=False))
    path = tmp_path / "moving.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_diff_says_what_moves_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    child = _moving_child(tmp_path)
    out = tmp_path / "out"
    assert main(["diff", str(tmp_path / "grow-parent.yaml"), str(child), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "is not a growth of grow-parent" in err and "networks.inband.supernet" in err
    assert "floorplan.halls[0].rows[0].y" in err and "part_number MFS1S00" in err
    moves = list(csv.DictReader(io.StringIO((out / "growth" / "moves.csv").read_text())))
    assert moves and all("floorplan.halls[0].rows[0].y" in m["reason"] for m in moves)
    changes = (out / "growth" / "changes.csv").read_text().splitlines()
    assert sum(r.startswith("move,") for r in changes) == len(moves)
    addrs = (out / "growth" / "addresses.csv").read_text()
    assert "change," in addrs and "10.230." in addrs
    # plan --from refuses it: exit 1, nothing written
    assert main(["plan", str(child), "--from", str(tmp_path / "grow-parent.yaml"),
                 "--out", str(tmp_path / "p")]) in (1, 2)
    assert not (tmp_path / "p").exists()


def test_moves_counted_through_the_diff(pair: tuple[Plan, Plan]) -> None:
    """The loader's refusal counts with the same diff (rscctl.cli.common._moved)."""
    from rscctl.cli.common import _moved

    old, new = pair
    assert _moved(old, new) == (0, 0)
    c = new.cables[0]
    moved = replace(new, cables=(replace(c, b_port="99"), *new.cables[1:]))
    assert _moved(old, moved) == (1, 0)
