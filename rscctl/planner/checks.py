"""The named checks that prove the plan's properties: the declared list, and the runner.

Every check the planner runs is a record in CHECKS below, in the order the plan reports them:
its name, its function, what it says when it holds, and the checks it relies on (premises).
The functions live with their topic: fabric_checks (ports, the compute Clos, racks, cable
stock), network_checks (storage, management, addresses), firewall (zones). A check whose
premise fails is reported as not proven, with the premise named; it never reads another
check's result itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rscctl.errors import Finding
from rscctl.planner import fabric_checks as fc
from rscctl.planner import firewall as fw
from rscctl.planner import network_checks as nc
from rscctl.planner.check_context import Check, CheckFn, Context, SummaryFn
from rscctl.planner.model import CheckResult, Plan

if TYPE_CHECKING:  # only bisection_flow (tests) needs networkx
    import networkx as nx

CHECKS: tuple[Check, ...] = (
    Check("ports-unique", fc.check_ports_unique),
    Check("ports-exist", fc.check_ports_exist),
    Check("leaf-1to1", fc.check_leaf_1to1),
    Check("spine-spread", fc.check_spine_spread),
    Check("rail-alignment", fc.check_rail_alignment),
    Check("spine-reservation", fc.check_spine_reservation),
    Check("rack-capacity", fc.check_rack_capacity),
    Check("cable-stock", fc.check_cable_stock),
    Check("full-bisection", fc.check_full_bisection, fc.bisection_summary,
          premises=("leaf-1to1", "spine-spread")),
    Check("fabric-ports", nc.check_fabric_ports),
    Check("endpoints-connected", nc.check_endpoints_connected),
    Check("addresses-unique", nc.check_addresses_unique, nc.addresses_summary),
    Check("address-plan", nc.check_address_plan),
    Check("addresses-complete", nc.check_addresses_complete),
    Check("storage-bandwidth", nc.check_storage_bandwidth, nc.storage_summary),
    Check("firewall-zones", fw.check_firewall_zones, fw.firewall_zones_summary),
)


def validate_checks(checks: Sequence[Check]) -> None:
    """Names are unique and every premise is declared before the check that relies on it
    (so the runner knows its result when the check runs)."""
    seen: set[str] = set()
    for check in checks:
        if check.name in seen:
            raise ValueError(f"check {check.name!r} is declared twice")
        for premise in check.premises:
            if premise not in seen:
                raise ValueError(
                    f"check {check.name!r}: premise {premise!r} is not declared before it"
                )
        seen.add(check.name)


validate_checks(CHECKS)


def _not_proven(check: Check, premise: str, findings: list[Finding]) -> Finding:
    return Finding(check.name, tuple(f.devices[0] for f in findings[:5] if f.devices),
                   f"not proven: its premise {premise} does not hold", f"fix {premise} first")


def run_checks(plan: Plan, checks: Sequence[Check] = CHECKS) -> tuple[CheckResult, ...]:
    """Run every declared check on the plan, in order; a check whose premise failed is not
    proven (it fails, naming the premise)."""
    validate_checks(checks)
    ctx = Context(plan)
    failed: dict[str, list[Finding]] = {}
    results: list[CheckResult] = []
    for check in checks:
        findings = check.run(plan, ctx)
        findings += [_not_proven(check, p, failed[p]) for p in check.premises if p in failed]
        if findings:
            failed[check.name] = findings
        summary = (
            f"{len(findings)} finding{'s' * (len(findings) != 1)}" if findings
            else check.summary(plan, ctx) if check.summary is not None else "holds"
        )
        results.append(CheckResult(
            check.name, not findings, summary,
            tuple({"check": f.check, "devices": list(f.devices), "message": f.message,
                   "fix": f.fix} for f in findings),
        ))
    return tuple(results)


def bisection_flow(g: nx.Graph, left: list[str], right: list[str], capacity: float) -> float:
    """Max flow between two sets of nodes with `capacity` per cable (used by tests)."""
    import networkx as nx

    h = nx.DiGraph()
    for u, v in g.edges():
        for x, y in ((u, v), (v, u)):
            cap = h[x][y]["capacity"] + capacity if h.has_edge(x, y) else capacity
            h.add_edge(x, y, capacity=cap)
    for n in left:
        h.add_edge("__src__", n, capacity=float("inf"))
    for n in right:
        h.add_edge(n, "__dst__", capacity=float("inf"))
    return float(nx.maximum_flow_value(h, "__src__", "__dst__"))


__all__ = ["CHECKS", "Check", "CheckFn", "Context", "SummaryFn", "bisection_flow", "run_checks",
           "validate_checks"]
