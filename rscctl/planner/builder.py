"""The planner's working state, shared by its stages: racks, placed devices, cables.

Each stage (compute fabric, storage, management, ...) adds devices and cables through this one
object, so lengths, parts and labels are computed the same way for every network.
"""

from __future__ import annotations

from collections.abc import Iterable

from rscctl.declare.build import Build
from rscctl.errors import UserError
from rscctl.planner.cable_routing import CableStock, device_height, length_between
from rscctl.planner.labels import end_text, label
from rscctl.planner.model import Address, Cable, Device, Rack
from rscctl.planner.placement import RackFiller


class PlanBuilder:
    def __init__(self, build: Build, racks: tuple[Rack, ...]) -> None:
        self.build = build
        self.racks = racks
        self.rack_by_name = {r.name: r for r in racks}
        self.filler = RackFiller()
        self.devices: list[Device] = []
        self.device_by_name: dict[str, Device] = {}
        self.cables: list[Cable] = []
        self.addresses: list[Address] = []
        self.facts: dict[str, object] = {}
        self._stocks: dict[str, CableStock] = {}
        # per device: its rack, rack unit and the height its cables leave it, for connect
        # (~50,000 calls in phase 2)
        self._ends: dict[str, tuple[Rack, int, float]] = {}

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
        rack = self.rack_by_name.get(device.rack)
        if rack is not None:
            units = self.build.model(device.model).rack_units
            z = device_height(device.ru, units, self.build.floorplan.route)
            self._ends[device.name] = (rack, device.ru, z)
        return device

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
        (ra, ru_a, za), (rb, ru_b, zb) = self._ends[a], self._ends[b]
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
