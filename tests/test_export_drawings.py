"""drawings/*.svg parse as XML and show every device, rack and SU of the plan."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from rscctl.export.drawings import export_drawings
from rscctl.planner.model import Plan
from tests.exporthelp import small_plan, with_other_fabrics

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [el.text or "" for el in root.iter(f"{SVG}text")]


def test_phase2_drawings(phase2_plan: Plan) -> None:
    files = export_drawings(phase2_plan)
    rows = {(r.hall, r.row) for r in phase2_plan.racks}
    assert {f"drawings/racks-{h}-{r}.svg" for h, r in rows} <= set(files)
    # Every device named in its row's elevation, every rack drawn.
    shown: set[str] = set()
    for h, r in rows:
        shown.update(texts(files[f"drawings/racks-{h}-{r}.svg"]))
    names = {d.name for d in phase2_plan.devices}
    assert {w for t in shown for w in t.split()} >= names
    assert {r.name for r in phase2_plan.racks} <= shown
    # Floor plan: one rect per rack, tagged with its name; SU captions.
    root = ET.fromstring(files["drawings/floorplan.svg"])
    tagged = {el.get("data-rack") for el in root.iter(f"{SVG}rect") if el.get("data-rack")}
    assert tagged == {r.name for r in phase2_plan.racks}
    floor = texts(files["drawings/floorplan.svg"])
    assert {f"SU{s:03d}" for s in range(1, 101)} <= set(floor)
    # Fabric: 100 SUs x 20 spines of 8 links each, no red cell, 1:1.
    fab = files["drawings/fabric-compute.svg"]
    assert b"#ff7c80" not in fab and b"NOT 1:1" not in fab
    ft = texts(fab)
    assert ft.count("8") == 100 * 20
    assert "spine20" in ft and "800 links" in ft and "of 800 ports" in ft


def test_other_fabrics_and_wrong_counts_show(tmp_path: Path) -> None:
    plan = with_other_fabrics(small_plan(tmp_path))
    files = export_drawings(plan)
    all_text = texts(files["drawings/fabrics.svg"])
    assert "storage: 3 cables" in all_text and "oob: 1 cables" in all_text
    # Remove one leaf-spine cable: its SU x spine cell turns red, the SU is not 1:1.
    from dataclasses import replace

    cut = next(c for c in plan.cables if c.cable_id.startswith("C2-S001"))
    broken = replace(plan, cables=tuple(c for c in plan.cables if c is not cut))
    fab = export_drawings(broken)["drawings/fabric-compute.svg"]
    assert b"#ff7c80" in fab and b"NOT 1:1" in fab
    assert export_drawings(plan) == files
