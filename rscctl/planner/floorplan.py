"""Expand the declared floor plan into racks with positions in metres."""

from __future__ import annotations

from rscctl.declare.build import Build
from rscctl.names import rack_name
from rscctl.planner.model import Rack


def expand_racks(build: Build) -> tuple[Rack, ...]:
    """Every rack of the floor plan, sorted by hall, row and position."""
    f = build.floorplan
    racks: list[Rack] = []
    for hall in f.halls:
        ox, oy = hall.origin_m
        for row in hall.rows:
            spans: list[tuple[int, str, int | None]] = []
            for i, su in enumerate(row.sus):
                start = row.first_position + i * len(f.pod_layout)
                spans += [(start + j, kind, su) for j, kind in enumerate(f.pod_layout)]
            for g in row.racks:
                spans += [(g.at + j, g.kind, g.su) for j in range(g.count)]
            for pos, kind, rack_su in spans:
                racks.append(
                    Rack(
                        name=rack_name(hall.name, row.name, pos),
                        hall=hall.name,
                        row=row.name,
                        position=pos,
                        kind=kind,
                        su=rack_su,
                        x_m=round(ox + (pos - 1) * f.rack_width_m, 3),
                        y_m=round(oy + row.y * f.row_pitch_m, 3),
                        units=f.rack_units,
                        power_kw=f.rack_power_kw,
                    )
                )
    hall_order = {h.name: i for i, h in enumerate(f.halls)}
    row_order = {(h.name, r.name): i for h in f.halls for i, r in enumerate(h.rows)}
    racks.sort(key=lambda r: (hall_order[r.hall], row_order[(r.hall, r.row)], r.position))
    return tuple(racks)
