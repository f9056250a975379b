"""Work orders: the plan's cables cut into jobs a cabling team does in one go, in walking order.

Generic over fabrics, so networks added later get work orders without code here:

- a cable whose two ends stand in the same SU (pod) belongs to the work order of that fabric
  and SU (compute node-leaf cables: one work order per SU);
- any other cable belongs to the work order of its fabric and its B end (the upper-tier device
  the cables converge on: compute leaf-spine cables, one work order per spine).

Rows run in walking order: A-end rack (floor order), rack unit, port (natural order), so a
technician walks the racks once from the first row to the last.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from rscctl.export.memo import last_plan
from rscctl.planner.model import Cable, Plan

_DIGITS = re.compile(r"(\d+)")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\']")
SHEET_NAME_MAX = 31


@dataclass(frozen=True)
class WorkOrder:
    """One job: its sheet name, what it covers and its cables in walking order."""

    key: tuple[str, str, str]
    sheet: str
    fabric: str
    tier: str
    scope: str
    cables: tuple[Cable, ...]

    @cached_property
    def length_m(self) -> float:
        return round(sum(c.length_m for c in self.cables), 2)

    @cached_property
    def media(self) -> Counter[str]:
        return Counter(c.media for c in self.cables)


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """'L02/P10' < 'L10/P01' and '2' < '10': digits compare as numbers."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _DIGITS.split(text) if p)


class Walker:
    """Walking-order keys for cable ends, with lookups built once per plan."""

    def __init__(self, plan: Plan) -> None:
        self.rack_order = {r.name: i for i, r in enumerate(plan.racks)}
        self.devices = plan.device_index()
        self._ports: dict[str, tuple[tuple[int, int | str], ...]] = {}
        self._dev_rank = {
            d.name: (self.rack_order[d.rack], d.ru, d.name) for d in plan.devices
        }

    def port_key(self, port: str) -> tuple[tuple[int, int | str], ...]:
        key = self._ports.get(port)
        if key is None:
            key = self._ports[port] = natural_key(port)
        return key

    def a_key(self, c: Cable) -> tuple[object, ...]:
        return (self._dev_rank[c.a_device], self.port_key(c.a_port), c.cable_id)

    def ru(self, device: str) -> int:
        return self.devices[device].ru


def sheet_names(wanted: list[str], reserved: tuple[str, ...] = ("Summary",)) -> list[str]:
    """Valid, unique worksheet names (<= 31 chars, no []:*?/\\'), in the order asked."""
    taken = {r.lower() for r in reserved}
    out = []
    for name in wanted:
        base = _SHEET_BAD.sub("-", name).strip() or "sheet"
        base = base[:SHEET_NAME_MAX]
        cand, n = base, 1
        while cand.lower() in taken:
            n += 1
            suffix = f"~{n}"
            cand = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        taken.add(cand.lower())
        out.append(cand)
    return out


@last_plan
def work_orders(plan: Plan) -> list[WorkOrder]:
    """Every cable in exactly one work order; orders sorted by fabric, then floor order.

    Several exporters (xlsx, labels, html) need them: computed once per plan (see memo).
    """
    return _work_orders(plan, Walker(plan))


def _work_orders(plan: Plan, w: Walker) -> list[WorkOrder]:
    devs = w.devices
    groups: dict[tuple[str, str, str], list[Cable]] = {}
    tiers: dict[tuple[str, str, str], Counter[tuple[str, str]]] = {}
    order: dict[tuple[str, str, str], tuple[object, ...]] = {}
    su_names: dict[int, str] = {}
    for c in plan.cables:
        da, db = devs[c.a_device], devs[c.b_device]
        su = da.su
        if su is not None and su == db.su:
            name = su_names.get(su) or su_names.setdefault(su, f"SU{su:03d}")
            key = (c.fabric, "su", name)
        else:
            key = (c.fabric, "device", c.b_device)
        group = groups.get(key)
        if group is None:
            group = groups[key] = []
            tiers[key] = Counter()
            order[key] = ((0, su) if key[1] == "su"
                          else (1, w.rack_order[c.b_rack], db.ru, c.b_device))
        group.append(c)
        tiers[key][(da.role, db.role)] += 1
    fabric_rank = {f: i for i, f in enumerate(dict.fromkeys(c.fabric for c in plan.cables))}
    keys = sorted(groups, key=lambda k: (fabric_rank[k[0]], order[k]))
    names = sheet_names([f"{k[0]} {k[2]}" for k in keys])
    return [
        WorkOrder(
            key=k, sheet=name, fabric=k[0],
            tier=", ".join(f"{a} > {b}" for (a, b), _ in
                           sorted(tiers[k].items(), key=lambda kv: -kv[1])),
            scope=k[2], cables=tuple(sorted(groups[k], key=w.a_key)),
        )
        for k, name in zip(keys, names, strict=True)
    ]


__all__ = ["Walker", "WorkOrder", "natural_key", "sheet_names", "work_orders"]
