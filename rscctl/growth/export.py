"""growth/: what a growth changes, and its work orders as the floor gets them.

- `changes.csv`: `action,fabric,cable_id,a_device,a_port,b_device,b_port,work_order`, one line
  per added, moved or removed cable (a move shows its new ends);
- `moves.csv`: every moved or removed cable with what changes and why (empty for growth that
  only adds, as the shipped builds);
- `devices.csv`: the devices to add (rack, rack unit, the step that powers them on), moved and
  removed ones;
- `addresses.csv`: the addresses added, changed and removed;
- `steps.csv`: the work orders in the order they are done, with what each powers on;
- `cabling.xlsx`, `labels.pdf`, `labels.csv`: the added cables in the deliverables' own formats
  (rscctl.export.xlsx, rscctl.export.labels), one sheet / label run per step, in step order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from rscctl.export.csvs import csv_bytes
from rscctl.export.labels import DEFAULT_SHEET, label_ends, paginate, render_csv, render_pdf
from rscctl.export.tables import fmt_length
from rscctl.export.workorders import Walker, WorkOrder, sheet_names, work_orders
from rscctl.export.xlsx import SummaryRows, order_sheet
from rscctl.formats.xlsx import BOLD, HEADER, TITLE, Sheet, Table, write_xlsx
from rscctl.growth.diff import PlanDiff
from rscctl.growth.steps import Growth
from rscctl.outputs import Files
from rscctl.planner.model import Cable, Plan

CHANGE_COLUMNS = ("action", "fabric", "cable_id", "a_device", "a_port", "b_device", "b_port",
                  "work_order")
MOVE_COLUMNS = ("action", "cable_id", "fabric", "changes", "reason")
DEVICE_COLUMNS = ("action", "name", "role", "model", "su", "rack", "ru", "step", "changes")
ADDRESS_COLUMNS = ("action", "device", "interface", "network", "old", "new")
STEP_COLUMNS = ("step", "work_order", "fabric", "scope", "tier", "cables", "length_m",
                "power_on")


def _orders_of(plan: Plan, cables: Sequence[Cable]) -> dict[str, str]:
    """cable ID -> the name of the work order that would lay it in `plan`."""
    if not cables:
        return {}
    sub = replace(plan, cables=tuple(cables), checks=())
    return {c.cable_id: wo.sheet for wo in work_orders(sub) for c in wo.cables}


def change_rows(diff: PlanDiff, growth: Growth | None) -> Iterator[tuple[str, ...]]:
    if growth is not None:
        for s in growth.steps:
            for c in s.order.cables:
                yield ("add", c.fabric, c.cable_id, c.a_device, c.a_port, c.b_device, c.b_port,
                       s.order.sheet)
    else:
        names = _orders_of(diff.new, diff.added)
        for c in diff.added:
            yield ("add", c.fabric, c.cable_id, c.a_device, c.a_port, c.b_device, c.b_port,
                   names[c.cable_id])
    moved = _orders_of(diff.new, [m.new for m in diff.moves if m.new is not None])
    removed = _orders_of(diff.old, [m.old for m in diff.moves if m.new is None])
    for m in diff.moves:
        c = m.new or m.old
        where = moved if m.new is not None else removed
        yield (m.action, c.fabric, c.cable_id, c.a_device, c.a_port, c.b_device, c.b_port,
               where[c.cable_id])


def move_rows(diff: PlanDiff) -> Iterator[tuple[str, ...]]:
    why = diff.why()
    for m in diff.moves:
        yield (m.action, m.old.cable_id, m.old.fabric, "; ".join(m.changes), why)


def device_rows(diff: PlanDiff, growth: Growth | None) -> Iterator[tuple[str | int, ...]]:
    on = growth.on_at if growth is not None else {}
    for ch in diff.devices:
        d = ch.device
        yield (ch.action, d.name, d.role, d.model, "" if d.su is None else d.su, d.rack, d.ru,
               on.get(d.name, ""), "; ".join(ch.changes))


def address_rows(diff: PlanDiff) -> Iterator[tuple[str, ...]]:
    for a in diff.addresses:
        yield (a.action, a.device, a.interface, a.network, a.old, a.new)


def step_rows(growth: Growth) -> Iterator[tuple[str | int, ...]]:
    for s in growth.steps:
        wo = s.order
        yield (s.number, wo.sheet, wo.fabric, wo.scope, wo.tier, len(wo.cables),
               fmt_length(wo.length_m), " ".join(d.name for d in s.power_on))


def step_orders(growth: Growth) -> list[WorkOrder]:
    """The steps' work orders, sheets named `NNN name` so they sort and read in step order."""
    steps = growth.steps
    width = len(str(len(steps)))
    names = sheet_names([f"{s.number:0{width}d} {s.order.sheet}" for s in steps])
    return [replace(s.order, sheet=n) for s, n in zip(steps, names, strict=True)]


def _summary(growth: Growth, orders: list[WorkOrder]) -> Sheet:
    diff = growth.diff
    summary = SummaryRows()
    add = summary.add
    add((f"{diff.old.build} -> {diff.new.build}: growth work orders",), TITLE)
    add(("Do the steps in order: each leaves the running fabric valid. Power a new device on "
         "only at the step that lists it.",))
    add(())
    add(("what", "count"), HEADER)
    add(("cables to add", len(diff.added)), BOLD)
    add(("cables to move or remove", diff.moved_cables))
    add(("devices to add", len(diff.added_devices)))
    add(("addresses to add", sum(a.action == "add" for a in diff.addresses)))
    add(("addresses changed or removed", diff.changed_addresses))
    add(("steps", len(orders)))
    add(())
    add(("step", "sheet", "fabric", "scope", "tier", "cables", "length m", "power on"), HEADER)
    for s, wo in zip(growth.steps, orders, strict=True):
        summary.link(1, wo.sheet)
        on = " ".join(d.name for d in s.power_on)
        add((s.number, wo.sheet, wo.fabric, wo.scope, wo.tier, len(wo.cables),
             float(fmt_length(wo.length_m)), on if len(on) <= 200 else
             f"{len(s.power_on)} devices (steps.csv lists them)"))
    return summary.sheet()


def growth_files(diff: PlanDiff, growth: Growth | None) -> Files:
    """Every file of growth/ (the sheets and labels only when there are steps)."""
    files: Files = {
        "growth/changes.csv": csv_bytes(CHANGE_COLUMNS, change_rows(diff, growth)),
        "growth/moves.csv": csv_bytes(MOVE_COLUMNS, move_rows(diff)),
        "growth/devices.csv": csv_bytes(DEVICE_COLUMNS, device_rows(diff, growth)),
        "growth/addresses.csv": csv_bytes(ADDRESS_COLUMNS, address_rows(diff)),
    }
    if growth is None:
        return files
    orders = step_orders(growth)
    walker = Walker(diff.new)
    sheets: list[Sheet | Table] = [_summary(growth, orders)]
    sheets.extend(order_sheet(wo, walker) for wo in orders)
    labels = paginate(label_ends(orders), DEFAULT_SHEET.per_sheet)
    files["growth/steps.csv"] = csv_bytes(STEP_COLUMNS, step_rows(growth))
    files["growth/cabling.xlsx"] = write_xlsx(sheets)
    files["growth/labels.pdf"] = render_pdf(f"{diff.new.build} growth", labels)
    files["growth/labels.csv"] = render_csv(labels)
    return files


__all__ = ["ADDRESS_COLUMNS", "CHANGE_COLUMNS", "DEVICE_COLUMNS", "MOVE_COLUMNS",
           "STEP_COLUMNS", "growth_files", "step_orders"]
