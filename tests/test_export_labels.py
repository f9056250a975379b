"""labels.pdf read back with pdftotext (poppler), labels.csv with csv: every label once."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader

from rscctl.export.labels import CSV_COLUMNS, DEFAULT_SHEET, export_labels, render_pdf
from rscctl.export.workorders import work_orders
from rscctl.planjson import generate_plan_json, parse_plan_json
from rscctl.planner.model import Plan
from tests.exporthelp import cable, small_plan, with_other_fabrics


def pdf_labels(pdf: Path) -> Counter[str]:
    """Labels as printed: the ID, this-end and '> far end' lines, joined again."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed; see Makefile APT_PACKAGES")
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    lines = [ln for ln in text.splitlines() if ln and " cable labels - " not in ln]
    found: Counter[str] = Counter()
    for i in range(0, len(lines), 4):
        cid, here, there, detail = lines[i:i + 4]
        assert there.startswith("> ") and detail[:6] in ("A end ", "B end "), lines[i:i + 4]
        found[f"{cid} {here} {there}"] += 1
    return found


def test_phase1_every_label_printed_once(phase1_plan: Plan, tmp_path: Path) -> None:
    files = export_labels(phase1_plan)
    pdf = tmp_path / "labels.pdf"
    pdf.write_bytes(files["labels.pdf"])
    want = Counter(x for c in phase1_plan.cables for x in (c.label_a, c.label_b))
    assert pdf_labels(pdf) == want
    rows = list(csv.DictReader(io.StringIO(files["labels.csv"].decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert Counter(r["label"] for r in rows) == want
    # Both ends of a cable sit side by side, A first.
    assert [(r["cable_id"], r["end"]) for r in rows[:2]] == [(rows[0]["cable_id"], "A"),
                                                            (rows[0]["cable_id"], "B")]


def test_work_orders_start_new_sheets(tmp_path: Path) -> None:
    plan = with_other_fabrics(small_plan(tmp_path))
    rows = list(csv.DictReader(io.StringIO(export_labels(plan)["labels.csv"].decode())))
    sheets: dict[str, set[str]] = {}
    for r in rows:
        sheets.setdefault(r["sheet"], set()).add(r["work_order"])
        assert 1 <= int(r["position"]) <= DEFAULT_SHEET.per_sheet
    assert all(len(orders) == 1 for orders in sheets.values())
    pdf = tmp_path / "labels.pdf"
    pdf.write_bytes(export_labels(plan)["labels.pdf"])
    assert len(PdfReader(pdf).pages) == len(sheets)


def test_same_labels_from_independent_plans(tmp_path: Path) -> None:
    """Labels of the build planned again and of its plan re-read from plan.json are the same
    bytes. Each render derives its own work orders (the memo keeps one plan's), unlike two
    renders of one Plan object, which share them and so agree whatever the derivation does."""
    plan = with_other_fabrics(small_plan(tmp_path))
    first = export_labels(plan)
    orders = work_orders(plan)
    for again in (with_other_fabrics(small_plan(tmp_path)),
                  parse_plan_json(generate_plan_json(plan))):
        assert again is not plan and work_orders(again) is not orders
        assert export_labels(again) == first


def test_odd_text_is_escaped_and_kept(tmp_path: Path) -> None:
    """A label outside the scheme, with PDF-special characters, still prints whole."""
    plan = small_plan(tmp_path)
    c = cable(plan, "X(1)", "oob", "dgx0001", "bmc", "leaf-s001-r1", "40")
    weird = "free text (not the scheme) with a back\\slash"
    from rscctl.export.labels import label_lines
    lab = ("wo", c, "A", weird, *label_lines(c.cable_id, weird, "A", c))
    pdf = tmp_path / "odd.pdf"
    pdf.write_bytes(render_pdf("odd", [[lab]]))
    text = "".join(p.extract_text() for p in PdfReader(pdf).pages).replace("\n", "")
    assert weird in text
