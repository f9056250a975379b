"""Class 6 of issue 9: plan.json read back (`rscctl export`, `pki`, `verify`) is checked.

Each case breaks a good lab plan.json one way and asserts: exit 2, one message naming the
file and the line of the broken record, what is wrong and the fix (plan again), no traceback,
and nothing written anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from rscctl.cli import main
from rscctl.errors import UserError
from rscctl.planjson import generate_plan_json, parse_plan_json, read_plan
from rscctl.planner.model import Plan
from tests.conftest import ROOT

LAB = ROOT / "topology" / "lab.yaml"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("planjson") / "out"
    assert main(["plan", str(LAB), "--out", str(out), "--only", "plan"]) == 0
    return (out / "plan.json").read_text()


Edit = Callable[[list[str]], int]  # edits the lines of plan.json; the (1-based) line it broke


def line_edit(pattern: str, old: str, new: str) -> Edit:
    """Replace `old` by `new` in the first line matching `pattern`."""
    def edit(lines: list[str]) -> int:
        i = next(i for i, line in enumerate(lines) if re.match(pattern, line))
        assert old in lines[i], (lines[i], old)
        lines[i] = lines[i].replace(old, new, 1)
        return i + 1
    return edit


def drop_section(name: str) -> Edit:
    def edit(lines: list[str]) -> int:
        start = next(i for i, line in enumerate(lines) if line.startswith(f'"{name}":'))
        end = next(i for i in range(start, len(lines)) if lines[i].startswith("]}"))
        del lines[start:end + 1]
        return 1
    return edit


DEVICE1 = r'\["dgx0001","gpu-node"'
CABLE1 = r'\["C1-S001-N01-R1",'
ADDR = r'\["dgx0002","mlx5_8","storage"'
RACK1 = r'\["LAB-SP-01",'

CASES: list[tuple[str, Edit, list[str]]] = [
    ("schema-version", line_edit(r'"schema_version"', "1", "7"),
     ["schema_version 7", "reads 1"]),
    ("unknown-rack", line_edit(DEVICE1, '"LAB-A01-01"', '"LAB-Z99-01"'),
     ["devices:", "rack 'LAB-Z99-01'", "not a rack of this plan"]),
    ("cable-unknown-device", line_edit(CABLE1, '"leaf-s001-r1"', '"leaf-s009-r1"'),
     ["cables:", "b_device 'leaf-s009-r1'", "not a device of this plan"]),
    ("cable-unknown-rack", line_edit(CABLE1, '"LAB-A01-02"', '"LAB-Q01-02"'),
     ["cables:", "b_rack 'LAB-Q01-02'", "not a rack"]),
    ("address-unknown-device", line_edit(ADDR, '"dgx0002"', '"ghost01"'),
     ["addresses:", "device 'ghost01'", "not a device"]),
    ("duplicate-device", line_edit(r'\["dgx0002","gpu-node"', '"dgx0002"', '"dgx0001"'),
     ["devices:", "name 'dgx0001' appears twice"]),
    ("duplicate-cable", line_edit(r'\["C1-S001-N01-R2",', '"C1-S001-N01-R2"',
                                  '"C1-S001-N01-R1"'),
     ["cables:", "cable_id 'C1-S001-N01-R1' appears twice"]),
    ("wrong-type", line_edit(DEVICE1, '",1,1,', '","1",1,'), ["ru '1'", "not an integer"]),
    ("short-record", line_edit(RACK1, ",48,", ","), ["racks:", "list of 10 values"]),
    ("newline-in-name", line_edit(DEVICE1, '"dgx0001"', '"dgx0001\\nevil IN A 6.6.6.6"'),
     ["name", "control character"]),
    ("name-not-a-host-name", line_edit(DEVICE1, '"dgx0001"', '"DGX 0001"'),
     ["name 'DGX 0001'", "not a host name"]),
    ("rack-row-path", line_edit(RACK1, '"SP"', '"../../etc"'),
     ["row '../../etc'", "letters, digits"]),
    ("nan", line_edit(RACK1, "0.0", "NaN"), ["NaN", "not a number"]),
    ("infinity", line_edit(RACK1, "0.0", "1e999"), ["x_m inf", "out of range"]),
    ("bad-address", line_edit(ADDR, '"10.', '"310.'), ["address '310.", "IPv4 address"]),
    ("prefix-len", line_edit(ADDR, ",24]", ",33]"), ["prefix_len 33", "0..32"]),
    ("wrong-columns", line_edit(r'"devices":', '"ru"', '"RU"'), ["devices columns"]),
    ("duplicate-key", line_edit(r'"build":', '"build":"lab"', '"build":"lab","build":"x"'),
     ["key 'build' given twice"]),
    ("unknown-field", line_edit(r'"build":', '"build":"lab"', '"build":"lab","bulid":1'),
     ["unknown field 'bulid'"]),
    ("missing-devices", drop_section("devices"), ["field 'devices' is missing"]),
    ("control-in-facts", line_edit(r'"facts":', '"compute"', '"comp\\u0000ute"'),
     ["facts", "control character"]),
    ("truncated", lambda lines: (lines.__delitem__(slice(200, None)), 200)[1],
     ["not valid JSON"]),
]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): (b"" if p.is_dir() else p.read_bytes())
            for p in sorted(root.rglob("*"))}


def _assert_refused(argv: list[str], tmp: Path, capsys: pytest.CaptureFixture[str],
                    words: list[str]) -> str:
    before = _tree(tmp)
    code = main(argv)
    err = capsys.readouterr().err
    flat = " ".join(err.split())
    assert code == 2, (argv, code, err)
    assert "Traceback" not in err, err
    assert err.count("error:") == 1, err
    for w in words:
        assert w in flat, f"{w!r} not in {flat!r}"
    assert "rscctl plan" in flat, "the fix: plan again"
    assert _tree(tmp) == before, "something was written"
    return flat


@pytest.mark.parametrize(("case", "edit", "words"), CASES, ids=[c[0] for c in CASES])
def test_export_refuses_a_broken_plan(
    good: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, edit: Edit,
    words: list[str]
) -> None:
    lines = good.split("\n")
    line = edit(lines)
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.json").write_text("\n".join(lines))
    flat = _assert_refused(["export", "lab", "--out", str(out), "--only", "csv"], tmp_path,
                           capsys, words)
    assert f"{out / 'plan.json'}:{line}:" in flat, f"line {line} not named: {flat}"


def _not_utf8(out: Path, good: str) -> None:
    data = good.encode()
    at = data.index(b'"description"')
    (out / "plan.json").write_bytes(data[:at + 16] + b"\xff\xfe" + data[at + 16:])


def _a_directory(out: Path, good: str) -> None:
    (out / "plan.json").mkdir()


def _missing(out: Path, good: str) -> None:
    (out / "other.txt").write_text("x")


@pytest.mark.parametrize(("case", "make", "words"), [
    ("not-utf8", _not_utf8, ["plan.json:4:", "not UTF-8"]),
    ("a-directory", _a_directory, ["plan.json", "a directory, not a plan"]),
    ("missing", _missing, ["plan.json", "no plan here"]),
])
@pytest.mark.parametrize("command", ["export", "pki", "verify"])
def test_every_reader_refuses_an_unreadable_plan(
    good: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str,
    make: Callable[[Path, str], None], words: list[str], command: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    make(out, good)
    argv = {"export": ["export", "lab", "--out", str(out)],
            "pki": ["pki", "lab", "--out", str(out), "--secrets", str(tmp_path / "sec")],
            "verify": ["verify", "firewall", "lab", "--out", str(out)]}[command]
    _assert_refused(argv, tmp_path, capsys, words)


@pytest.mark.parametrize("command", ["pki", "verify"])
def test_pki_and_verify_refuse_an_unknown_device(
    good: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    lines = good.split("\n")
    line = line_edit(ADDR, '"dgx0002"', '"ghost01"')(lines)
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.json").write_text("\n".join(lines))
    argv = (["pki", "lab", "--out", str(out), "--secrets", str(tmp_path / "sec")]
            if command == "pki" else ["verify", "firewall", "lab", "--out", str(out)])
    flat = _assert_refused(argv, tmp_path, capsys, ["device 'ghost01'", "not a device"])
    assert f"plan.json:{line}:" in flat


def test_a_good_plan_reads_back_the_same(phase1_plan: Plan, tmp_path: Path) -> None:
    """The checks accept what the planner writes (every record kind). Their speed is
    benchmarks/fabric_bench.py's (plan.json read), never a timed test."""
    path = tmp_path / "plan.json"
    path.write_text(generate_plan_json(phase1_plan))
    back = read_plan(path)
    assert back == phase1_plan
    with pytest.raises(UserError, match=r"plan.json:1: not a plan"):
        parse_plan_json("[]", "plan.json")
