"""The declared check list is the one the planner runs: exactly these names, in this order,
each caught failing on a plan broken for it, and premises reported, never read by a check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest

from rscctl.declare import load_build
from rscctl.planner import build_plan, fabric_checks
from rscctl.planner.check_context import Context
from rscctl.planner.checks import CHECKS, Check, run_checks, validate_checks
from rscctl.planner.model import Address, Cable, CheckResult, Plan

# The whole list, in the order plan.json reports it. A check added or dropped must change it.
DECLARED = [
    "ports-unique", "ports-exist", "leaf-1to1", "spine-spread", "rail-alignment",
    "spine-reservation", "rack-capacity", "cable-stock", "full-bisection", "fabric-ports",
    "endpoints-connected", "addresses-unique", "address-plan", "addresses-complete",
    "storage-bandwidth", "firewall-zones",
]


@pytest.fixture(scope="module")
def lab() -> Plan:
    """topology/lab.yaml: small, with every network and storage (no policy: phase 1 has one)."""
    plan = build_plan(load_build("lab"))
    assert plan.facts.storage is not None and plan.facts.management is not None
    return plan


def assert_runs_exactly(results: Sequence[CheckResult]) -> None:
    assert [r.name for r in results] == DECLARED


def test_declared_list_is_exact() -> None:
    assert [c.name for c in CHECKS] == DECLARED


def test_every_declared_check_runs_in_a_plan(lab: Plan, phase1_plan: Plan) -> None:
    for plan in (lab, phase1_plan):
        assert_runs_exactly(plan.checks)
        assert all(c.passed for c in plan.checks), [c.name for c in plan.checks if not c.passed]
    assert_runs_exactly(run_checks(lab))


@pytest.mark.parametrize("dropped", DECLARED)
def test_a_check_missing_from_the_list_is_noticed(lab: Plan, dropped: str) -> None:
    """Were a check dropped from CHECKS, the plan's results would fail the exact-list test."""
    fewer = tuple(c for c in CHECKS if c.name != dropped and dropped not in c.premises)
    with pytest.raises(AssertionError):
        assert_runs_exactly(run_checks(lab, fewer))


# -- one broken plan per declared check ------------------------------------------------------

def _cables(plan: Plan, fn: Callable[[list[Cable]], list[Cable]]) -> Plan:
    return replace(plan, cables=tuple(fn(list(plan.cables))))


def _edit(plan: Plan, cable_id: str, **changes: Any) -> Plan:
    return _cables(plan, lambda cs: [replace(c, **changes) if c.cable_id == cable_id else c
                                     for c in cs])


def _drop(plan: Plan, keep: Callable[[Cable], bool]) -> Plan:
    return _cables(plan, lambda cs: [c for c in cs if keep(c)])


def _cable(plan: Plan, cable_id: str) -> Cable:
    return next(c for c in plan.cables if c.cable_id == cable_id)


def _swap_leaf_ends(p: Plan) -> Plan:
    a, b = _cable(p, "C1-S001-N02-R1"), _cable(p, "C1-S001-N02-R2")
    p = _edit(p, a.cable_id, b_device=b.b_device, b_port=b.b_port)
    return _edit(p, b.cable_id, b_device=a.b_device, b_port=a.b_port)


def _swap_spine_ports(p: Plan) -> Plan:
    a, b = _cable(p, "C2-S001-R1-SP01-L1"), _cable(p, "C2-S002-R1-SP01-L1")
    return _edit(_edit(p, a.cable_id, b_port=b.b_port), b.cable_id, b_port=a.b_port)


def _move_address(p: Plan, network: str, address: str) -> Plan:
    addrs = list(p.addresses)
    i = next(i for i, a in enumerate(addrs) if a.network == network)
    addrs[i] = replace(addrs[i], address=address)
    return replace(p, addresses=tuple(addrs))


def _duplicate_address(p: Plan) -> Plan:
    a = p.addresses[0]
    return replace(p, addresses=(*p.addresses, Address("dgx0001", "eth9", a.network, a.address,
                                                       a.prefix_len)))


BREAKERS: dict[str, Callable[[Plan], Plan]] = {
    "ports-unique": lambda p: replace(p, cables=(
        *p.cables, replace(_cable(p, "C1-S001-N01-R1"), cable_id="C1-EXTRA"))),
    "ports-exist": lambda p: _edit(p, "C2-S001-R1-SP01-L1", a_port="41"),
    "leaf-1to1": lambda p: _drop(p, lambda c: not c.cable_id.startswith("C2-S002-R5-")),
    "spine-spread": lambda p: _drop(p, lambda c: c.cable_id != "C2-S002-R5-SP02-L1"),
    "rail-alignment": _swap_leaf_ends,
    "spine-reservation": _swap_spine_ports,
    "rack-capacity": lambda p: replace(p, devices=tuple(
        replace(d, ru=1) if d.name == "dgx0002" else d for d in p.devices)),
    "cable-stock": lambda p: _edit(p, "C1-S001-N01-R1", part_number="", media="none",
                                   length_m=140.0),
    "full-bisection": lambda p: _drop(p, lambda c: c.cable_id != "C1-S001-N03-R4"),
    "fabric-ports": lambda p: _edit(p, "S1-S001-N01-P1", a_port="bmc"),
    "endpoints-connected": lambda p: _drop(p, lambda c: (c.a_device, c.a_port) != ("dgx0002",
                                                                                  "bmc")),
    "addresses-unique": _duplicate_address,
    "address-plan": lambda p: _move_address(p, "oob", "10.99.0.10"),
    "addresses-complete": lambda p: replace(p, addresses=tuple(
        a for a in p.addresses if not (a.device == "dgx0003" and a.network == "ipoib"))),
    "storage-bandwidth": lambda p: replace(p, facts=replace(
        p.facts, storage=replace(p.facts.storage, target_tbytes_s=1e6))),
    "firewall-zones": lambda p: replace(p, devices=tuple(
        replace(d, role="jump-host") if d.role == "bastion" else d for d in p.devices)),
}


# The plan each breaker starts from (the lab, but for the one check that needs a policy).
BASE = {"firewall-zones": "phase1_plan"}


@pytest.mark.parametrize("name", DECLARED)
def test_each_declared_check_fails_on_its_broken_plan(
    request: pytest.FixtureRequest, name: str
) -> None:
    base: Plan = request.getfixturevalue(BASE.get(name, "lab"))
    assert {r.name: r.passed for r in base.checks}[name]
    broken = BREAKERS[name](base)  # a KeyError here: a declared check without a broken plan
    results = {r.name: r for r in run_checks(broken)}
    assert not results[name].passed, f"{name} holds on a plan broken for it"
    assert all(f["check"] == name for f in results[name].findings)


def test_every_broken_plan_is_for_a_declared_check() -> None:
    assert sorted(BREAKERS) == sorted(DECLARED)


# -- premises --------------------------------------------------------------------------------

def test_full_bisection_is_not_proven_when_a_premise_fails(lab: Plan) -> None:
    """An uplink moved to the other spine: 1:1 and every HCA hold, the spread does not."""
    broken = _edit(lab, "C2-S002-R5-SP02-L1", b_device="spine01", b_port="L20/P40")
    assert fabric_checks.check_full_bisection(broken, Context(broken)) == []
    results = {r.name: r for r in run_checks(broken)}
    assert not results["spine-spread"].passed and results["leaf-1to1"].passed
    fb = results["full-bisection"]
    assert not fb.passed
    assert [f["message"] for f in fb.findings] == [
        "not proven: its premise spine-spread does not hold"]
    assert fb.findings[0]["devices"]  # names the devices the premise found


def test_premises_must_be_declared_before_the_check() -> None:
    def never(plan: Plan, ctx: Context) -> list[object]:
        raise AssertionError("not run")

    late = (Check("b", never, premises=("a",)), Check("a", never))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="premise 'a' is not declared before it"):
        validate_checks(late)
    with pytest.raises(ValueError, match="declared twice"):
        validate_checks((Check("a", never), Check("a", never)))  # type: ignore[arg-type]
    validate_checks(CHECKS)
