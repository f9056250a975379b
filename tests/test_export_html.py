"""index.html in real headless Chromium (Debian's chromium + chromedriver via selenium):
the page loads from file:// with nothing from the network, and the search finds cables."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rscctl.export.html import CABLE_HEADER, LIMIT, export_html
from rscctl.planner.model import Plan
from tests.exporthelp import small_plan, with_other_fabrics

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1000",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        pytest.skip("chromium / chromium-driver not installed; see Makefile APT_PACKAGES")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch anything
    profile = tempfile.mkdtemp(prefix="rscctl-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in (*FLAGS, f"--user-data-dir={profile}"):
        opts.add_argument(f)
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def search(driver: Any, text: str) -> tuple[str, list[list[str]]]:
    """Type into the search box, press Enter, return the count line and the shown rows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(text, Keys.ENTER)
    count = driver.find_element(By.ID, "count").text
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#cables tbody tr')]"
        ".map(tr => [...tr.cells].map(td => td.textContent));")
    return count, rows


def detail(driver: Any) -> list[str]:
    """The labels shown on the detail card (present when exactly one cable matches)."""
    shown: list[str] = driver.execute_script(
        "const d = document.getElementById('detail');"
        "return d.hidden ? [] : [...d.querySelectorAll('code')].map(c => c.textContent);")
    return shown


def open_page(driver: Any, plan: Plan, tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_bytes(export_html(plan)["index.html"])
    driver.get(page.as_uri())
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script("return document.body.dataset.ready === '1'"))
    logs = driver.get_log("browser")
    assert not [e for e in logs if e["level"] == "SEVERE"], logs


def test_page_is_self_contained(tmp_path: Path) -> None:
    plan = with_other_fabrics(small_plan(tmp_path))
    html = export_html(plan)["index.html"].decode()
    for ref in ('src="http', "href=\"http", "@import", "<link ", 'src="//'):
        assert ref not in html
    assert "storage spine01" in html and "<svg" in html
    # The packed cable table unpacks to every cable, labels included.
    import base64
    import gzip
    import json
    import re

    packed = re.search(r'id="cable-data"[^>]*>([^<]*)<', html)
    assert packed
    table = json.loads(gzip.decompress(base64.b64decode(packed.group(1))))
    assert len(table["rows"]) == len(plan.cables)
    assert {r[-1] for r in table["rows"]} == {c.label_b for c in plan.cables}


def test_search_phase2_label_shows_exactly_its_row(browser: Any, phase2_plan: Plan,
                                                   tmp_path: Path) -> None:
    open_page(browser, phase2_plan, tmp_path)
    c = phase2_plan.cables[len(phase2_plan.cables) // 2 + 7]  # a leaf-spine cable
    for query in (c.label_b, c.label_a, c.cable_id, c.cable_id.lower()):
        count, rows = search(browser, query)
        assert count.startswith("exact match: 1 cable"), (query, count)
        assert len(rows) == 1 and rows[0][0] == c.cable_id
        label_a = CABLE_HEADER.index("label A")
        assert rows[0][label_a:label_a + 2] == [c.label_a, c.label_b]
        assert detail(browser) == [c.label_a, c.label_b]
    # A device: every cable on it; a rack: every cable with an end there (capped render).
    mine = [x.cable_id for x in phase2_plan.cables if "dgx0123" in (x.a_device, x.b_device)]
    count, rows = search(browser, "dgx0123")
    assert count == f"{len(mine)} cables" and sorted(r[0] for r in rows) == sorted(mine)
    want = sum(1 for x in phase2_plan.cables if "H1-A01-06" in (x.a_rack, x.b_rack))
    count, rows = search(browser, "h1-a01-06")
    assert count.startswith(f"{want:,} cables") and len(rows) == min(want, LIMIT)
    count, rows = search(browser, "no-such-thing")
    assert count == "0 cables" and rows == [] and detail(browser) == []


def test_work_order_link_and_elevation(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    plan = with_other_fabrics(small_plan(tmp_path))
    open_page(browser, plan, tmp_path)
    browser.find_element(By.CSS_SELECTOR, 'a[data-order="storage SU001"]').click()
    count, rows = search(browser, "storage SU001")
    assert count == "work order storage SU001: 1 cable" and rows[0][0] == "S1-S001-N01"
    count, rows = search(browser, "compute spine02")  # a whole work order, in walking order
    want = [c.cable_id for c in plan.cables if c.b_device == "spine02"]
    assert count == f"work order compute spine02: {len(want)} cables"
    assert sorted(r[0] for r in rows) == sorted(want) and {r[1] for r in rows} == {
        "compute spine02"}
    # A deep link opens with its query searched.
    browser.get((tmp_path / "index.html").as_uri() + "#q=dgx0005")
    WebDriverWait(browser, 60).until(
        lambda d: d.find_element(By.ID, "count").text.startswith("9 cables"))
    devices = browser.execute_script(
        "return [...document.querySelectorAll('#cables tbody tr')]"
        ".map(tr => tr.cells[4].textContent)")
    on_node = [c for c in plan.cables if c.a_device == "dgx0005"]
    assert browser.find_element(By.ID, "q").get_attribute("value") == "dgx0005"
    assert devices == ["dgx0005"] * len(on_node) and len(on_node) == 9
    select = Select(browser.find_element(By.ID, "row"))
    select.select_by_value("H1-A02")
    shown = browser.find_element(By.ID, "elevation").text
    assert "dgx0005" in shown and "leaf-s002-r1" in shown
