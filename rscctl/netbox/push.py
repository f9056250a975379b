"""`rscctl netbox push`: bring a NetBox to the plan, by natural keys, in bulk requests.

Creates what is missing, updates what differs, deletes only with prune, and only objects that
carry the `rscctl` tag: what people made by hand (no tag) is used as it is (a hand-made
manufacturer is referred to, never edited). Statuses are set when an object is created and
never changed afterwards: people mark in NetBox what is built (`diff` reports them).
A cable is known by its label (the plan's cable ID); one whose ends moved is patched in place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from rscctl.errors import Finding
from rscctl.netbox.client import NetBoxClient
from rscctl.netbox.state import KINDS, TAG, Current, End, Key, Obj, Values, desired, fetch
from rscctl.planner.model import Plan

SHOWN = 20  # objects listed per kind and change in a dry run


@dataclass
class Change:
    """One object to create, update or delete, with what differs."""

    key: Key
    values: Values
    obj: Obj | None = None
    fields: tuple[str, ...] = ()


@dataclass
class KindPlan:
    create: list[Change] = field(default_factory=list)
    update: list[Change] = field(default_factory=list)
    delete: list[Change] = field(default_factory=list)
    stale: int = 0  # tagged, not in the plan, kept (no --prune)
    foreign: list[Change] = field(default_factory=list)  # hand-made, differs, left as is
    same: int = 0


@dataclass
class PushPlan:
    site: str
    kinds: dict[str, KindPlan]
    conflicts: list[Finding] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return sum(len(k.create) + len(k.update) + len(k.delete) for k in self.kinds.values())


def _show(key: Key) -> str:
    if isinstance(key, tuple):
        return ":".join(str(k) for k in key[1:]) if len(key) == 2 and key[0] else \
            ":".join(str(k) for k in key)
    return str(key)


def _fmt(v: Any) -> str:
    if isinstance(v, frozenset):
        return " -- ".join(sorted(f"{d}:{p}" for d, p in v))
    if isinstance(v, tuple):
        return ":".join(str(x) for x in v[1:] if x) if len(v) == 2 else str(v)
    return "''" if v == "" else str(v)


def compute(plan: Plan, cur: Current, prune: bool) -> PushPlan:
    """The changes, per kind, without touching NetBox."""
    site, want = desired(plan)
    out = PushPlan(site, {})
    for kind in KINDS:
        kp = KindPlan()
        out.kinds[kind.name] = kp
        have = cur.objs.get(kind.name, {})
        for key, values in want[kind.name].items():
            obj = have.get(key)
            if obj is None:
                kp.create.append(Change(key, values))
                continue
            diff = tuple(f for f in kind.fields if obj.values.get(f) != values.get(f))
            if not diff:
                kp.same += 1
            elif cur.owned(kind.name, obj):
                kp.update.append(Change(key, values, obj, diff))
            else:
                kp.foreign.append(Change(key, values, obj, diff))
        for key, obj in have.items():
            if key in want[kind.name] or not cur.owned(kind.name, obj):
                continue
            if prune and kind.in_site:
                kp.delete.append(Change(key, obj.values, obj))
            else:
                kp.stale += 1
    _cable_conflicts(out, cur)
    return out


def _cable_conflicts(pp: PushPlan, cur: Current) -> None:
    """A planned cable cannot go where a cable rscctl does not move or delete holds a port."""
    kp = pp.kinds["cables"]
    freed = {c.obj.id for c in kp.delete if c.obj} | {c.obj.id for c in kp.update if c.obj}

    def placeable(ch: Change) -> bool:
        own = ch.obj.id if ch.obj else None
        blockers = [(e, cur.cable_on[e]) for e in sorted(ch.values["ends"])
                    if cur.cable_on.get(e) not in (None, own) and cur.cable_on[e] not in freed]
        if not blockers:
            return True
        e, cid = blockers[0]
        pp.conflicts.append(Finding(
            "netbox-cable", (e[0],),
            f"cable {ch.key} ({_fmt(ch.values['ends'])}) not placed: {e[0]}:{e[1]} holds "
            f"NetBox cable #{cid}, which rscctl does not own or move",
            f"remove that cable in NetBox or tag it `{TAG}` so rscctl manages it; --prune "
            "deletes it if it is rscctl's and no longer planned"))
        return False

    kp.create = [c for c in kp.create if placeable(c)]
    kp.update = [c for c in kp.update if "ends" not in c.fields or placeable(c)]


def report(pp: PushPlan, dry_run: bool, say: Callable[[str], None]) -> None:
    """Per kind: what is (or would be) created, updated, deleted; objects listed on a dry run."""
    verb = "would be " if dry_run else ""
    for name, kp in pp.kinds.items():
        parts = []
        if kp.create:
            parts.append(f"{len(kp.create)} {verb}created")
        if kp.update:
            fields = sorted({f for c in kp.update for f in c.fields})
            parts.append(f"{len(kp.update)} {verb}updated ({', '.join(fields)})")
        if kp.delete:
            parts.append(f"{len(kp.delete)} {verb}deleted")
        if kp.stale:
            parts.append(f"{kp.stale} tagged `{TAG}` but not planned, kept (--prune deletes)")
        if kp.foreign:
            parts.append(f"{len(kp.foreign)} made by hand and different, left as they are")
        if parts:
            say(f"{name}: " + "; ".join(parts) + f"; {kp.same} unchanged")
        if not dry_run:
            continue
        for sign, changes in (("+", kp.create), ("~", kp.update), ("-", kp.delete),
                              ("!", kp.foreign)):
            for ch in changes[:SHOWN]:
                detail = ", ".join(f"{f}: {_fmt(ch.obj.values.get(f)) if ch.obj else ''} -> "
                                   f"{_fmt(ch.values.get(f))}" for f in ch.fields)
                say(f"  {sign} {_show(ch.key)}" + (f" ({detail})" if detail else ""))
            if len(changes) > SHOWN:
                say(f"  {sign} ... and {len(changes) - SHOWN} more")


# ---- writing ----------------------------------------------------------------------------

class _Ids:
    """Natural key -> NetBox id, per kind, from what exists and what was just created."""

    def __init__(self, cur: Current) -> None:
        self.site = cur.site
        self.ids: dict[str, dict[Key, int]] = {
            k: {key: o.id for key, o in objs.items()} for k, objs in cur.objs.items()}

    def __call__(self, kind: str, key: Key) -> int | None:
        if key in ("", None):
            return None
        return self.ids[kind][key]

    def add(self, kind: str, changes: list[Change], created: list[dict[str, Any]]) -> None:
        for ch, obj in zip(changes, created, strict=True):
            self.ids[kind][ch.key] = int(obj["id"])


def _payload(kind: str, v: Values, ids: _Ids, fields: tuple[str, ...] | None) -> dict[str, Any]:
    """The API body: references resolved to ids; only `fields` for an update."""
    def ref(k: str, key: Key) -> int | None:
        return ids(k, key)

    def iface(e: End) -> list[dict[str, Any]]:
        return [{"object_type": "dcim.interface", "object_id": ids("interfaces", e)}]

    full: dict[str, Any]
    if kind == "sites":
        full = {"name": v["name"], "slug": v["slug"], "status": v["status"],
                "description": v["description"]}
    elif kind == "locations":
        full = {"site": ref("sites", v["site"]), "name": v["name"], "slug": v["slug"],
                "status": v["status"], "description": v["description"],
                "parent": ref("locations", v["parent"])}
    elif kind == "racks":
        full = {"site": ref("sites", v["site"]), "name": v["name"], "status": v["status"],
                "location": ref("locations", v["location"]), "width": v["width"],
                "u_height": v["u_height"], "description": v["description"]}
    elif kind == "manufacturers":
        full = {"name": v["name"], "slug": v["slug"]}
    elif kind == "device_types":
        full = {"manufacturer": ref("manufacturers", v["manufacturer"]), "model": v["model"],
                "slug": v["slug"], "part_number": v["part_number"], "u_height": v["u_height"],
                "is_full_depth": v["is_full_depth"], "description": v["description"]}
    elif kind == "device_roles":
        full = {"name": v["name"], "slug": v["slug"], "color": v["color"],
                "description": v["description"]}
    elif kind == "devices":
        full = {"name": v["name"], "site": ref("sites", v["site"]), "status": v["status"],
                "role": ref("device_roles", v["role"]),
                "device_type": ref("device_types", v["device_type"]),
                "location": ref("locations", v["location"]), "rack": ref("racks", v["rack"]),
                "position": v["position"], "face": v["face"], "description": v["description"]}
    elif kind == "interfaces":
        full = {"device": ids("devices", (ids.site, v["device"])), "name": v["name"],
                "type": v["type"], "speed": v["speed"], "mgmt_only": v["mgmt_only"],
                "description": v["description"]}
    else:  # cables
        full = {"a_terminations": iface(v["a"]), "b_terminations": iface(v["b"]),
                "type": v["type"], "status": v["status"], "label": v["label"],
                "color": v["color"], "length": v["length"],
                "length_unit": v["length_unit"] or None, "description": v["description"]}
    if fields is None:
        return full
    want = set(fields) - {"ends"} | ({"a_terminations", "b_terminations"}
                                     if "ends" in fields else set())
    if "length" in fields:
        want.add("length_unit")
    return {k: x for k, x in full.items() if k in want}


def _by_id(o: dict[str, Any]) -> Hashable:
    key: Hashable = o["id"]
    return key


def _by_label(o: dict[str, Any]) -> Hashable:
    key: Hashable = o["label"]
    return key


# Which creates may run at once, and on what they must not overlap (NetBoxClient.create's
# lanes): devices of one device type in one lane (its device counter), a device's interfaces
# in one lane (its interface counter), racks by location; every cable has ports of its own
# (a port holds one cable), so cables go on any lane. Writes that still deadlock are sent
# again (the request's transaction was rolled back whole).
LANES: dict[str, Callable[[dict[str, Any]], Hashable]] = {
    "racks": lambda o: o["location"],
    "devices": lambda o: o["device_type"],
    "interfaces": lambda o: o["device"],
    "cables": _by_label,
}


def apply(nb: NetBoxClient, pp: PushPlan, cur: Current, say: Callable[[str], None]) -> None:
    """Write the changes: deletes first (cables first), then creates and updates in import
    order, each kind in bulk requests."""
    tag_id = cur.tag_id
    if tag_id is None:
        tag_id = int(nb.create("extras/tags", [
            {"name": TAG, "slug": TAG, "color": "2196f3",
             "description": "made by rscctl netbox push; push changes and prunes only these"},
        ])[0]["id"])
    tags = [{"id": tag_id}]
    for kind in reversed(KINDS):
        kp = pp.kinds[kind.name]
        if kp.delete:
            nb.delete(kind.endpoint, [c.obj.id for c in kp.delete if c.obj])
    ids = _Ids(cur)
    for kind in KINDS:
        kp = pp.kinds[kind.name]
        start = time.monotonic()
        if kind.name == "locations":  # parents (halls) before their rows
            order = sorted(kp.create, key=lambda c: c.values["parent"] != "")
            for top in (True, False):
                batch = [c for c in order if (c.values["parent"] == "") == top]
                if batch:
                    ids.add(kind.name, batch, nb.create(kind.endpoint, [
                        {**_payload(kind.name, c.values, ids, None), "tags": tags}
                        for c in batch]))
        elif kp.create and kind.name != "cables":
            ids.add(kind.name, kp.create, nb.create(kind.endpoint, [
                {**_payload(kind.name, c.values, ids, None), "tags": tags} for c in kp.create],
                LANES.get(kind.name)))
        if kp.update and kind.name == "cables":
            _update_cables(nb, kp, cur, ids, tags)
        elif kp.update:
            nb.update(kind.endpoint, [
                {"id": c.obj.id, **_payload(kind.name, c.values, ids, c.fields)}
                for c in kp.update if c.obj], _by_id if kind.name == "interfaces" else None)
        if kind.name == "cables" and kp.create:
            ids.add(kind.name, kp.create, nb.create(kind.endpoint, [
                {**_payload(kind.name, c.values, ids, None), "tags": tags} for c in kp.create],
                LANES["cables"]))
        if kp.create or kp.update:
            say(f"wrote {kind.name} in {time.monotonic() - start:.1f} s")


def _update_cables(nb: NetBoxClient, kp: KindPlan, cur: Current, ids: _Ids,
                   tags: list[dict[str, int]]) -> None:
    """Moved cables in rounds: one whose new port another moved cable still holds waits for
    that one; a ring of cables taking each other's ports is deleted and made again."""
    pending = [c for c in kp.update if c.obj]
    gone = {c.obj.id for c in kp.delete if c.obj}
    while pending:
        moving = {c.obj.id for c in pending if c.obj}
        ready = [c for c in pending if c.obj and not any(
            cur.cable_on.get(e) not in (None, c.obj.id) and cur.cable_on.get(e) in moving
            for e in c.values["ends"])]
        if not ready:
            nb.delete("dcim/cables", sorted(moving))
            nb.create("dcim/cables", [{**_payload("cables", c.values, ids, None), "tags": tags}
                                      for c in pending])
            return
        nb.update("dcim/cables", [{"id": c.obj.id, **_payload("cables", c.values, ids, c.fields)}
                                  for c in ready if c.obj])
        done = {c.obj.id for c in ready if c.obj}
        for e, cid in list(cur.cable_on.items()):
            if cid in done or cid in gone:
                del cur.cable_on[e]
        pending = [c for c in pending if c.obj and c.obj.id not in done]


def push(nb: NetBoxClient, plan: Plan, *, dry_run: bool, prune: bool,
         say: Callable[[str], None]) -> PushPlan:
    """Compare, report, and (unless a dry run) write. Returns what was planned."""
    site, _ = desired(plan)
    cur = fetch(nb, site)
    pp = compute(plan, cur, prune)
    report(pp, dry_run, say)
    if pp.changes == 0:
        say(f"no change: NetBox at {nb.url} already holds the plan of site {site}")
        return pp
    if not dry_run:
        apply(nb, pp, cur, say)
        again = f" ({nb.deadlocks} sent again after a deadlock)" if nb.deadlocks else ""
        say(f"pushed {pp.changes} changes to {nb.url} in {nb.requests} requests{again}")
    else:
        say(f"dry run: {pp.changes} changes, nothing written")
    return pp


__all__ = ["Change", "KindPlan", "PushPlan", "apply", "compute", "push", "report"]
