"""Put devices into racks: bottom-up, never past a rack's units or power."""

from __future__ import annotations

from collections.abc import Iterable

from rscctl.errors import UserError
from rscctl.planner.model import Rack


class RackFiller:
    """Hands out rack units in a sequence of racks, rack by rack, bottom to top.

    Stages of the planner share one filler per rack so that later stages (management switches,
    storage) take the space earlier stages left, in a fixed order: placement stays stable.
    """

    def __init__(self) -> None:
        self._next_ru: dict[str, int] = {}
        self._power: dict[str, float] = {}

    def used_power(self, rack: str) -> float:
        return self._power.get(rack, 0.0)

    def fits(self, rack: Rack, units: int, power_kw: float) -> bool:
        ru = self._next_ru.get(rack.name, 1)
        return (
            ru + units - 1 <= rack.units
            and self.used_power(rack.name) + power_kw <= rack.power_kw + 1e-9
        )

    def take(self, rack: Rack, units: int, power_kw: float) -> int:
        """Reserve `units` in `rack`; returns the lowest rack unit of the device."""
        if not self.fits(rack, units, power_kw):
            raise UserError(
                f"rack {rack.name} is full ({rack.units}U, {rack.power_kw} kW); "
                "add racks of its kind to the floor plan"
            )
        ru = self._next_ru.get(rack.name, 1)
        self._next_ru[rack.name] = ru + units
        self._power[rack.name] = self.used_power(rack.name) + power_kw
        return ru

    def take_first(self, racks: Iterable[Rack], units: int, power_kw: float, what: str) -> Rack:
        """The first rack of `racks` with room for the device."""
        for rack in racks:
            if self.fits(rack, units, power_kw):
                return rack
        raise UserError(
            f"no rack has room for {what} ({units}U, {power_kw} kW); "
            "declare more racks of its kind in the floor plan"
        )
