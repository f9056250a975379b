"""addresses.csv: every interface's address from the plan, one row per (device, interface)."""

from __future__ import annotations

from collections.abc import Iterator

from rscctl.export.tables import Row
from rscctl.planner.model import Plan

ADDRESS_COLUMNS = ("device", "interface", "network", "address", "prefix_len")


def address_rows(plan: Plan) -> Iterator[Row]:
    """In plan order: by network stage, then by position (SU, slot, rail, rack)."""
    for a in plan.addresses:
        yield (a.device, a.interface, a.network, a.address, a.prefix_len)
