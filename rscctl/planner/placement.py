"""Put devices into racks: bottom-up, never past a rack's units or power."""

from __future__ import annotations

from collections.abc import Iterable

from rscctl.errors import UserError
from rscctl.planner.model import Rack

# One reservation: rack name, units, kW (a stage's results carry the ones it made, in order).
RackTake = tuple[str, int, float]


class RackFiller:
    """Hands out rack units in a sequence of racks, rack by rack, bottom to top.

    Each stage of the planner starts a filler from the reservations earlier stages made
    (`earlier`, replayed in order), so later stages (management switches, storage) take the
    space earlier stages left, in a fixed order: placement stays stable. `taken` holds this
    filler's own reservations, for the stage's result.
    """

    def __init__(self, earlier: Iterable[RackTake] = ()) -> None:
        self._next_ru: dict[str, int] = {}
        self._power: dict[str, float] = {}
        self.taken: list[RackTake] = []
        for rack, units, power_kw in earlier:
            self._reserve(rack, units, power_kw)

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
        self.taken.append((rack.name, units, power_kw))
        return self._reserve(rack.name, units, power_kw)

    def _reserve(self, rack: str, units: int, power_kw: float) -> int:
        ru = self._next_ru.get(rack, 1)
        self._next_ru[rack] = ru + units
        self._power[rack] = self.used_power(rack) + power_kw
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
