"""The discovered file as input: every malformed, cut or foreign file is refused with exit 2
and one message naming file:line (hypothesis fuzzes the parser), never a traceback; and the
CLI's outputs (table, CSV, JSON, work order) for a miswired fabric, exit 0/1/2."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rscctl.cli import main
from rscctl.declare import load_build
from rscctl.export.ibtopo import export_fabric
from rscctl.planjson import generate_plan_json
from rscctl.planner import build_plan
from rscctl.planner.model import Plan
from rscctl.verify.cabling import ROW_COLUMNS
from rscctl.verify.cabling_sheet import COLUMNS
from rscctl.verify.ibnetdiscover import DiscoveredFileError, read_discovered
from tests.conftest import small_build_dict, write_build
from tests.fabric.faults import Rewire

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    d = tmp_path_factory.mktemp("small")
    return build_plan(load_build(str(write_build(d, small_build_dict()))), check=False)


@pytest.fixture(scope="module")
def topo_text(plan: Plan) -> str:
    """A whole topology in ibnetdiscover's format (the parser's input; no fault is judged here)."""
    return export_fabric(plan)["fabric/compute.topo"].decode()


@pytest.fixture(scope="module")
def out_dir(plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    (out / "plan.json").write_text(generate_plan_json(plan))
    return out


# -- the parser ------------------------------------------------------------------------------

@SETTINGS
@given(st.text(max_size=400))
def test_any_text_parses_or_is_refused(text: str) -> None:
    try:
        read_discovered(text, "f")
    except DiscoveredFileError as exc:
        assert str(exc).startswith("f")


@SETTINGS
@given(cut=st.integers(min_value=0))
def test_a_cut_file_is_refused_or_whole(topo_text: str, cut: int) -> None:
    """Cut anywhere: refused, or (cut in a trailing comment or blank) the same links."""
    whole = read_discovered(topo_text, "f")
    k = cut % len(topo_text)
    try:
        part = read_discovered(topo_text[:k], "f")
    except DiscoveredFileError:
        return
    assert part.links() == whole.links() and part.rates() == whole.rates()


@SETTINGS
@given(data=st.data())
def test_lines_dropped_doubled_or_mangled(topo_text: str, data: st.DataObject) -> None:
    lines = topo_text.splitlines()
    i = data.draw(st.integers(0, len(lines) - 1))
    how = data.draw(st.sampled_from(["drop", "double", "mangle"]))
    if how == "drop":
        new = lines[:i] + lines[i + 1:]
    elif how == "double":
        new = lines[: i + 1] + lines[i:]
    else:
        j = data.draw(st.integers(0, max(len(lines[i]) - 1, 0)))
        ch = data.draw(st.characters(codec="utf-8"))
        new = [*lines[:i], lines[i][:j] + ch + lines[i][j + 1:], *lines[i + 1:]]
    with contextlib.suppress(DiscoveredFileError):
        read_discovered("\n".join(new) + "\n", "f")


@pytest.mark.parametrize("text, where", [
    ("", "no Switch or Ca record"),
    ("cable_id,fabric,a_device\nC1,compute,dgx0001\n", "f:1:"),
    ('{"schema_version": 1}\n', "f:1:"),
    ("DGX_A100 dgx0001\n   mlx5_0 -> QM8790 leaf-s001-r1 P1\n", "f:1:"),
    ('Switch\t40 "S-1"\t\t# "leaf"\n[1]\t"S-2"[1]\t\t# "x" lid 0 4xHDR\n', "never lists"),
    ('Switch\t40 "S-1"\t\t# "leaf"\n[41]\t"S-1"[41]\t\t# "leaf" lid 0 4xHDR\n', "has 40 ports"),
])
def test_foreign_and_broken_files(text: str, where: str) -> None:
    with pytest.raises(DiscoveredFileError, match=where):
        read_discovered(text, "f")


def test_cut_inside_a_switch_is_caught(topo_text: str) -> None:
    lines = topo_text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("[3]"))
    with pytest.raises(DiscoveredFileError, match=r"does not link back"):
        read_discovered("\n".join(lines[:i] + lines[i + 1:]), "f")


# -- the command -----------------------------------------------------------------------------

def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_exit_codes_and_formats(plan: Plan, topo_text: str, out_dir: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "clean.txt"
    clean.write_text(topo_text)
    code, out, _ = _run(capsys, "verify", "cabling", "small", "--out", str(out_dir),
                        "--discovered", str(clean))
    assert code == 0 and "matches the plan" in out

    w = Rewire(plan)
    w.swap_b("C1-S002-N01-R3", "C1-S002-N03-R3")
    bad = tmp_path / "bad.txt"
    bad.write_text(export_fabric(w.plan_now())["fabric/compute.topo"].decode())
    base = ("verify", "cabling", "small", "--out", str(out_dir), "--discovered", str(bad))
    code, out, _ = _run(capsys, *base, "--work-order", str(tmp_path / "fix.xlsx"))
    assert code == 1
    assert "swap the cables at leaf-s002-r3 ports 1 and 3" in out and "1 swapped" in out
    code, out, _ = _run(capsys, *base, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 1 and tuple(rows[0]) == ROW_COLUMNS
    assert [(r["finding"], r["kind"], r["cable_id"]) for r in rows] == [
        ("1", "swapped", "C1-S002-N01-R3"), ("1", "swapped", "C1-S002-N03-R3")]
    assert rows[0]["label_a"] == w.get("C1-S002-N01-R3").label_a and rows[0]["a_ru"]
    code, out, _ = _run(capsys, *base, "--format", "json")
    doc = json.loads(out)
    assert code == 1 and not doc["matches"] and doc["counts"] == {"swapped": 1}
    assert [c["cable_id"] for c in doc["findings"][0]["cables"]] == ["C1-S002-N01-R3",
                                                                    "C1-S002-N03-R3"]
    ws = openpyxl.load_workbook(tmp_path / "fix.xlsx").active
    table = [[c.value for c in row] for row in ws.iter_rows()]
    assert tuple(table[0]) == COLUMNS
    assert [r[1] for r in table[1:]] == ["C1-S002-N01-R3", "C1-S002-N03-R3"]
    assert table[1][COLUMNS.index("fix")] == "swap the cables at leaf-s002-r3 ports 1 and 3"


@pytest.mark.parametrize("content, message", [
    (b"", "no Switch or Ca record"),
    (b"\xff\xfe\x00bad", ":1: not UTF-8 text"),
    (b'Switch\t40 "S-1"\t\t# "leaf-s001-r1"\n[1]\t"H-2"[1](3)\t\t# "dgx0001 mlx5_0" lid 0 4xH',
     ":2: cannot read port line"),
])
def test_cli_bad_discovered_file_exits_2(out_dir: Path, tmp_path: Path, content: bytes,
                                         message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "d.txt"
    f.write_bytes(content)
    code, out, err = _run(capsys, "verify", "cabling", "small", "--out", str(out_dir),
                          "--discovered", str(f))
    assert code == 2 and message in err and "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1, err
