"""Cable length from the floor plan, then the stocked part that covers it.

Route rule: a cable rises from its device to the overhead tray, runs Manhattan (along the row,
then across rows) to the far rack and drops to the far device; slack is added. Within one rack
it runs straight between the two rack units. The length is rounded up to the shortest stocked
length of any medium that reaches (copper only up to its limit); ties go to the medium
declared first in the catalog.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from rscctl.declare.build import Route
from rscctl.declare.catalog import CableFamily
from rscctl.planner.model import Rack


@dataclass(frozen=True, slots=True)
class Stocked:
    length_m: float
    media: str
    part_number: str


def device_height(ru: int, units: int, route: Route) -> float:
    """Height of a device's middle above the floor: where its cables leave it."""
    return (ru - 1 + units / 2) * route.ru_height_m


def route_length(
    route: Route, a: Rack, a_ru: int, a_units: int, b: Rack, b_ru: int, b_units: int
) -> float:
    """The length a cable needs between two devices, before rounding to stock."""
    za, zb = device_height(a_ru, a_units, route), device_height(b_ru, b_units, route)
    return length_between(route, a, za, b, zb)


def length_between(route: Route, a: Rack, za: float, b: Rack, zb: float) -> float:
    """route_length for two devices whose heights (device_height) are known."""
    if a.name == b.name:
        return abs(za - zb) + route.same_rack_slack_m
    rise = max(route.tray_height_m - za, 0.0) + max(route.tray_height_m - zb, 0.0)
    return rise + abs(a.x_m - b.x_m) + abs(a.y_m - b.y_m) + route.slack_m


class CableStock:
    """The stocked lengths of one cable class, sorted for rounding up by bisection."""

    def __init__(self, families: tuple[CableFamily, ...], cable_class: str) -> None:
        options = sorted(
            (length, order, fam.media, part)
            for order, fam in enumerate(families)
            if fam.cable_class == cable_class
            for length, part in fam.parts.items()
        )
        self._lengths = [o[0] for o in options]
        self._items = [Stocked(o[0], o[2], o[3]) for o in options]
        self.cable_class = cable_class

    def pick(self, needed_m: float) -> Stocked | None:
        """The shortest stocked cable at least `needed_m` long, or None if none reaches."""
        i = bisect.bisect_left(self._lengths, needed_m - 1e-9)
        return self._items[i] if i < len(self._items) else None

    @property
    def longest_m(self) -> float:
        return self._lengths[-1] if self._lengths else 0.0
