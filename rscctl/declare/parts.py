"""The parts of a build declaration, each valid on its own: naming, the compute fabric, the
floor plan, networks and servers (storage, management and DNS are in storage.py, the firewall
policy in policy.py). Build (build.py) puts them together; rules.py checks them against each
other.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from typing import Literal

from pydantic import Field, model_validator

from rscctl import names
from rscctl.declare.catalog import Strict
from rscctl.declare.fields import (
    AreaName,
    Coordinate,
    GpuCount,
    Kilowatts,
    LeafPattern,
    Metres,
    NamePrefix,
    NodeCount,
    NodePattern,
    Position,
    RackCount,
    RackHeight,
    RowCoordinate,
    ServerCount,
    SlackMetres,
    SmallCount,
    SpinePattern,
    StorageLeafPattern,
    SuCount,
    Text,
)

_GUID = re.compile(r"0[xX][0-9a-fA-F]{1,16}")
RackKind = Literal["gpu", "network", "spine", "storage", "management"]


class Naming(Strict):
    """Name patterns of the fabrics' devices; names come from position (SU, slot, rail, leaf)
    so growth keeps them. rscctl.names fills them (and names every other device)."""

    node: NodePattern = names.NODE
    leaf: LeafPattern = names.LEAF
    spine: SpinePattern = names.SPINE
    storage_leaf: StorageLeafPattern = names.STORAGE_LEAF
    storage_spine: SpinePattern = names.STORAGE_SPINE


class ComputeFabric(Strict):
    """The rail-optimized, non-blocking two-level Clos of the GPU nodes."""

    node_model: str
    gpu_nodes: NodeCount
    gpus: GpuCount
    scalable_units: SuCount
    nodes_per_su: SmallCount = 20
    nodes_per_rack: SmallCount = 2
    leaf_model: str
    spine_model: str
    spines: SmallCount
    max_sus: SuCount = Field(
        description="SU slots whose spine ports are reserved now, so growth only adds cables"
    )
    cable_class: str = "hdr"
    guids: dict[Text, str] = Field(
        default_factory=dict,
        description="known node GUIDs by InfiniBand node description, e.g. "
        "'dgx0001 mlx5_0': '0x0c42a10300a1b2c0'; the others are derived from names",
    )

    @model_validator(mode="after")
    def _guids_are_hex(self) -> ComputeFabric:
        """A declared GUID is 64-bit hex written 0x..., and no two nodes share one."""
        for desc, guid in self.guids.items():
            ok = _GUID.fullmatch(guid) is not None and int(guid, 16) > 0
            if not ok:
                raise ValueError(
                    f"compute.guids[{desc!r}]={guid!r} is not a GUID; "
                    "write 64-bit hex, e.g. '0x0c42a10300a1b2c0'"
                )
        seen: dict[int, str] = {}
        for desc, guid in self.guids.items():
            if int(guid, 16) in seen:
                raise ValueError(
                    f"compute.guids: {guid} is given to {seen[int(guid, 16)]!r} and {desc!r}; "
                    "each node has its own GUID"
                )
            seen[int(guid, 16)] = desc
        return self


class RackGroup(Strict):
    """`count` racks of one kind from position `at` of a row."""

    at: Position
    count: RackCount = 1
    kind: RackKind
    su: SuCount | None = None


class Row(Strict):
    """A row of racks; `sus` lays out one pod (see floorplan.pod_layout) per SU, in order."""

    name: AreaName
    y: RowCoordinate = Field(description="row position, in row pitches from the hall origin")
    sus: tuple[SuCount, ...] = ()
    racks: tuple[RackGroup, ...] = ()
    first_position: Position = 1


class Hall(Strict):
    name: AreaName
    origin_m: tuple[Coordinate, Coordinate] = (0.0, 0.0)
    rows: tuple[Row, ...] = Field(min_length=1)


class Route(Strict):
    """Cable-tray route rule: up from the device to an overhead tray, Manhattan, down, slack."""

    tray_height_m: Metres = 2.6
    ru_height_m: Metres = 0.04445
    slack_m: SlackMetres = 1.5
    same_rack_slack_m: SlackMetres = 0.5


class FloorPlan(Strict):
    rack_units: RackHeight = 48
    rack_power_kw: Kilowatts = 30.0
    rack_width_m: Metres = 0.6
    row_pitch_m: Metres = 2.4
    pod_layout: tuple[Literal["gpu", "network"], ...] = Field(min_length=1, max_length=256)
    route: Route = Route()
    halls: tuple[Hall, ...] = Field(min_length=1)


class Network(Strict):
    """One declared supernet; every address of the network is allocated from it by the plan."""

    supernet: IPv4Network
    description: Text = ""
    segment_prefix: int = Field(
        default=24, ge=8, le=30,
        description="prefix length of each segment (per SU, row, rail...) cut from the supernet",
    )

    @model_validator(mode="after")
    def _segment_inside(self) -> Network:
        """A segment is no larger than its supernet."""
        if self.segment_prefix < self.supernet.prefixlen:
            raise ValueError(
                f"segment_prefix={self.segment_prefix} is wider than the supernet "
                f"{self.supernet}; give a prefix of at least {self.supernet.prefixlen}"
            )
        return self


class ServerGroup(Strict):
    """Service hosts outside the pods (bastions, ingest gateways), in management racks."""

    name: NamePrefix
    role: Literal["bastion", "ingest-gateway", "management-host"]
    model: str
    count: ServerCount = 1
