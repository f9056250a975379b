"""fabric/cvt-p2p.xlsx: the P2P list as the workbook NVIDIA's cable validation tool reads,
row for row the CSV, ports as numbers, director ends as ASIC node descriptions."""

from __future__ import annotations

import csv
import io

import openpyxl

from rscctl.declare import load_build
from rscctl.export.ibtopo import CVT_COLUMNS, export_fabric
from rscctl.planner import build_plan


def test_workbook_equals_the_csv() -> None:
    files = export_fabric(build_plan(load_build("lab"), check=False))
    wb = openpyxl.load_workbook(io.BytesIO(files["fabric/cvt-p2p.xlsx"]), read_only=True)
    assert wb.sheetnames == ["P2P"]
    rows = [tuple(c for c in r) for r in wb["P2P"].iter_rows(values_only=True)]
    assert rows[0] == CVT_COLUMNS
    text = list(csv.reader(io.StringIO(files["fabric/cvt-p2p.csv"].decode())))
    assert [tuple(map(str, r)) for r in rows] == [tuple(r) for r in text]
    assert len(rows) == 1 + 128
    assert all(isinstance(r[2], int) and isinstance(r[5], int) for r in rows[1:])
    assert rows[1] == ("dgx0001", "Host", 1, "leaf-s001-r1", "Switch", 1)


