"""The CLI end to end: outputs, exit codes, atomic and byte-identical writes."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rscctl.cli import main
from tests.conftest import ROOT, small_build_dict, write_build

CABLE_HEADER = ("cable_id,fabric,a_device,a_port,a_rack,b_device,b_port,b_rack,media,"
                "part_number,length_m,label_a,label_b")


def _run(*args: str) -> int:
    return main(list(args))


# Every command and sub-command, as README "Commands" documents them.
COMMANDS = {
    (): {"validate", "plan", "export", "diff", "pki", "lab", "verify", "apply", "health", "netbox"},
    ("lab",): {"up", "status", "down", "hosts", "trust", "fabric", "box", "vm-clean"},
    ("lab", "fabric"): {"up", "status", "down", "console"},
    ("verify",): {"firewall", "cabling", "routing"},
}


def listed_commands(*group: str) -> set[str]:
    """The names in the Commands panel of `rscctl [GROUP] --help` (one word at a row's start)."""
    out = subprocess.run([sys.executable, "-m", "rscctl", *group, "--help"],
                         capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1",
                              "PYTHONIOENCODING": "utf-8"}).stdout
    panel = out.split("Commands ", 1)[1].split("╰", 1)[0]
    return {m.group(1) for m in re.finditer(r"^│ (\w[\w-]*) ", panel, re.MULTILINE)}


@pytest.mark.parametrize("group", list(COMMANDS))
def test_help_lists_every_command(group: tuple[str, ...]) -> None:
    assert listed_commands(*group) == COMMANDS[group]


def test_plan_is_deterministic_across_processes(tmp_path: Path) -> None:
    """Two processes with different hash seeds (set and dict-of-str orders differ) write the
    same tree, byte for byte."""
    exe = Path(sys.executable).parent / "rscctl"
    trees = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}"
        subprocess.run([str(exe), "plan", "lab", "--out", str(out)], check=True, cwd=ROOT,
                       capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed})
        trees.append({p.relative_to(out).as_posix(): p.read_bytes()
                      for p in sorted(out.rglob("*")) if p.is_file()})
    one, two = trees
    assert len(one) > 100 and set(one) == set(two)
    assert [p for p in one if one[p] != two[p]] == []


def test_plan_writes_outputs_and_is_byte_identical(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out1, out2 = tmp_path / "one", tmp_path / "two"
    assert _run("plan", "phase1", "--out", str(out1), "--only", "plan", "--only", "csv") == 0
    summary = capsys.readouterr().out
    assert "6,080" in summary and "full-bisection" in summary and "passed" in summary
    assert _run("plan", "phase1", "--out", str(out2), "--only", "plan", "--only", "csv") == 0
    for name in ("plan.json", "devices.csv", "cabling.csv", "bom.csv"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name
    lines = (out1 / "cabling.csv").read_text().splitlines()
    assert lines[0] == CABLE_HEADER
    rows = list(csv.DictReader((out1 / "devices.csv").open()))
    assert list(rows[0]) == ["name", "role", "model", "su", "hall", "row", "rack", "ru"]
    spine = next(r for r in rows if r["role"] == "compute-spine")
    assert spine["su"] == ""
    bom = list(csv.DictReader((out1 / "bom.csv").open()))
    nodes = next(r for r in bom if r["item"] == "dgx-a100")
    assert nodes["count"] == "760"
    cables = sum(int(r["count"]) for r in bom if r["category"] == "cable"
                 and r["part_number"].startswith(("MCP1650-H", "MFS1S00-H", "MFP")))
    assert cables == 12160
    assert not list(out1.glob(".*")), "temporary files left behind"


def test_export_reads_plan_json(tmp_path: Path) -> None:
    path = write_build(tmp_path, small_build_dict())
    out = tmp_path / "out"
    assert _run("plan", str(path), "--out", str(out), "--only", "plan") == 0
    assert not (out / "cabling.csv").exists()
    assert _run("export", str(path), "--out", str(out), "--only", "csv") == 0
    assert (out / "cabling.csv").read_text().startswith(CABLE_HEADER)


def test_export_without_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("export", "phase1", "--out", str(tmp_path / "none")) == 2
    assert "rscctl plan" in capsys.readouterr().err


def test_unknown_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("plan", "phase1", "--out", str(tmp_path), "--only", "nope") == 2
    assert "unknown kind" in capsys.readouterr().err


def test_failed_check_exits_1_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A valid declaration whose racks are too far apart for any stocked cable."""
    doc = small_build_dict(sus=2, nodes_per_su=4, spines=4)
    doc["floorplan"]["halls"][0]["rows"][2]["y"] = 80  # 192 m from the spines
    path = write_build(tmp_path, doc)
    out = tmp_path / "out"
    assert _run("plan", str(path), "--out", str(out)) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "[cable-stock]" in err and "leaf-s002" in err and "fix:" in err
    assert not out.exists()


def test_console_script_exit_codes(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "rscctl"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    proc = subprocess.run([str(exe), "validate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "bad.yaml:" in proc.stderr
    ok = subprocess.run([str(exe), "validate", "phase2"], capture_output=True, text=True)
    assert ok.returncode == 0 and "2,000 nodes" in ok.stdout


@pytest.mark.parametrize("args", [["plan"], ["--bogus"], ["plan", "phase1", "--nope"],
                                  ["frobnicate"]])
def test_usage_errors_exit_2_without_traceback(args: list[str]) -> None:
    exe = Path(sys.executable).parent / "rscctl"
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Usage:" in proc.stderr
