"""`rscctl netbox diff`: NetBox's as-built against the plan, as findings (exit 0 only when none).

Everything in the site counts, tagged or not: NetBox is where people record what is built.
Cables are matched by label (the plan's cable ID), then by their two ends; devices by name.
Statuses: a device or rack planned, staged or active, a cable planned or connected, is on its
way to the plan; any other status (failed, offline, decommissioning, ...) is a finding.
"""

from __future__ import annotations

from rscctl.errors import Finding
from rscctl.netbox.client import NetBoxClient
from rscctl.netbox.state import End, desired, fetch
from rscctl.planner.model import Plan

OK_STATUS = {
    "devices": {"planned", "staged", "active"},
    "racks": {"planned", "active"},
    "cables": {"planned", "connected"},
}


def _ends(ends: frozenset[End]) -> str:
    return " -- ".join(sorted(f"{d}:{p}" if d else "(no end)" for d, p in ends))


def diff(nb: NetBoxClient, plan: Plan) -> list[Finding]:
    """Every way NetBox differs from the plan that matters on the floor."""
    site, want = desired(plan)
    cur = fetch(nb, site)
    out: list[Finding] = []
    if cur.site_id is None:
        return [Finding("netbox-site", (), f"site {site} is not in NetBox at {nb.url}",
                        f"rscctl netbox push {plan.build} --url {nb.url}")]
    have_dev = cur.objs["devices"]
    for key, v in want["devices"].items():
        name = v["name"]
        o = have_dev.get(key)
        if o is None:
            out.append(Finding("netbox-device", (name,), f"device {name} is not in NetBox",
                               "push the plan or add the device"))
            continue
        moved = [f for f in ("rack", "position", "face") if o.values[f] != v[f]]
        if moved:
            def where(x: dict[str, object]) -> str:
                rack = x["rack"]
                r = rack[1] if isinstance(rack, tuple) else "no rack"
                return f"{r} U{x['position']} {x['face'] or ''}".strip()
            out.append(Finding("netbox-device", (name,),
                               f"device {name} is in {where(o.values)} in NetBox, the plan has "
                               f"{where(v)}", "move the device or correct NetBox"))
        if o.values["status"] not in OK_STATUS["devices"]:
            out.append(Finding("netbox-status", (name,),
                               f"device {name} is {o.values['status']} in NetBox",
                               "repair or replace it, then set its status"))
    for key, v in want["racks"].items():
        r = cur.objs["racks"].get(key)
        if r is None:
            out.append(Finding("netbox-rack", (), f"rack {v['name']} is not in NetBox",
                               "push the plan or add the rack"))
        elif r.values["status"] not in OK_STATUS["racks"]:
            out.append(Finding("netbox-status", (), f"rack {v['name']} is "
                               f"{r.values['status']} in NetBox", "check the rack"))
    have = cur.objs["cables"]
    by_ends = {o.values["ends"]: label for label, o in have.items()}
    plan_ends = {v["ends"]: label for label, v in want["cables"].items()}
    plan_devices = {v["name"] for v in want["devices"].values()}
    for label, v in want["cables"].items():
        devs = tuple(sorted({d for d, _ in v["ends"]}))
        o = have.get(label)
        if o is None:
            other = by_ends.get(v["ends"])
            if other is None:
                out.append(Finding("netbox-cable", devs, f"cable {label} ({_ends(v['ends'])}) "
                                   "is missing in NetBox", "lay the cable and record it"))
            else:
                out.append(Finding("netbox-cable", devs, f"cable {label} "
                                   f"({_ends(v['ends'])}) is labelled {other} in NetBox",
                                   f"relabel it {label}"))
            continue
        if o.values["ends"] != v["ends"]:
            out.append(Finding("netbox-cable", devs,
                               f"cable {label} connects {_ends(o.values['ends'])} in NetBox, "
                               f"the plan has {_ends(v['ends'])}",
                               "recable to the plan or correct NetBox"))
        if o.values["status"] not in OK_STATUS["cables"]:
            out.append(Finding("netbox-status", devs,
                               f"cable {label} is {o.values['status']} in NetBox",
                               "replace the cable, then set its status"))
    for label, o in have.items():
        ends = o.values["ends"]
        if label in want["cables"] or ends in plan_ends:
            continue
        touches = {d for d, _ in ends if d in plan_devices}
        if touches or o.values["status"] == "connected":
            out.append(Finding("netbox-cable", tuple(sorted(touches)),
                               f"cable {label} ({_ends(ends)}, {o.values['status']}) is in "
                               "NetBox but not in the plan",
                               "remove it, or declare it in the plan"))
    return out


__all__ = ["OK_STATUS", "diff"]
