"""The difference of two plans: which cables, devices and addresses are added, moved, removed.

Identity comes from position (cable IDs, device names, device + interface + network), so the
diff is a join on those keys. A cable "moves" when it keeps its ID but an end, a rack or its
part changes (someone has to unplug it); it is "removed" when the grown plan no longer has it.
Growth should only add: for the shipped builds moves, removals and changed addresses are zero,
and `rscctl diff` exits 1 when they are not, saying what moves and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from rscctl.planner.model import Address, Cable, Device, Plan

# The fields of a cable someone has to touch when they change (B's refusal counts the same).
CABLE_FIELDS = ("fabric", "a_device", "a_port", "a_rack", "b_device", "b_port", "b_rack",
                "part_number")
DEVICE_FIELDS = ("role", "model", "rack", "ru")


@dataclass(frozen=True, slots=True)
class CableMove:
    """A parent cable the grown plan does not keep as it is: moved (`new` set) or removed."""

    old: Cable
    new: Cable | None
    changes: tuple[str, ...]  # "b_port L01/P01 -> L01/P02", or "not in the grown plan"

    @property
    def action(self) -> str:
        return "remove" if self.new is None else "move"


@dataclass(frozen=True, slots=True)
class DeviceChange:
    action: str  # add, move, remove
    device: Device
    changes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AddressChange:
    action: str  # add, change, remove
    device: str
    interface: str
    network: str
    old: str  # address/prefix, "" when added
    new: str  # "" when removed


@dataclass(frozen=True)
class PlanDiff:
    """What `new` adds to, moves in and removes from `old`; `reasons` say why anything moves
    (the declaration fields that differ, when both builds are known)."""

    old: Plan
    new: Plan
    added: tuple[Cable, ...]
    moves: tuple[CableMove, ...]
    devices: tuple[DeviceChange, ...]
    addresses: tuple[AddressChange, ...]
    reasons: tuple[str, ...] = ()

    @cached_property
    def added_devices(self) -> tuple[Device, ...]:
        return tuple(d.device for d in self.devices if d.action == "add")

    @property
    def moved_cables(self) -> int:
        """Parent cables moved or removed (what re-cabling would cost)."""
        return len(self.moves)

    @property
    def changed_addresses(self) -> int:
        """Parent addresses changed or removed."""
        return sum(a.action != "add" for a in self.addresses)

    @property
    def moved_devices(self) -> int:
        return sum(d.action != "add" for d in self.devices)

    @property
    def adds_only(self) -> bool:
        return not (self.moves or self.moved_devices or self.changed_addresses)

    def why(self) -> str:
        """The reason of every move, for a message and moves.csv."""
        return "; ".join(self.reasons) if self.reasons else (
            f"{self.new.build} plans them differently from {self.old.build}")


def _key(c: Cable) -> tuple[str, ...]:
    return (c.fabric, c.a_device, c.a_port, c.a_rack, c.b_device, c.b_port, c.b_rack,
            c.part_number)


def _changes(old: object, new: object, names: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"{f} {getattr(old, f)} -> {getattr(new, f)}" for f in names
                 if getattr(old, f) != getattr(new, f))


def _addr(a: Address) -> str:
    return f"{a.address}/{a.prefix_len}"


def diff_plans(old: Plan, new: Plan, reasons: Sequence[str] = ()) -> PlanDiff:
    """Join the two plans on identity; a pure function, linear in the plans' sizes."""
    new_cables = {c.cable_id: c for c in new.cables}
    old_ids = {c.cable_id for c in old.cables}
    moves: list[CableMove] = []
    for c in old.cables:
        n = new_cables.get(c.cable_id)
        if n is None:
            moves.append(CableMove(c, None, (f"not in {new.build}",)))
        elif n is not c and _key(n) != _key(c):
            moves.append(CableMove(c, n, _changes(c, n, CABLE_FIELDS)))
    added = tuple(c for c in new.cables if c.cable_id not in old_ids)

    devices: list[DeviceChange] = []
    old_devs = old.device_index()
    new_names = set()
    for d in new.devices:
        new_names.add(d.name)
        o = old_devs.get(d.name)
        if o is None:
            devices.append(DeviceChange("add", d))
        else:
            ch = _changes(o, d, DEVICE_FIELDS)
            if ch:
                devices.append(DeviceChange("move", d, ch))
    devices.extend(DeviceChange("remove", d) for d in old.devices if d.name not in new_names)

    addresses: list[AddressChange] = []
    old_addr = {(a.device, a.interface, a.network): a for a in old.addresses}
    seen = set()
    for a in new.addresses:
        k = (a.device, a.interface, a.network)
        seen.add(k)
        was = old_addr.get(k)
        if was is None:
            addresses.append(AddressChange("add", *k, "", _addr(a)))
        elif (was.address, was.prefix_len) != (a.address, a.prefix_len):
            addresses.append(AddressChange("change", *k, _addr(was), _addr(a)))
    addresses.extend(AddressChange("remove", *k, _addr(a), "")
                     for k, a in old_addr.items() if k not in seen)
    return PlanDiff(old, new, added, tuple(moves), tuple(devices), tuple(addresses),
                    tuple(reasons))


__all__ = ["CABLE_FIELDS", "AddressChange", "CableMove", "DeviceChange", "PlanDiff",
           "diff_plans"]
