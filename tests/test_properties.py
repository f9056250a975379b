"""The checks hold for any valid declaration: property tests over random small builds.

Also cross-checks the structural full-bisection proof with max-flow, and growth by one SU.
"""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rscctl.declare import load_build
from rscctl.planner import build_plan
from rscctl.planner.checks import bisection_flow
from rscctl.planner.graph import fabric_graph
from rscctl.planner.model import Plan
from tests.conftest import small_build_dict, write_build


@st.composite
def small_builds(draw: st.DrawFn) -> dict[str, object]:
    nodes_per_su = draw(st.sampled_from([2, 4, 6, 8, 10, 12, 20]))
    spines = draw(st.sampled_from([d for d in range(1, nodes_per_su + 1) if nodes_per_su % d == 0
                                   and d <= 8]))
    sus = draw(st.integers(1, 4))
    # the spines' 800 ports bound the SU slots: max_sus * 8 rails * per-spine links <= 800
    cap = 800 * spines // (8 * nodes_per_su)
    max_sus = draw(st.integers(sus, max(sus, min(cap, sus + 3))))
    last = draw(st.integers(1, nodes_per_su))
    return small_build_dict(sus=sus, nodes_per_su=nodes_per_su, spines=spines, max_sus=max_sus,
                            gpu_nodes=(sus - 1) * nodes_per_su + last)


def _plan(tmp: Path, doc: dict[str, object], name: str = "b.yaml") -> Plan:
    return build_plan(load_build(str(write_build(tmp, doc, name))))


_settings = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


@_settings
@given(small_builds())
def test_checks_hold_for_any_valid_build(tmp_path: Path, doc: dict[str, object]) -> None:
    plan = _plan(tmp_path, doc)
    assert [c.name for c in plan.checks if not c.passed] == []
    compute = doc["compute"]
    assert isinstance(compute, dict)
    nodes, sus, per_su = compute["gpu_nodes"], compute["scalable_units"], compute["nodes_per_su"]
    roles = {d.name: d.role for d in plan.devices}
    tiers = [(roles[c.a_device], roles[c.b_device]) for c in plan.cables]
    assert tiers.count(("gpu-node", "compute-leaf")) == nodes * 8
    # partial SUs are cabled for the full SU: as many uplinks as node ports per leaf
    assert tiers.count(("compute-leaf", "compute-spine")) == sus * 8 * per_su


@_settings
@given(small_builds(), st.randoms(use_true_random=False))
def test_bisection_by_max_flow(tmp_path: Path, doc: dict[str, object], rnd: random.Random) -> None:
    """Any split of the nodes into halves carries the smaller half's full bandwidth."""
    plan = _plan(tmp_path, doc)
    nodes = sorted(d.name for d in plan.devices if d.role == "gpu-node")
    if len(nodes) < 2:
        return
    rnd.shuffle(nodes)
    half = len(nodes) // 2
    left, right = nodes[:half], nodes[half:]
    flow = bisection_flow(fabric_graph(plan, "compute"), left, right, capacity=1.0)
    assert flow == len(left) * 8


@_settings
@given(small_builds())
def test_growth_by_one_su_moves_nothing(tmp_path: Path, doc: dict[str, object]) -> None:
    compute = doc["compute"]
    assert isinstance(compute, dict)
    if compute["scalable_units"] >= compute["max_sus"]:
        return
    before = _plan(tmp_path, doc)
    sus = compute["scalable_units"] + 1
    grown = small_build_dict(sus=sus, nodes_per_su=compute["nodes_per_su"],
                             spines=compute["spines"], max_sus=compute["max_sus"])
    after = {c.cable_id: c for c in _plan(tmp_path, grown, "grown.yaml").cables}
    # only the (possibly partial) last SU of `before` gains node cables; nothing moves
    assert [c.cable_id for c in before.cables if after.get(c.cable_id) != c] == []


def test_max_flow_sees_a_missing_uplink(tmp_path: Path) -> None:
    """The max-flow cross-check can fail: cut a leaf's uplinks and the bisection drops."""
    plan = _plan(tmp_path, small_build_dict(sus=2, nodes_per_su=4, spines=4))
    g = fabric_graph(plan, "compute")
    for spine in [f"spine{n:02d}" for n in range(1, 5)]:
        while g.has_edge("leaf-s001-r1", spine):
            g.remove_edge("leaf-s001-r1", spine)
    su1 = [f"dgx{n:04d}" for n in range(1, 5)]
    su2 = [f"dgx{n:04d}" for n in range(5, 9)]
    assert bisection_flow(g, su1, su2, capacity=1.0) == 4 * 7
