"""The plan as plain data: what every exporter, verifier and growth diff reads.

Plain frozen dataclasses (slots: phase 2 has ~50,000 cables) with a JSON round trip in
rscctl.planjson. Identity fields (names, ports, cable IDs) come from position, never from order.
Everything is typed: the catalog entries as the declaration's own models (validated once, when
the declaration or plan.json is read), the facts as rscctl.planner.facts records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rscctl.declare.catalog import CableFamily, HardwareModel
from rscctl.planner.facts import Facts

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Rack:
    name: str
    hall: str
    row: str
    position: int
    kind: str
    su: int | None
    x_m: float
    y_m: float
    units: int
    power_kw: float


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    role: str
    model: str
    rack: str
    ru: int
    su: int | None = None
    rail: int | None = None
    index: int | None = None


@dataclass(frozen=True, slots=True)
class Cable:
    cable_id: str
    fabric: str
    a_device: str
    a_port: str
    a_rack: str
    b_device: str
    b_port: str
    b_rack: str
    media: str
    part_number: str
    length_m: float
    label_a: str
    label_b: str


@dataclass(frozen=True, slots=True)
class Address:
    device: str
    interface: str
    network: str
    address: str
    prefix_len: int


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    passed: bool
    summary: str
    findings: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Plan:
    """A complete plan of one build. `models` are the catalog entries the plan's devices use,
    `cable_families` the whole catalog's (what the cable-stock check and BOM read)."""

    build: str
    description: str
    racks: tuple[Rack, ...]
    devices: tuple[Device, ...]
    cables: tuple[Cable, ...]
    models: Mapping[str, HardwareModel]
    cable_families: tuple[CableFamily, ...]
    checks: tuple[CheckResult, ...] = ()
    addresses: tuple[Address, ...] = ()
    facts: Facts = field(kw_only=True)
    schema_version: int = SCHEMA_VERSION

    def rack_index(self) -> dict[str, Rack]:
        return {r.name: r for r in self.racks}

    def device_index(self) -> dict[str, Device]:
        return {d.name: d for d in self.devices}

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)
