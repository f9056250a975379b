"""Class 9 of issue 9: messages. Every user mistake exits 2 with one message at the file and
line of the field, a child's mistake at the child's line, mistakes found while planning too;
a bug exits 70 with one line (the traceback only with RSCCTL_DEBUG=1); messages are printed
verbatim (no rich markup, no emoji codes)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

import rscctl.cli.plan_cmd as plan_cmd
from rscctl.cli import EXIT_INTERNAL, main
from rscctl.declare import load_build
from rscctl.declare.loader import FieldError
from rscctl.errors import CheckFailed, Finding
from tests.conftest import TOPOLOGY, small_build_dict
from tests.hardening.declfiles import assert_file_refused

Doc = dict[str, Any]


def _lab() -> Doc:
    doc: Doc = yaml.safe_load((TOPOLOGY / "lab.yaml").read_text())
    doc["catalog"] = str(TOPOLOGY / "catalog.yaml")
    doc["dns"] = {"domain": "lab.internal", "serial": 1, "nameservers": ["mgmt01"]}
    doc.pop("mirrors", None)  # they name hosts of the shipped domain
    return doc


def _write(tmp_path: Path, doc: Doc, name: str = "build.yaml") -> Path:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    path = src / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _line_of(path: Path, text: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if text in t)


def _plan_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], path: Path,
                  words: list[str]) -> str:
    """`validate` and `plan` both exit 2 with one message holding `words` (validate plans
    too, so a mistake found while planning is not "valid"), and write nothing."""
    out = tmp_path / "out"
    flat = ""
    for argv in (["validate", str(path)], ["plan", str(path), "--out", str(out)]):
        assert main(argv) == 2, argv[0]
        err = capsys.readouterr().err
        flat = " ".join(err.split())
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
        for word in words:
            assert word in flat, f"{word!r} not in {flat!r}"
        assert not out.exists()
    return flat


# -- exit codes --------------------------------------------------------------------------------

def _boom(*_: object, **__: object) -> None:
    raise RuntimeError("a bug, not the user's mistake")


def test_internal_error_exits_70_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RSCCTL_DEBUG", raising=False)
    monkeypatch.setattr(plan_cmd, "load_build", _boom)
    out = tmp_path / "out"
    assert main(["plan", "lab", "--out", str(out)]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("internal error: RuntimeError in rscctl, please report it"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "RSCCTL_DEBUG=1" in err
    assert not out.exists()
    assert EXIT_INTERNAL not in (0, 1, 2)


def test_internal_error_traceback_with_debug(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RSCCTL_DEBUG", "1")
    monkeypatch.setattr(plan_cmd, "load_build", _boom)
    assert main(["validate", "lab"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "a bug, not the user's mistake" in err
    assert "internal error:" in err


# -- verbatim ----------------------------------------------------------------------------------

def test_markup_and_emoji_codes_printed_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "[red]bad:x:[bold]"]) == 2
    err = capsys.readouterr().err
    assert "unknown build '[red]bad:x:[bold]'" in err, err
    assert "\N{CROSS MARK}" not in err and "\x1b" not in err


def test_extends_value_printed_verbatim(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "src" / "child.yaml"
    path.parent.mkdir()
    path.write_text("name: child\nextends: ':x: [bold]b[/bold] :thumbs_up:'\n")
    assert_file_refused(tmp_path, capsys, path,
                        ["child.yaml:2: extends:", "':x: [bold]b[/bold] :thumbs_up:'"],
                        absent=["\N{CROSS MARK}", "\N{THUMBS UP SIGN}"])


def test_findings_printed_verbatim(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*_: object, **__: object) -> None:
        raise CheckFailed([Finding("ports-unique", ("leaf:x:",), "[red]two:x:[/red]", "fix")])

    monkeypatch.setattr(plan_cmd, "load_build", failing)
    assert main(["validate", "lab"]) == 1
    err = capsys.readouterr().err
    assert "check failed [ports-unique] [red]two:x:[/red] (devices: leaf:x:)" in err, err
    assert "\N{CROSS MARK}" not in err


# -- a child's mistake at the child's line -----------------------------------------------------

def _base_and_child(tmp_path: Path, child: Doc) -> Path:
    base = small_build_dict(sus=2, nodes_per_su=4, spines=4, max_sus=3, name="base")
    _write(tmp_path, base, "base.yaml")
    return _write(tmp_path, {"extends": "base", "name": "child", **child}, "child.yaml")


def test_child_mistake_at_child_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _base_and_child(tmp_path, {"compute": {"spines": "four"}})
    assert_file_refused(tmp_path, capsys, path,
                        [f"child.yaml:{_line_of(path, 'spines: four')}: compute.spines"],
                        absent=["base.yaml:"])


def test_inherited_value_broken_by_child(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The child raises gpu_nodes and forgets gpus: the parent's gpus is no longer right, but
    the mistake is the child's; point at the child's compute block (its first line), and say
    where the inherited value is."""
    path = _base_and_child(tmp_path, {"compute": {"gpu_nodes": 12, "scalable_units": 3}})
    base = tmp_path / "src" / "base.yaml"
    assert_file_refused(tmp_path, capsys, path, [
        f"child.yaml:{_line_of(path, 'gpu_nodes: 12')}: compute.gpus=64",
        f"(the value is inherited from {base}:{_line_of(base, 'gpus: 64')})",
    ])


def test_error_in_parent_points_at_parent(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    base = small_build_dict(sus=2, nodes_per_su=4, spines=4, name="base")
    base["compute"]["gpus"] = 1
    _write(tmp_path, base, "base.yaml")
    path = _write(tmp_path, {"extends": "base", "name": "child"}, "child.yaml")
    base_path = tmp_path / "src" / "base.yaml"
    assert_file_refused(tmp_path, capsys, path,
                        [f"base.yaml:{_line_of(base_path, 'gpus: 1')}: compute.gpus=1"])


# -- mistakes found while planning, at the field's line ----------------------------------------

def test_unknown_name_server_at_its_line(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    doc = _lab()
    doc["dns"]["nameservers"] = ["mgmt01", "bastion09"]
    path = _write(tmp_path, doc)
    _plan_refused(tmp_path, capsys, path, [
        f"build.yaml:{_line_of(path, '- bastion09')}: dns.nameservers: 'bastion09' is not a "
        "planned host", "bastion01",
    ])


def test_segment_too_small_at_its_line(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    doc = _lab()
    doc["networks"]["storage"]["segment_prefix"] = 28
    path = _write(tmp_path, doc)
    _plan_refused(tmp_path, capsys, path, [
        f"build.yaml:{_line_of(path, 'segment_prefix: 28')}: networks.storage.segment_prefix=28",
        "shorten segment_prefix",
    ])


def test_row_switch_block_at_its_line(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    doc = _lab()
    doc["management"] = {"row_switch_block": 1}
    path = _write(tmp_path, doc)
    _plan_refused(tmp_path, capsys, path, [
        f"build.yaml:{_line_of(path, 'row_switch_block: 1')}: management.row_switch_block=1",
        "raise it",
    ])


def test_storage_rows_without_racks_at_its_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    doc = _lab()
    doc["floorplan"]["halls"][0]["rows"].append({"name": "ST9", "y": 9})
    doc["storage"]["systems"][0]["rows"] = ["ST9"]
    path = _write(tmp_path, doc)
    _plan_refused(tmp_path, capsys, path, [
        f"build.yaml:{_line_of(path, '- ST9')}: storage.systems[0] (fa): no racks of kind "
        "storage in rows ST9",
    ])


def test_planning_mistake_in_child_at_child_line(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    base = _lab()
    base["name"] = "base"
    _write(tmp_path, base, "base.yaml")
    path = _write(tmp_path, {"extends": "base", "name": "child",
                             "description": "adds a name server",
                             "dns": {"nameservers": ["mgmt01", "nobody01"]}}, "child.yaml")
    _plan_refused(tmp_path, capsys, path,
                  [f"child.yaml:{_line_of(path, '- nobody01')}: dns.nameservers: 'nobody01'"])


def test_field_error_without_locations() -> None:
    """A Build made in code (tests, library use) has no file: the message is the field's."""
    from rscctl.declare import Build

    loaded = load_build("lab")
    build = Build.model_validate(copy.deepcopy(loaded.model_dump()))
    assert str(FieldError(build, "dns.nameservers", "dns.nameservers: x")) == "dns.nameservers: x"
    line = _line_of(TOPOLOGY / "lab.yaml", "storage: {supernet")
    assert str(FieldError(loaded, "networks.storage", "m")).endswith(f"lab.yaml:{line}: m")
