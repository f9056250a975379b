"""Host names from the plan: one name per address, and the device name on its primary address.

- Every address gets `DEVICE-IFACE` (the interface lowercased, other characters as '-'):
  dgx0001-eno1, dgx0001-bmc, dgx0001-mlx5-0 (IPoIB rail 1), dgx0001-mlx5-8 (storage).
- The device name itself goes on its primary address: in-band if it has one, else out-of-band,
  else storage (switches and PDUs are reached on oob).
Names and addresses come only from the plan, never from facts gathered on hosts. The name
rules themselves are in rscctl.names (iface_name is re-exported here for its importers).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rscctl.names import iface_name
from rscctl.planner.model import Address, Plan

PRIMARY_ORDER = ("inband", "oob", "storage", "ipoib")


@dataclass(frozen=True, slots=True)
class HostEntry:
    """One address with its names: `names[0]` is the canonical one (the PTR target)."""

    address: str
    network: str
    device: str
    interface: str
    prefix_len: int
    names: tuple[str, ...]


def primary_addresses(plan: Plan) -> dict[str, Address]:
    """The address each device name resolves to."""
    rank = {n: i for i, n in enumerate(PRIMARY_ORDER)}
    best: dict[str, Address] = {}
    for a in plan.addresses:
        cur = best.get(a.device)
        if cur is None or rank.get(a.network, 99) < rank.get(cur.network, 99):
            best[a.device] = a
    return best


def host_entries(plan: Plan) -> Iterator[HostEntry]:
    """Every address of the plan with its names, in plan order."""
    primary = primary_addresses(plan)
    for a in plan.addresses:
        names: tuple[str, ...] = (iface_name(a.device, a.interface),)
        if primary[a.device] is a:
            names = (a.device, *names)
        yield HostEntry(a.address, a.network, a.device, a.interface, a.prefix_len, names)


__all__ = ["PRIMARY_ORDER", "HostEntry", "host_entries", "iface_name", "primary_addresses"]
