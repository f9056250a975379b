"""The hardware catalog: models of nodes, switches and cables with the facts the planner uses."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rscctl.declare.fields import (
    Gbps,
    GbpsOrZero,
    GbytesPerSecond,
    GpusPerNode,
    Kilowatts,
    Label,
    Metres,
    PartNumber,
    Petabytes,
    PortCount,
    PortName,
    PortPattern,
    RackUnits,
    ShortText,
    SmallCount,
    Text,
    check_port,
    longest,
)
from rscctl.names import port_label

PortKind = Literal["compute", "storage", "inband", "bmc", "mgmt", "uplink"]


class Strict(BaseModel):
    """Base of every declaration model: unknown keys are errors, values never change, and no
    number is NaN or infinite (a row at y: .nan would turn every AOC into a 1 m DAC)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PortSpec(Strict):
    """A named port of a node (HCA names are data: the real map differs between units)."""

    name: PortName
    kind: PortKind
    speed_gbps: Gbps
    rail: SmallCount | None = None


class AsicLayout(Strict):
    """How a director looks to OpenSM: leaf ASICs carrying the front ports, and spine ASICs."""

    leaf_asics: SmallCount
    spine_asics: SmallCount
    external_ports_per_leaf_asic: SmallCount
    leaf_asics_per_module: SmallCount = 2
    spine_asics_per_module: SmallCount = 2


class HardwareModel(Strict):
    """One orderable model: a GPU node, a switch or a director."""

    kind: Literal["gpu-node", "switch", "director", "storage", "server", "pdu"]
    vendor: ShortText = Field(min_length=1)
    part_number: PartNumber
    description: Text = ""
    rack_units: RackUnits = Field(description="0 for zero-U devices (vertical PDUs)")
    power_kw: Kilowatts
    gpus: GpusPerNode = 0
    capacity_pb: Petabytes = Field(default=0, description="storage systems: usable PB")
    throughput_gbytes_s: GbytesPerSecond = Field(
        default=0, description="storage systems: GB/s it can serve (0: its ports limit)"
    )
    ports: tuple[PortSpec, ...] = Field(default=(), max_length=1024)
    switch_ports: PortCount = 0
    switch_port_speed_gbps: GbpsOrZero = 0
    modules: SmallCount = 1
    port_format: PortPattern = "{port}"
    asics: AsicLayout | None = None

    @model_validator(mode="after")
    def _switch_ports_fill_modules(self) -> HardwareModel:
        """A switch's ports divide evenly over its modules (e.g. 800 = 20 x 40)."""
        if self.switch_ports and self.switch_ports % self.modules:
            raise ValueError(
                f"switch_ports={self.switch_ports} is not a multiple of modules={self.modules}; "
                "give ports per module x modules"
            )
        return self

    @model_validator(mode="after")
    def _zero_u_only_pdus(self) -> HardwareModel:
        """Only a PDU may be zero-U (mounted at the back, beside the rails)."""
        if self.rack_units == 0 and self.kind != "pdu":
            raise ValueError(f"rack_units=0 is only for PDUs; give this {self.kind} its height")
        return self

    @model_validator(mode="after")
    def _port_names_unique(self) -> HardwareModel:
        """Two ports of one model cannot share a name."""
        names = [p.name for p in self.ports]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"port names {dup} are given twice; each port needs its own name")
        labels: dict[str, str] = {}
        for name in names:
            other = labels.setdefault(port_label(name), name)
            if other != name:
                raise ValueError(
                    f"ports {other!r} and {name!r} give the same DNS name "
                    f"(DEVICE-{port_label(name)}); rename one"
                )
        return self

    @model_validator(mode="after")
    def _port_format_names(self) -> HardwareModel:
        """The longest switch port name the format gives is a valid port name."""
        if self.switch_ports:
            top = longest(self.port_format, {"module": self.modules,
                                             "port": self.ports_per_module,
                                             "n": self.switch_ports})
            try:
                check_port(top)
            except ValueError as exc:
                raise ValueError(f"port_format {self.port_format!r} gives {exc}") from None
            if self.modules > 1 and self.switch_port_name(0) == self.switch_port_name(
                    self.ports_per_module):
                raise ValueError(
                    f"port_format {self.port_format!r} names port 1 of every module alike; "
                    "use {module} and {port}, or {n}"
                )
        return self

    def longest_port_label(self) -> int:
        """Length of the longest DNS label part of a named port (addresses go on these)."""
        return max((len(port_label(p.name)) for p in self.ports), default=0)

    @property
    def ports_per_module(self) -> int:
        return self.switch_ports // self.modules

    def switch_port_name(self, index: int) -> str:
        """Name of switch port `index` (0-based), e.g. '21' on a QM8790, 'L03/P17' on a CS8500."""
        if not 0 <= index < self.switch_ports:
            raise IndexError(index)
        module, port = divmod(index, self.ports_per_module)
        return self.port_format.format(module=module + 1, port=port + 1, n=index + 1)

    def switch_port_names(self) -> tuple[str, ...]:
        return tuple(self.switch_port_name(i) for i in range(self.switch_ports))

    def ports_of(self, kind: PortKind) -> tuple[PortSpec, ...]:
        return tuple(p for p in self.ports if p.kind == kind)


class CableFamily(Strict):
    """Cables of one medium and class, with the part number of each stocked length."""

    media: Literal["dac", "aoc", "fibre", "copper", "utp"]
    cable_class: Label
    description: Text = ""
    max_length_m: Metres
    parts: dict[Metres, PartNumber] = Field(min_length=1, max_length=256)
    transceiver: PartNumber | None = None

    @model_validator(mode="after")
    def _lengths_within_limit(self) -> CableFamily:
        """No stocked length may exceed the medium's reach."""
        over = sorted(length for length in self.parts if length > self.max_length_m)
        if over:
            raise ValueError(
                f"stocked lengths {over} m exceed max_length_m={self.max_length_m}; "
                "remove them or raise the limit"
            )
        if any(length <= 0 for length in self.parts):
            raise ValueError("stocked lengths must be positive")
        return self


class Catalog(Strict):
    """Every hardware model and cable a build may use, by name."""

    models: dict[Label, HardwareModel] = Field(min_length=1, max_length=1024)
    cables: tuple[CableFamily, ...] = Field(min_length=1, max_length=1024)
