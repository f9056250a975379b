"""cabling.xlsx read back with openpyxl: every cable once, on its work order, walking order."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from rscctl.export.csvs import export_csv
from rscctl.export.workorders import natural_key, sheet_names
from rscctl.export.xlsx import ORDER_COLUMNS, export_xlsx
from rscctl.planjson import generate_plan_json, parse_plan_json
from rscctl.planner.model import Device, Plan
from tests.exporthelp import small_plan, with_other_fabrics


def load(plan: Plan, tmp_path: Path, read_only: bool = True) -> openpyxl.Workbook:
    path = tmp_path / "cabling.xlsx"
    path.write_bytes(export_xlsx(plan)["cabling.xlsx"])
    return openpyxl.load_workbook(path, read_only=read_only)


def csv_cables(plan: Plan) -> dict[str, dict[str, str]]:
    text = export_csv(plan)["cabling.csv"].decode()
    return {r["cable_id"]: r for r in csv.DictReader(io.StringIO(text))}


def expected_sheet(devs: dict[str, Device], row: dict[str, str]) -> str:
    a, b = devs[row["a_device"]], devs[row["b_device"]]
    if a.su is not None and a.su == b.su:
        return f"{row['fabric']} SU{a.su:03d}"
    return f"{row['fabric']} {row['b_device']}"


def test_phase1_every_cable_once_on_its_sheet(phase1_plan: Plan, tmp_path: Path) -> None:
    wb = load(phase1_plan, tmp_path)
    cables = csv_cables(phase1_plan)
    seen: Counter[str] = Counter()
    racks = {r.name: i for i, r in enumerate(phase1_plan.racks)}
    devs = phase1_plan.device_index()
    for name in wb.sheetnames[1:]:
        rows = list(wb[name].iter_rows(values_only=True))
        assert rows[0] == ORDER_COLUMNS
        keys = []
        for r in rows[1:]:
            rec = dict(zip(ORDER_COLUMNS, r, strict=True))
            cid = str(rec["cable ID"])
            seen[cid] += 1
            want = cables[cid]
            assert name == expected_sheet(devs, want), cid
            assert (rec["label A"], rec["label B"]) == (want["label_a"], want["label_b"])
            assert (rec["A device"], rec["A port"], rec["B device"], str(rec["B port"])) == (
                want["a_device"], want["a_port"], want["b_device"], want["b_port"])
            keys.append((racks[str(rec["A rack"])], rec["A U"], str(rec["A device"]),
                         natural_key(str(rec["A port"]))))
        assert keys == sorted(keys), f"{name}: rows not in walking order"
    assert set(seen) == set(cables)
    assert set(seen.values()) == {1}
    # Named work orders: node-leaf per SU, leaf-spine per spine.
    assert "compute SU038" in wb.sheetnames and "compute spine20" in wb.sheetnames
    assert len(wb.sheetnames) == 1 + len({expected_sheet(devs, r) for r in cables.values()})


def test_print_setup_and_summary(tmp_path: Path) -> None:
    plan = small_plan(tmp_path)
    wb = load(plan, tmp_path, read_only=False)
    ws = wb["compute SU001"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:P{ws.max_row}"
    assert ws.print_title_rows == "$1:$1"
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    width = ws.column_dimensions["N"].width  # label A: long text, wide column
    assert width is not None and width > 40
    summary = [r for r in wb["Summary"].iter_rows(values_only=True)]
    totals = [r for r in summary if r[0] == "total"]
    assert totals and totals[0][4] == len(plan.cables)
    orders = [r for r in summary if r[0] in wb.sheetnames[1:]]
    assert sum(int(r[4]) for r in orders) == len(plan.cables)
    assert wb["Summary"]["A" + str(summary.index(orders[0]) + 1)].hyperlink is not None


def test_other_fabrics_get_their_own_work_orders(tmp_path: Path) -> None:
    plan = with_other_fabrics(small_plan(tmp_path))
    wb = load(plan, tmp_path)
    names = wb.sheetnames
    for sheet in ("storage SU001", "storage SU002", "storage spine01", "oob leaf-s002-r2"):
        assert sheet in names
    ids = [r[1] for r in wb["storage spine01"].iter_rows(min_row=2, values_only=True)]
    assert ids == ["S2-S001-R1"]


def test_sheet_names_valid_and_unique() -> None:
    long = "storage " + "x" * 40
    names = sheet_names([long, long, "a/b:c", "Summary", "compute SU001"])
    assert all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names} | {"summary"}) == len(names) + 1
    assert names[2] == "a-b-c" and names[3] != "Summary"


def test_deterministic_and_same_from_plan_json(tmp_path: Path) -> None:
    plan = with_other_fabrics(small_plan(tmp_path))
    again = parse_plan_json(generate_plan_json(plan))
    assert export_xlsx(plan) == export_xlsx(again)


@pytest.mark.parametrize("bad", ["[x]", "a*b?", "it's"])
def test_sheet_name_characters(bad: str) -> None:
    (name,) = sheet_names([bad])
    assert not set(name) & set("[]:*?/\\'")


def test_shared_strings_count_every_reference(tmp_path: Path) -> None:
    """ECMA-376 §18.4.9: sst@count is the number of cells referring to the table, uniqueCount
    the number of entries (the two differ: labels repeat device and rack names)."""
    import re
    import zipfile
    from xml.etree import ElementTree as ET

    data = export_xlsx(with_other_fabrics(small_plan(tmp_path)))["cabling.xlsx"]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
        sst = ET.fromstring(z.read("xl/sharedStrings.xml"))
    refs = sum(len(re.findall(r'<c [^>]*t="s"', s)) for s in sheets)
    entries = len(sst.findall("{*}si"))
    assert int(sst.get("uniqueCount", "")) == entries
    assert int(sst.get("count", "")) == refs
    assert refs > entries
