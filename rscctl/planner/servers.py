"""Service hosts (bastions, ingest gateways) in the management racks, named group + number."""

from __future__ import annotations

from rscctl.declare.build import ServerGroup
from rscctl.planner.builder import PlanBuilder
from rscctl.planner.model import Device


def server_name(group: ServerGroup, n: int) -> str:
    return f"{group.name}{n:02d}"


def plan_servers(pb: PlanBuilder) -> None:
    racks = pb.racks_of("management")
    for group in pb.build.servers:
        for n in range(1, group.count + 1):
            pb.place_in(racks, Device(server_name(group, n), group.role, group.model, "", 0,
                                      None, None, n))
