"""What a planner stage returns (StageResult), and the working state it builds it with.

A stage (compute fabric, servers, storage, management, addresses, policy) is a function of the
declaration and of the earlier stages' results, returning only what it adds: its devices,
cables, addresses, the rack space its devices take and its typed facts
(rscctl.planner.facts). rscctl.planner composes them; the order is in the signatures (storage
takes the compute and servers results, ...), and each result has its own type so that mypy
rejects a stage given the wrong or a missing one.

Inside a stage, a StageBuilder places and cables through one object, so that lengths, parts
and labels are computed the same way for every network; it sees earlier stages' devices (their
racks and units, for placement and cable ends) but adds only to its own result.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain

from rscctl.declare.build import Build
from rscctl.errors import UserError
from rscctl.planner.cable_routing import CableStock, device_height, length_between
from rscctl.planner.facts import (
    ComputeFacts,
    DnsFacts,
    FirewallFacts,
    ManagementFacts,
    NetworkFacts,
    StorageFacts,
)
from rscctl.planner.labels import end_text, label
from rscctl.planner.model import Address, Cable, Device, Rack
from rscctl.planner.placement import RackFiller, RackTake


@dataclass(frozen=True, slots=True)
class StageResult:
    """What one stage adds to the plan. `rack_use` is the rack space its devices took, in the
    order taken, so that later stages fill the racks from where it left them."""

    devices: tuple[Device, ...] = ()
    cables: tuple[Cable, ...] = ()
    addresses: tuple[Address, ...] = ()
    rack_use: tuple[RackTake, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ComputeResult(StageResult):
    """GPU nodes, compute leaves and spines, and the Clos between them (compute_fabric);
    the Clos's figures and the declared HCA GUIDs (node description -> GUID)."""

    facts: ComputeFacts
    guids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServersResult(StageResult):
    """Service hosts in the management racks (servers)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageResult(StageResult):
    """The storage fabric, its addresses and its bandwidth facts (storage_fabric); no facts
    when the build declares no storage."""

    facts: StorageFacts | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagementResult(StageResult):
    """PDUs, management cores and access switches, their cables and addresses (management)."""

    facts: ManagementFacts | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressesResult(StageResult):
    """IPoIB addresses, the declared networks, DNS and the count of every stage's addresses
    (addressing)."""

    networks: Mapping[str, NetworkFacts]
    dns: DnsFacts
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyResult(StageResult):
    """The isolation policy (firewall); none when the build declares no policy."""

    facts: FirewallFacts | None = None


def devices_of(*results: StageResult) -> Iterator[Device]:
    return chain.from_iterable(r.devices for r in results)


def addresses_of(*results: StageResult) -> Iterator[Address]:
    return chain.from_iterable(r.addresses for r in results)


class StageBuilder:
    """One stage's working state: earlier stages' devices (read only) and what it adds."""

    def __init__(self, build: Build, racks: tuple[Rack, ...], *earlier: StageResult) -> None:
        self.build = build
        self.racks = racks
        self.rack_by_name = {r.name: r for r in racks}
        self.filler = RackFiller(chain.from_iterable(r.rack_use for r in earlier))
        self.earlier_devices = list(devices_of(*earlier))
        self.earlier_addresses = list(addresses_of(*earlier))
        self.device_by_name = {d.name: d for d in self.earlier_devices}
        self.devices: list[Device] = []
        self.cables: list[Cable] = []
        self.addresses: list[Address] = []
        self._stocks: dict[str, CableStock] = {}
        # per device: its rack, rack unit and the height its cables leave it, for connect
        # (~50,000 calls in phase 2); earlier stages' devices are added on first use
        self._ends: dict[str, tuple[Rack, int, float]] = {}

    def parts(self) -> tuple[tuple[Device, ...], tuple[Cable, ...], tuple[Address, ...],
                             tuple[RackTake, ...]]:
        """This stage's own devices, cables, addresses and rack space: the positional fields
        of every StageResult (`StorageResult(*sb.parts(), facts=...)`)."""
        return (tuple(self.devices), tuple(self.cables), tuple(self.addresses),
                tuple(self.filler.taken))

    def all_devices(self) -> list[Device]:
        """Earlier stages' devices, then this stage's, in plan order."""
        return [*self.earlier_devices, *self.devices]

    def racks_of(self, kind: str, su: int | None = None) -> list[Rack]:
        return [r for r in self.racks if r.kind == kind and (su is None or r.su == su)]

    def stock(self, cable_class: str) -> CableStock:
        if cable_class not in self._stocks:
            stock = CableStock(self.build.catalog.cables, cable_class)
            if stock.longest_m == 0:
                raise UserError(f"catalog: no cable of class {cable_class!r} is stocked")
            self._stocks[cable_class] = stock
        return self._stocks[cable_class]

    def place(self, device: Device) -> Device:
        """Record a device (its rack and rack unit already chosen)."""
        if device.name in self.device_by_name:
            raise UserError(f"device name {device.name!r} is produced twice; check naming")
        self.devices.append(device)
        self.device_by_name[device.name] = device
        if device.rack in self.rack_by_name:
            self._add_end(device)
        return device

    def _add_end(self, device: Device) -> tuple[Rack, int, float]:
        rack = self.rack_by_name[device.rack]
        units = self.build.model(device.model).rack_units
        z = device_height(device.ru, units, self.build.floorplan.route)
        end = self._ends[device.name] = (rack, device.ru, z)
        return end

    def _end(self, name: str) -> tuple[Rack, int, float]:
        """Where a cable leaves device `name` (this stage's or an earlier one's)."""
        return self._ends.get(name) or self._add_end(self.device_by_name[name])

    def place_in(self, racks: Iterable[Rack], device: Device) -> Device:
        """Place a device in the first of `racks` with room for it."""
        model = self.build.model(device.model)
        rack = self.filler.take_first(racks, model.rack_units, model.power_kw, device.name)
        ru = self.filler.take(rack, model.rack_units, model.power_kw)
        return self.place(
            Device(device.name, device.role, device.model, rack.name, ru,
                   device.su, device.rail, device.index)
        )

    def connect(
        self, cable_id: str, fabric: str, a: str, a_port: str, b: str, b_port: str,
        cable_class: str,
    ) -> Cable:
        """Add a cable from device a (lower tier) to device b, with length, part and labels."""
        ends = self._ends  # inline lookups: ~100,000 in phase 2; _end adds an earlier device
        ra, ru_a, za = ends.get(a) or self._end(a)
        rb, ru_b, zb = ends.get(b) or self._end(b)
        needed = length_between(self.build.floorplan.route, ra, za, rb, zb)
        stock = self._stocks.get(cable_class) or self.stock(cable_class)
        part = stock.pick(needed)
        if part is None:  # the cable-stock check reports it, with the length needed
            media, number, length = "none", "", round(needed, 2)
        else:
            media, number, length = part.media, part.part_number, part.length_m
        end_a = end_text(ra.name, ru_a, a, a_port)
        end_b = end_text(rb.name, ru_b, b, b_port)
        cable = Cable(
            cable_id, fabric, a, a_port, ra.name, b, b_port, rb.name, media, number, length,
            label(cable_id, end_a, end_b), label(cable_id, end_b, end_a),
        )
        self.cables.append(cable)
        return cable
