"""Growth work orders in an order that keeps the running fabric valid after every one.

The added cables are cut into work orders by the deliverables' own rule
(rscctl.export.workorders): per fabric and SU (node-leaf, and whatever else stays inside an
SU), per fabric and upper-tier device (leaf-spine per spine, storage leaf-spine per storage
spine, access-core per core). What the running fabric is after each order:

- a new device stays powered off until the order that lays its last cable; that order ends by
  powering it on (`Step.power_on`), so a half-cabled device never joins the fabric;
- a cable carries traffic once both its ends are on; the parent's cables are never touched.

Orders keyed by a device (uplinks towards the spines and cores) come first, then the SUs in
order: a new leaf so gets all its uplinks before its nodes, and its SU's nodes, leaves, storage
leaves and access switches come on together at the end of the SU's own order, as a whole,
non-blocking SU. Every intermediate fabric (`step_plan`) is a Plan every planner check runs on;
the tests run all of them after every step on a scaled-down pair, and OpenSM fat-tree routing
at the first and the last step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from rscctl.export.workorders import WorkOrder, work_orders
from rscctl.growth.diff import PlanDiff
from rscctl.planner.model import Device, Plan


@dataclass(frozen=True, slots=True)
class Step:
    """One growth work order and the devices powered on when it is done."""

    number: int
    order: WorkOrder
    power_on: tuple[Device, ...]


@dataclass(frozen=True)
class Growth:
    """The diff and its steps, in the order they are done."""

    diff: PlanDiff
    steps: tuple[Step, ...]

    @cached_property
    def on_at(self) -> dict[str, int]:
        """New device -> the step after which it is on (0: already on: the parent's)."""
        return {d.name: s.number for s in self.steps for d in s.power_on}

    def step_plan(self, number: int) -> Plan:
        """The running fabric after step `number` (0: the parent's, on the grown floor)."""
        return step_plan(self, number)


def _order_key(wo: WorkOrder) -> tuple[int, str]:
    # uplink orders (keyed by their upper-tier device) first, then SU by SU (SU003 of every
    # fabric, then SU004, ...), so each SU comes on as soon as its own orders are done
    return (0, "") if wo.key[1] == "device" else (1, wo.key[2])


def growth_orders(diff: PlanDiff) -> list[WorkOrder]:
    """The work orders of the added cables, uplinks first, each group in floor order."""
    if not diff.added:
        return []
    sub = replace(diff.new, cables=diff.added, checks=())
    orders = work_orders(sub)
    return sorted(orders, key=_order_key)  # stable: keeps fabric and floor order


def plan_growth(diff: PlanDiff, orders: list[WorkOrder] | None = None) -> Growth:
    """The steps of a growth that only adds (a diff with moves has no such order); `orders`
    replaces the order growth_orders chooses (the tests give a wrong one)."""
    if not diff.adds_only:
        raise ValueError("plan_growth needs a diff that only adds")
    if orders is None:
        orders = growth_orders(diff)
    new_names = {d.name for d in diff.added_devices}
    last: dict[str, int] = {}
    for i, wo in enumerate(orders, start=1):
        for c in wo.cables:
            if c.a_device in new_names:
                last[c.a_device] = i
            if c.b_device in new_names:
                last[c.b_device] = i
    per_step: dict[int, list[Device]] = {}
    for d in diff.added_devices:  # uncabled new devices come on with the first order
        per_step.setdefault(last.get(d.name, 1), []).append(d)
    steps = tuple(Step(i, wo, tuple(per_step.get(i, ()))) for i, wo in enumerate(orders, 1))
    return Growth(diff, steps)


def _facts(new: Any, old: Any) -> Any:
    """The grown plan's facts, but the storage target the running build was promised (the
    grown target holds only once the grown build is complete)."""
    if isinstance(new, dict):
        ns, os_ = new.get("storage"), old.get("storage") if isinstance(old, dict) else None
        if isinstance(ns, dict) and isinstance(os_, dict) and "target_tbytes_s" in os_:
            return {**new, "storage": {**ns, "target_tbytes_s": os_["target_tbytes_s"]}}
        return new
    ns, os_ = getattr(new, "storage", None), getattr(old, "storage", None)
    if dataclasses.is_dataclass(ns) and os_ is not None and not isinstance(ns, type):
        return replace(new, storage=replace(ns, target_tbytes_s=os_.target_tbytes_s))
    return new


def step_plan(growth: Growth, number: int) -> Plan:
    """The running fabric after `number` steps: the parent's devices and cables, the new
    devices switched on so far and the cables between devices that are on."""
    diff = growth.diff
    new = diff.new
    if number >= len(growth.steps):
        return replace(new, checks=())
    on_at = growth.on_at
    added = {d.name for d in diff.added_devices}

    def on(name: str) -> bool:
        return name not in added or on_at.get(name, 0) <= number

    old_ids = {c.cable_id for c in diff.old.cables}
    return replace(
        new,
        devices=tuple(d for d in new.devices if on(d.name)),
        cables=tuple(c for c in new.cables
                     if c.cable_id in old_ids or (on(c.a_device) and on(c.b_device))),
        addresses=tuple(a for a in new.addresses if on(a.device)),
        facts=_facts(new.facts, diff.old.facts),
        checks=(),
    )


def step_plans(growth: Growth) -> Iterator[tuple[int, Plan]]:
    """Every intermediate fabric, from the parent's (0) to the grown plan (the last step)."""
    for n in range(len(growth.steps) + 1):
        yield n, step_plan(growth, n)


__all__ = ["Growth", "Step", "growth_orders", "plan_growth", "step_plan", "step_plans"]
