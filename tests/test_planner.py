"""The shipped builds: the numbers of the issue, every check, growth that moves no cable."""

from __future__ import annotations

from collections import Counter

from rscctl.planner import build_plan
from rscctl.planner.model import Plan
from tests.test_check_list import DECLARED


def _compute_tiers(plan: Plan) -> Counter[str]:
    roles = {d.name: d.role for d in plan.devices}
    return Counter(
        f"{roles[c.a_device]}>{roles[c.b_device]}" for c in plan.cables if c.fabric == "compute"
    )


def test_phase1_counts(phase1_plan: Plan) -> None:
    roles = Counter(d.role for d in phase1_plan.devices)
    assert (roles["gpu-node"], roles["compute-leaf"], roles["compute-spine"]) == (760, 304, 20)
    tiers = _compute_tiers(phase1_plan)
    assert tiers == {"gpu-node>compute-leaf": 6080, "compute-leaf>compute-spine": 6080}


def test_phase2_counts(phase2_plan: Plan) -> None:
    roles = Counter(d.role for d in phase2_plan.devices)
    assert (roles["gpu-node"], roles["compute-leaf"], roles["compute-spine"]) == (2000, 800, 20)
    tiers = _compute_tiers(phase2_plan)
    assert tiers == {"gpu-node>compute-leaf": 16000, "compute-leaf>compute-spine": 16000}


def test_every_check_passes(phase1_plan: Plan, phase2_plan: Plan) -> None:
    for plan in (phase1_plan, phase2_plan):
        failed = [(c.name, c.findings[:2]) for c in plan.checks if not c.passed]
        assert not failed
        # every declared check ran, in order (the list itself: tests/test_check_list.py)
        assert [c.name for c in plan.checks] == DECLARED


def test_phase2_keeps_every_phase1_cable(phase1_plan: Plan, phase2_plan: Plan) -> None:
    """Growth only adds: each phase-1 cable is in phase 2, same ID, ends, part and labels."""
    p2 = {c.cable_id: c for c in phase2_plan.cables}
    moved = [c.cable_id for c in phase1_plan.cables if p2.get(c.cable_id) != c]
    assert moved == []
    p2_devices = {d.name: d for d in phase2_plan.devices}
    assert [d.name for d in phase1_plan.devices if p2_devices.get(d.name) != d] == []


def test_every_spine_port_of_phase2_is_used_once(phase2_plan: Plan) -> None:
    """Phase 2 fills the 20 directors exactly: 800 ports each, each port once."""
    ports = Counter(c.b_device for c in phase2_plan.cables if c.b_device.startswith("spine"))
    assert set(ports.values()) == {800} and len(ports) == 20


def test_rail_optimized_ports(phase1_plan: Plan) -> None:
    """Node slot k of an SU lands on port k of its rail leaf; uplinks use ports 21-40."""
    by_id = {c.cable_id: c for c in phase1_plan.cables}
    c = by_id["C1-S002-N07-R3"]
    ends = (c.a_device, c.a_port, c.b_device, c.b_port)
    assert ends == ("dgx0027", "mlx5_2", "leaf-s002-r3", "7")
    up = by_id["C2-S002-R3-SP05"]
    assert (up.a_device, up.a_port, up.b_device) == ("leaf-s002-r3", "25", "spine05")
    # SU 2, rail 3 -> reserved spine port index (2-1)*8 + (3-1) = 10 -> module 1, port 11
    assert up.b_port == "L01/P11"


def test_labels_name_both_ends(phase1_plan: Plan) -> None:
    c = phase1_plan.cables[0]
    assert c.label_a.startswith(c.cable_id)
    assert f"{c.a_device}:{c.a_port} >" in c.label_a
    assert c.label_a.endswith(f"{c.b_device}:{c.b_port}")
    assert c.label_b.endswith(f"{c.a_device}:{c.a_port}")
    assert len({c.cable_id for c in phase1_plan.cables}) == len(phase1_plan.cables)


def test_copper_only_within_reach(phase2_plan: Plan) -> None:
    for c in phase2_plan.cables:
        if c.media == "dac":
            assert c.length_m <= 2


def test_plan_is_deterministic(phase1_build) -> None:  # type: ignore[no-untyped-def]
    from rscctl.planjson import generate_plan_json

    assert generate_plan_json(build_plan(phase1_build)) == generate_plan_json(
        build_plan(phase1_build)
    )


def test_plan_json_round_trip(phase1_plan: Plan) -> None:
    from rscctl.planjson import generate_plan_json, parse_plan_json

    back = parse_plan_json(generate_plan_json(phase1_plan))
    assert back == phase1_plan
