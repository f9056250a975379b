"""Growth only adds: a build that `extends` another keeps what the parent's cables depend on.

Phase 2 is installed beside a running phase 1; a child that changes the parent's spines, rails,
SU size, reserved SU slots, supernets, naming or floor positions would quietly move hundreds of
installed cables and addresses. `growth_conflicts(parent, child)` lists the fields that differ
(a pure comparison of validated builds, a few milliseconds); the loader refuses the first with
GrowthError. Counting what would move needs both plans, so it is done above the planner: the
CLI catches GrowthError and calls `rscctl.cli.common.growth_message` (imports stay one way:
declare -> planner -> exporters -> cli).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from rscctl.declare.build import Build
from rscctl.errors import UserError

# Fields of the compute fabric the cabling rules, names and slots are computed from.
_COMPUTE = ("node_model", "nodes_per_su", "nodes_per_rack", "leaf_model", "spine_model",
            "spines", "max_sus", "cable_class")
# Floor-plan fields that place racks and devices, or set cable lengths (and so parts).
_FLOOR = ("rack_units", "rack_power_kw", "rack_width_m", "row_pitch_m", "pod_layout", "route")
_STORAGE = ("leaf_model", "spine_model", "leaves_per_su", "uplinks_per_leaf", "spines",
            "cable_class", "server_cable_class")
_SYSTEM = ("model", "rows", "cable_class")
_SERVER = ("role", "model", "count")
# Counts that may grow but never shrink (a shrink removes the parent's cables).
_GROWS = ("gpu_nodes", "scalable_units")


@dataclass(frozen=True)
class Conflict:
    """One field the child changes that the parent's cabling or addresses depend on."""

    field: str
    parent: Any
    child: Any

    def describe(self) -> str:
        return f"{_show(self.parent)} -> {_show(self.child)}"


class GrowthError(UserError):
    """A child build that would move the parent's cables or addresses. Exit 2.

    Carries both builds so the CLI can plan them and say how many cables and addresses move
    (`text(moved)`); str() is the message without the counts.
    """

    def __init__(self, where: str, conflict: Conflict, others: int, parent: Build,
                 child: Build, parent_shown: str) -> None:
        self.where = where
        self.conflict = conflict
        self.others = others
        self.parent = parent
        self.child = child
        self.parent_shown = parent_shown
        super().__init__(self.text(None))

    def text(self, moved: str | None) -> str:
        """The message; `moved` says what would move, e.g. '6,609 of its 19,756 cables'."""
        c, p = self.conflict, self.parent.name
        more = f" ({self.others} more field{'s' * (self.others > 1)} too)" if self.others else ""
        what = f": {moved} would move" if moved else ""
        return (
            f"{self.where}: {c.field}: {c.describe()} changes what {p} ({self.parent_shown}) "
            f"is cabled and addressed by{what}{more}; a build that extends another may only "
            f"add to it: keep {c.field} as {p} has it ({_show(c.parent)}), or declare a build "
            f"that does not extend {p}"
        )


def _show(value: Any) -> str:
    text = str(value) if isinstance(value, int | float | str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dump(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseModel) else value


def _dependencies(b: Build, parent: Build) -> Iterator[tuple[str, Any]]:
    """(field path, value) of everything the parent's plan depends on, read from `b`.

    Items of named lists are found by name and named by the parent's index: a merged child
    keeps the parent's items at the parent's indexes (yamlsrc.merge), so the paths locate in
    the child's file too.
    """
    c = b.compute
    for f in _COMPUTE:
        yield f"compute.{f}", getattr(c, f)
    for f, pattern in b.naming.model_dump().items():
        yield f"naming.{f}", pattern
    for name in parent.catalog.models:
        yield f"catalog.models.{name}", _dump(b.catalog.models.get(name))
    for name in parent.networks:
        net = b.networks.get(name)
        yield f"networks.{name}.supernet", net and str(net.supernet)
        yield f"networks.{name}.segment_prefix", net and net.segment_prefix
    fp = b.floorplan
    for f in _FLOOR:
        yield f"floorplan.{f}", _dump(getattr(fp, f))
    halls = {h.name: h for h in fp.halls}
    for hi, hall in enumerate(parent.floorplan.halls):
        h = halls.get(hall.name)
        yield f"floorplan.halls[{hi}].origin_m", h and h.origin_m
        rows = {r.name: r for r in h.rows} if h else {}
        for ri, row in enumerate(hall.rows):
            r = rows.get(row.name)
            for f in ("y", "sus", "racks", "first_position"):
                yield f"floorplan.halls[{hi}].rows[{ri}].{f}", r and _dump(getattr(r, f))
    servers = {g.name: g for g in b.servers}
    for si, group in enumerate(parent.servers):
        g = servers.get(group.name)
        for f in _SERVER:
            yield f"servers[{si}].{f}", g and getattr(g, f)
    yield from _storage_dependencies(b, parent)
    if parent.management is not None:
        yield "management", _dump(b.management)


def _storage_dependencies(b: Build, parent: Build) -> Iterator[tuple[str, Any]]:
    if parent.storage is None:
        return
    s = b.storage
    for f in _STORAGE:
        yield f"storage.{f}", s and getattr(s, f)
    systems = {g.name: g for g in s.systems} if s else {}
    for gi, group in enumerate(parent.storage.systems):
        g = systems.get(group.name)
        for f in _SYSTEM:
            yield f"storage.systems[{gi}].{f}", g and getattr(g, f)
        # a group's spine ports and addresses are kept for its slots (reserve, else count):
        # count may grow into the reserve, the slots may not change
        slots = "reserve" if group.reserve is not None else "count"
        yield f"storage.systems[{gi}].{slots}", g and g.slots


def growth_conflicts(parent: Build, child: Build) -> list[Conflict]:
    """Every field the child changes that the parent's cables or addresses depend on."""
    old = dict(_dependencies(parent, parent))
    out = [Conflict(path, old[path], value)
           for path, value in _dependencies(child, parent) if old.get(path) != value]
    for f in _GROWS:
        before, after = getattr(parent.compute, f), getattr(child.compute, f)
        if after < before:
            out.append(Conflict(f"compute.{f}", before, after))
    if parent.storage is not None and child.storage is not None:
        counts = {g.name: g.count for g in child.storage.systems}
        for gi, g in enumerate(parent.storage.systems):
            if counts.get(g.name, 0) < g.count:
                out.append(Conflict(f"storage.systems[{gi}].count", g.count, counts.get(g.name)))
    return out


__all__ = ["Conflict", "GrowthError", "growth_conflicts"]
