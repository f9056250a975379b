"""Each named check fails on a plan broken on purpose, and names the devices involved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from rscctl.declare import load_build
from rscctl.planner import build_plan
from rscctl.planner.checks import run_checks
from rscctl.planner.model import Cable, Plan
from tests.conftest import small_build_dict, write_build


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    doc = small_build_dict(sus=2, nodes_per_su=4, spines=4)
    path = write_build(tmp_path_factory.mktemp("b"), doc)
    plan = build_plan(load_build(str(path)))
    assert plan.passed
    return plan


def _cable(plan: Plan, cable_id: str) -> Cable:
    return next(c for c in plan.cables if c.cable_id == cable_id)


def _swap_cables(plan: Plan, fn: Callable[[list[Cable]], list[Cable]]) -> Plan:
    return replace(plan, cables=tuple(fn(list(plan.cables))))


def _replace(plan: Plan, cable_id: str, **changes: object) -> Plan:
    return _swap_cables(
        plan, lambda cs: [replace(c, **changes) if c.cable_id == cable_id else c for c in cs]
    )


def _failed(plan: Plan) -> dict[str, list[dict[str, object]]]:
    return {c.name: list(c.findings) for c in run_checks(plan) if not c.passed}


def test_port_used_twice(small_plan: Plan) -> None:
    c = _cable(small_plan, "C1-S001-N01-R1")
    twin = replace(c, cable_id="C1-EXTRA")
    failed = _failed(replace(small_plan, cables=(*small_plan.cables, twin)))
    assert "ports-unique" in failed
    assert failed["ports-unique"][0]["devices"] == ["dgx0001"]


def test_port_beyond_model(small_plan: Plan) -> None:
    failed = _failed(_replace(small_plan, "C2-S001-R1-SP01", a_port="41"))
    assert "ports-exist" in failed
    assert "leaf-s001-r1" in failed["ports-exist"][0]["devices"]


def test_missing_uplink_breaks_1to1_and_bisection(small_plan: Plan) -> None:
    broken = _swap_cables(small_plan, lambda cs: [c for c in cs if c.cable_id != "C2-S002-R5-SP03"])
    failed = _failed(broken)
    assert {"leaf-1to1", "spine-spread", "full-bisection"} <= failed.keys()
    assert failed["leaf-1to1"][0]["devices"] == ["leaf-s002-r5"]


def test_uplink_to_wrong_spine(small_plan: Plan) -> None:
    """Both spines still get links, but unevenly: spine-spread and reservation catch it."""
    c = _cable(small_plan, "C2-S001-R2-SP01")
    failed = _failed(_replace(small_plan, c.cable_id, b_device="spine02", b_port="L20/P40"))
    assert "spine-spread" in failed
    assert "spine-reservation" in failed


def test_rails_swapped(small_plan: Plan) -> None:
    """Two cables swapped between rail leaves: every port still used once, but rails crossed."""
    a, b = _cable(small_plan, "C1-S001-N02-R1"), _cable(small_plan, "C1-S001-N02-R2")
    broken = _replace(_replace(small_plan, a.cable_id, b_device=b.b_device, b_port=b.b_port),
                      b.cable_id, b_device=a.b_device, b_port=a.b_port)
    failed = _failed(broken)
    assert set(failed) == {"rail-alignment"}
    assert {"dgx0002", "leaf-s001-r2"} <= set(failed["rail-alignment"][0]["devices"])


def test_spine_ports_swapped(small_plan: Plan) -> None:
    """Swapped uplinks on one spine pass every structural check except the reservation."""
    a, b = _cable(small_plan, "C2-S001-R1-SP01"), _cable(small_plan, "C2-S002-R1-SP01")
    broken = _replace(small_plan, a.cable_id, b_port=b.b_port)
    broken = _replace(broken, b.cable_id, b_port=a.b_port)
    assert set(_failed(broken)) == {"spine-reservation"}


def test_rack_overlap(small_plan: Plan) -> None:
    devices = [replace(d, ru=1) if d.name == "dgx0002" else d for d in small_plan.devices]
    failed = _failed(replace(small_plan, devices=tuple(devices)))
    assert "rack-capacity" in failed
    assert set(failed["rack-capacity"][0]["devices"]) == {"dgx0001", "dgx0002"}


def test_cable_without_stock(small_plan: Plan) -> None:
    failed = _failed(_replace(small_plan, "C1-S001-N01-R1", part_number="", media="none",
                              length_m=140.0))
    assert "cable-stock" in failed


def test_copper_past_reach(small_plan: Plan) -> None:
    failed = _failed(_replace(small_plan, "C1-S001-N01-R1", media="dac", length_m=10.0))
    assert "cable-stock" in failed


def test_node_missing_a_rail(small_plan: Plan) -> None:
    broken = _swap_cables(small_plan, lambda cs: [c for c in cs if c.cable_id != "C1-S001-N03-R4"])
    failed = _failed(broken)
    assert "full-bisection" in failed
    assert failed["full-bisection"][0]["devices"] == ["dgx0003"]
