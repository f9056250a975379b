"""Issue 14 point 6: the deliverables as staff read them, read back the way staff (and their
tools) read them: index.html in headless Chromium, cabling.xlsx through openpyxl, the floor plan
as XML, labels.pdf through pypdf's text positions and labels.csv through the csv module."""

from __future__ import annotations

import colorsys
import csv
import io
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pypdf
import pytest

from rscctl.declare import load_build
from rscctl.export.drawings import drawing_files
from rscctl.export.html import CABLE_HEADER, export_html, export_html_growth
from rscctl.export.labels import (
    CSV_COLUMNS,
    DEFAULT_SHEET,
    LabelSheet,
    export_labels,
    label_ends,
    paginate,
    render_csv,
    render_pdf,
)
from rscctl.export.workorders import work_orders
from rscctl.export.xlsx import export_xlsx
from rscctl.formats.pdf import MM
from rscctl.growth.diff import diff_plans
from rscctl.growth.steps import Growth, plan_growth
from rscctl.planner import build_plan
from rscctl.planner.model import Cable, Plan
from tests.exporthelp import small_plan
from tests.test_export_html import browser, search  # noqa: F401  (browser is a fixture)

PAIR = Path(__file__).parent / "pair"
HUMAN = ("category", "item", "part number", "length m", "count")
LENGTHS = (20.0, 2.0, 15.0, 1.0, 10.0)  # sorted as text they would read 1, 10, 15, 2, 20


def _wait_ready(driver: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 120).until(
        lambda d: d.execute_script("return document.body.dataset.ready === '1'"))
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


def _on_port(plan: Plan, device: str, port: str) -> list[Cable]:
    return [c for c in plan.cables
            if (c.a_device, c.a_port) == (device, port) or (c.b_device, c.b_port) == (device, port)]


# -- index.html in Chromium -----------------------------------------------------------------


def test_device_port_search_finds_that_port_only(browser: Any, phase2_plan: Plan,  # noqa: F811
                                                 tmp_path: Path) -> None:
    """`leaf-s001-r1:1`, as printed on the labels, is one cable, not ports 1 and 10-19."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    leaf = "leaf-s001-r1"
    ports = {p for c in phase2_plan.cables for d, p in ((c.a_device, c.a_port),
                                                        (c.b_device, c.b_port)) if d == leaf}
    assert {"1", *(str(n) for n in range(10, 20))} <= ports  # the substring trap is there
    page = tmp_path / "index.html"
    page.write_bytes(export_html(phase2_plan)["index.html"])
    browser.get(page.as_uri())
    _wait_ready(browser)
    a_dev, a_port = CABLE_HEADER.index("A device"), CABLE_HEADER.index("A port")
    b_dev, b_port = CABLE_HEADER.index("B device"), CABLE_HEADER.index("B port")
    for query, (dev, port) in ((f"{leaf}:1", (leaf, "1")), (f"{leaf.upper()}:1", (leaf, "1")),
                               (f"{leaf}:10", (leaf, "10")), ("dgx0001:mlx5_0",
                                                              ("dgx0001", "mlx5_0"))):
        want = _on_port(phase2_plan, dev, port)
        assert len(want) == 1, (dev, port)
        count, rows = search(browser, query)
        assert count == "exact match: 1 cable", (query, count)
        assert [r[0] for r in rows] == [want[0].cable_id], query
        assert (dev, port) in ((rows[0][a_dev], rows[0][a_port]),
                               (rows[0][b_dev], rows[0][b_port])), query
    # A device alone still finds every cable on it (the words search is unchanged).
    count, rows = search(browser, leaf)
    on_leaf = [c for c in phase2_plan.cables if leaf in (c.a_device, c.b_device)]
    assert count == f"{len(on_leaf)} cables", count
    # A deep link (a QR code on a label) opens with the port searched.
    want = _on_port(phase2_plan, leaf, "1")[0]
    browser.get(page.as_uri() + f"#q={leaf}%3A1")
    _wait_ready(browser)
    WebDriverWait(browser, 60).until(
        lambda d: d.find_element(By.ID, "count").text == "exact match: 1 cable")
    assert browser.find_element(By.ID, "q").get_attribute("value") == f"{leaf}:1"
    shown = browser.execute_script(
        "return [...document.querySelectorAll('#cables tbody tr')].map(tr => tr.cells[0]"
        ".textContent)")
    assert shown == [want.cable_id]


@pytest.fixture(scope="module")
def growth() -> Growth:
    old = build_plan(load_build(str(PAIR / "grow-parent.yaml")))
    new = build_plan(load_build(str(PAIR / "grow-child.yaml")))
    return plan_growth(diff_plans(old, new))


def test_growth_section_shows_in_the_browser(browser: Any, growth: Growth,  # noqa: F811
                                             tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "index.html"
    page.write_bytes(export_html_growth(growth.diff.new, growth)["index.html"])
    browser.get(page.as_uri())
    _wait_ready(browser)
    section = browser.find_element(By.ID, "growth")
    assert section.is_displayed()
    assert browser.find_element(By.CSS_SELECTOR, "#growth h2").text == "Growth from grow-parent"
    link = browser.find_element(By.CSS_SELECTOR, 'nav a[href="#growth"]')
    assert link.is_displayed()
    cards = browser.execute_script(
        "return [...document.querySelectorAll('#growth .card')].map(c => [c.querySelector('b')"
        ".textContent, c.textContent.slice(c.querySelector('b').textContent.length)])")
    d = growth.diff
    assert cards == [[f"{len(d.added):,}", "cables to add"],
                     [f"{len(d.added_devices):,}", "devices to add"],
                     ["0", "cables moved or removed"], ["0", "addresses changed"],
                     [f"{len(growth.steps):,}", "steps"]]
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#growth-steps tr')].slice(1)"
        ".map(tr => [...tr.cells].map(td => td.textContent))")
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (str(s.number), s.order.sheet, f"{len(s.order.cables):,}") for s in growth.steps]
    assert sum(int(r[3].replace(",", "")) for r in rows) == len(d.added)
    assert sum(int(r[5]) for r in rows) == len(d.added_devices)
    # The section is on screen once its link is followed (not hidden, not zero-sized).
    link.click()
    assert browser.execute_script(
        "const r = document.getElementById('growth-steps').getBoundingClientRect();"
        "return r.height > 0 && r.top < window.innerHeight")
    # Without --from there is no growth section.
    page.write_bytes(export_html(growth.diff.new)["index.html"])
    browser.get(page.as_uri())
    _wait_ready(browser)
    assert browser.find_elements(By.ID, "growth") == []


# -- the bill of materials ------------------------------------------------------------------


def _bom_plan(tmp: Path) -> Plan:
    """The small plan with its node cables in lengths 20, 2, 15, 1 and 10 m of one medium,
    each length its own part (`P-<m>`), so a text sort of part or length is visible."""
    plan = small_plan(tmp)
    cables = tuple(
        replace(c, media="aoc", length_m=LENGTHS[i % len(LENGTHS)],
                part_number=f"P-{LENGTHS[i % len(LENGTHS)]:g}")
        for i, c in enumerate(plan.cables))
    return replace(plan, cables=cables)


def _xlsx_bom(data: bytes) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    ws = openpyxl.load_workbook(io.BytesIO(data), read_only=True)["Summary"]
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    at = next(i for i, r in enumerate(rows) if r and r[0] == "Bill of materials")
    body = []
    for r in rows[at + 2:]:
        if not r or r[0] is None:
            break
        body.append(r)
    return rows[at + 1][:5], body


class _BomTable(HTMLParser):
    """The rows of the table in <section id="bom"> of index.html."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.rows, self.cell = False, [], None  # type: ignore[var-annotated]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.inside = dict(attrs).get("id") == "bom"
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


def _numeric_by_medium(lengths: list[tuple[str, float]]) -> None:
    per: dict[str, list[float]] = defaultdict(list)
    for media, length in lengths:
        per[media].append(length)
    assert per["aoc"] == sorted(LENGTHS), per


def test_bom_headings_are_human_and_lengths_sort_as_numbers(tmp_path: Path) -> None:
    plan = _bom_plan(tmp_path)
    heading, body = _xlsx_bom(export_xlsx(plan)["cabling.xlsx"])
    assert heading == HUMAN
    cables = [r for r in body if r[0] == "cable"]
    assert all(isinstance(r[3], int | float) for r in cables), cables  # a number, not text
    _numeric_by_medium([(r[1], float(r[3])) for r in cables])
    parser = _BomTable()
    parser.feed(export_html(plan)["index.html"].decode())
    assert tuple(parser.rows[0]) == HUMAN
    _numeric_by_medium([(r[1], float(r[3])) for r in parser.rows[1:] if r[0] == "cable"])
    assert not {"part_number", "length_m"} & set(parser.rows[0])


def test_growth_labels_keep_each_pair_together(growth: Growth) -> None:
    """growth/labels.pdf (the added cables, a sheet run per step) is laid out the same way."""
    from rscctl.growth.export import growth_files

    data = growth_files(growth.diff, growth)["growth/labels.pdf"]
    assert _pairs_adjacent(_pdf_labels(data), DEFAULT_SHEET) == len(growth.diff.added)


# -- the floor plan -------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def _rgb(colour: str) -> tuple[float, float, float]:
    if m := re.fullmatch(r"hsl\((\d+),(\d+)%,(\d+)%\)", colour):
        h, s, lum = (int(x) for x in m.groups())
        r, g, b = colorsys.hls_to_rgb(h / 360, lum / 100, s / 100)
        return r * 255, g * 255, b * 255
    m = re.fullmatch(r"#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})", colour.lower())
    assert m, colour
    return tuple(float(int(x, 16)) for x in m.groups())  # type: ignore[return-value]


def _distance(a: str, b: str) -> float:
    return float(sum((x - y) ** 2 for x, y in zip(_rgb(a), _rgb(b), strict=True)) ** 0.5)


def _floorplan(plan: Plan) -> ET.Element:
    return ET.fromstring(drawing_files(plan)["drawings/floorplan.svg"])


def test_floorplan_su_colours_apart_from_rack_kinds(phase2_plan: Plan) -> None:
    """No SU is painted in (or near) a colour the legend gives a rack kind: phase 2's 100 SUs
    walk the whole hue circle, so every hue is tried. 40 (RGB distance) is a plain difference
    on a printed sheet; the legend's old pastel kinds came within 15 of SU 42."""
    root = _floorplan(phase2_plan)
    children = list(root)
    legend: dict[str, str] = {}
    for i, el in enumerate(children):
        if el.tag == SVG + "rect" and el.get("width") == "14.0" and el.get("data-rack") is None:
            legend[children[i + 1].text or ""] = el.get("fill") or ""
    kinds = {name: fill for name, fill in legend.items()
             if name.endswith("rack") or name.startswith("network rack, shared")}
    kinds = {n: f for n, f in kinds.items() if "of an SU" not in n}
    assert {"spine rack", "storage rack", "management rack"} <= set(kinds), legend
    racks = phase2_plan.rack_index()
    su_fills = {el.get("fill") or "" for el in root.iter(SVG + "rect")
                if (name := el.get("data-rack")) and racks[name].su is not None
                and racks[name].kind in ("gpu", "network")}
    assert len(su_fills) > 100  # gpu and network racks of every SU
    close = [(su, kind, round(_distance(su, fill)))
             for su in su_fills for kind, fill in kinds.items() if _distance(su, fill) < 40]
    assert not close, close


def test_floorplan_prints_each_racks_position() -> None:
    plan = build_plan(load_build(str(PAIR / "grow-child.yaml")))
    root = _floorplan(plan)
    texts = [(float(el.get("x") or 0), float(el.get("y") or 0), el.text or "")
             for el in root.iter(SVG + "text")]
    racks = plan.rack_index()
    seen = 0
    for el in root.iter(SVG + "rect"):
        name = el.get("data-rack")
        if not name:
            continue
        x, y = float(el.get("x") or 0), float(el.get("y") or 0)
        w, h = float(el.get("width") or 0), float(el.get("height") or 0)
        below = [s for tx, ty, s in texts if x < tx < x + w and y + h < ty <= y + h + 14]
        assert [int(s) for s in below] == [racks[name].position], (name, below)
        seen += 1
    assert seen == len(plan.racks)


def test_floorplan_legend_and_captions_fit_in_the_drawing(browser: Any,  # noqa: F811
                                                          tmp_path: Path) -> None:
    """On a small floor plan (few racks) the legend of rack kinds and the captions are inside
    the drawing as Chromium lays them out, not cut off at its right edge."""
    plan = small_plan(tmp_path)
    svg = tmp_path / "floorplan.svg"
    svg.write_bytes(drawing_files(plan)["drawings/floorplan.svg"])
    browser.get(svg.as_uri())
    width, outside = browser.execute_script(
        "const s = document.documentElement, w = +s.getAttribute('width');"
        "return [w, [...s.querySelectorAll('text, rect')].map(e => [e.textContent ||"
        " e.getAttribute('fill'), e.getBBox()]).filter(([, b]) => b.x + b.width > w)"
        ".map(([n, b]) => [n, Math.round(b.x + b.width)])];")
    assert not outside, (width, outside)


# -- labels ---------------------------------------------------------------------------------


def _pdf_labels(data: bytes) -> list[tuple[int, float, float, str, str]]:
    """(page, x, y of the first line, cable ID, end) of every label, from the PDF's text."""
    out: list[tuple[int, float, float, str, str]] = []
    for n, page in enumerate(pypdf.PdfReader(io.BytesIO(data)).pages, start=1):
        shown: list[tuple[float, float, str]] = []

        def visit(text: str, cm: Any, tm: Any, font: Any, size: Any,
                  into: list[tuple[float, float, str]] = shown) -> None:
            if text.strip():
                into.append((round(float(tm[4]), 1), round(float(tm[5]), 1), text))

        page.extract_text(visitor_text=visit)
        body = shown[1:]  # the first line is the sheet's heading
        assert shown[0][2].startswith(("small", "grow")) and len(body) % 4 == 0, shown[:2]
        for i in range(0, len(body), 4):
            (x, y, cid), *rest = body[i:i + 4]
            assert {r[0] for r in rest} == {x}, body[i:i + 4]  # one label's four lines
            end = rest[2][2].split(" ", 1)[0]
            assert rest[2][2].startswith(f"{end} end"), rest
            out.append((n, x, y, cid, end))
    return out


def _pairs_adjacent(labels: list[tuple[int, float, float, str, str]],
                    geo: LabelSheet) -> int:
    ends: dict[str, dict[str, tuple[int, float, float]]] = defaultdict(dict)
    for page, x, y, cid, end in labels:
        assert end not in ends[cid], (cid, end)
        ends[cid][end] = (page, x, y)
    pitch = geo.pitch_y_mm * MM
    for cid, both in ends.items():
        (pa, xa, ya), (pb, xb, yb) = both["A"], both["B"]
        assert pa == pb, (cid, "A and B on different sheets")
        assert xa == xb, (cid, "A and B in different columns")
        assert abs((ya - yb) - pitch) < 0.2, (cid, "B not right under A", ya, yb)
    return len(ends)


def test_labels_keep_each_pair_together(tmp_path: Path) -> None:
    plan = small_plan(tmp_path)
    files = export_labels(plan)
    assert _pairs_adjacent(_pdf_labels(files["labels.pdf"]), DEFAULT_SHEET) == len(plan.cables)
    # labels.csv says the same slots: B is A's slot one row down, same sheet
    rows = list(csv.DictReader(io.StringIO(files["labels.csv"].decode())))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 2 * len(plan.cables)
    slot = {(r["cable_id"], r["end"]): (r["sheet"], int(r["position"])) for r in rows}
    for c in plan.cables:
        (sa, a), (sb, b) = slot[(c.cable_id, "A")], slot[(c.cable_id, "B")]
        assert sa == sb and b == a + DEFAULT_SHEET.cols, (c.cable_id, a, b)
    assert {r["label"] for r in rows} == {x for c in plan.cables for x in (c.label_a,
                                                                            c.label_b)}


def test_labels_odd_rows_and_long_orders_keep_pairs(tmp_path: Path) -> None:
    """A sheet of 7 rows (one row left empty) and work orders longer than a sheet."""
    plan = small_plan(tmp_path)
    geo = replace(DEFAULT_SHEET, rows=7, cols=2)
    sheets = paginate(label_ends(work_orders(plan)), geo.per_sheet)
    assert max(len(s) for s in sheets) == geo.per_sheet == 12
    assert _pairs_adjacent(_pdf_labels(render_pdf(plan.build, sheets, geo)), geo) == len(
        plan.cables)


def test_labels_csv_cells_are_neutralised(tmp_path: Path) -> None:
    """labels.csv goes through csv_bytes: a cell a spreadsheet would run is made text."""
    plan = small_plan(tmp_path)
    c = plan.cables[0]
    evil = replace(c, label_a="=HYPERLINK(\"http://x\",\"y\")", label_b="+1,2")
    plan = replace(plan, cables=(evil, *plan.cables[1:]))
    data = render_csv(paginate(label_ends(work_orders(plan)), DEFAULT_SHEET.per_sheet))
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    mine = {r["end"]: r for r in rows if r["cable_id"] == c.cable_id}
    assert mine["A"]["label"] == "'" + evil.label_a
    assert mine["B"]["label"] == "'+1,2"
    bad = [v for r in rows for v in r.values() if v[:1] in ("=", "+", "-", "@")]
    assert not bad, bad
