"""Service hosts (bastions, ingest gateways) in the management racks, named group + number."""

from __future__ import annotations

from rscctl.declare.build import Build
from rscctl.names import Role, server_name
from rscctl.planner.builder import ComputeResult, ServersResult, StageBuilder
from rscctl.planner.model import Device, Rack


def plan_servers(build: Build, racks: tuple[Rack, ...], compute: ComputeResult) -> ServersResult:
    """Servers take the management racks' space after the compute stage's devices."""
    sb = StageBuilder(build, racks, compute)
    mgmt_racks = sb.racks_of("management")
    for group in build.servers:
        for n in range(1, group.count + 1):
            sb.place_in(mgmt_racks, Device(server_name(group.name, n), Role(group.role),
                                           group.model, "", 0, None, None, n))
    return ServersResult(*sb.parts())
