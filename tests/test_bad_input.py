"""A corpus of broken declarations: each gives exit 2 and one clear message, never a traceback."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rscctl.cli import main
from rscctl.declare import load_build
from rscctl.errors import UserError
from tests.conftest import TOPOLOGY, small_build_dict, write_build

Doc = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        *head, last = path.split(".")
        node: Any = doc
        for key in head:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        *head, last = path.split(".")
        node: Any = doc
        for key in head:
            node = node[int(key)] if key.isdigit() else node[key]
        del node[last]

    return mutate


def _dup_row(doc: Doc) -> None:
    rows = doc["floorplan"]["halls"][0]["rows"]
    rows.append({"name": "B01", "y": 9, "racks": [{"at": 1, "kind": "spine"},
                                                   {"at": 1, "kind": "management"}]})


# (case, mutation, words the message must contain: field path, value or fix)
CASES: list[tuple[str, Callable[[Doc], None], list[str]]] = [
    ("missing-field", _delete("compute.gpus"), ["compute.gpus", "missing"]),
    ("wrong-type", _set("compute.spines", "twenty"), ["compute.spines", "twenty"]),
    ("unknown-key", _set("compute.spine_count", 3), ["spine_count", "unknown key"]),
    ("unknown-model", _set("compute.leaf_model", "qm9999"), ["compute.leaf_model", "qm9999",
                                                             "qm8790"]),
    ("too-many-leaves", _set("compute.max_sus", 200), ["ports needed", "max_sus"]),
    ("gpu-mismatch", _set("compute.gpus", 63), ["compute.gpus", "64"]),
    ("negative-count", _set("compute.scalable_units", -2), ["scalable_units", "greater than 0"]),
    ("duplicate-rack", _dup_row, ["position 1", "declared twice"]),
    ("su-unplaced", _set("compute.scalable_units", 3), ["gpu_nodes"]),
    ("spines-not-dividing", _set("compute.spines", 3), ["compute.spines=3", "divide"]),
    ("rack-power", _set("floorplan.rack_power_kw", 10), ["rack_power_kw", "13.0 kW"]),
]


@pytest.mark.parametrize("case,mutate,words", CASES, ids=[c[0] for c in CASES])
def test_broken_declaration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    case: str, mutate: Callable[[Doc], None], words: list[str],
) -> None:
    doc = small_build_dict(sus=2, nodes_per_su=4, spines=4)
    mutate(doc)
    path = write_build(tmp_path, doc)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("error:") == 1, err
    flat = " ".join(err.split())
    assert str(path.name) in flat
    for word in words:
        assert word in flat, f"{word!r} not in {flat!r}"


def test_message_names_the_line(tmp_path: Path) -> None:
    doc = small_build_dict()
    doc["compute"]["gpus"] = 1
    path = write_build(tmp_path, doc)
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "gpus: 1" in t)
    with pytest.raises(UserError, match=rf"build.yaml:{line}: compute.gpus"):
        load_build(str(path))


@pytest.mark.parametrize(
    "text,words",
    [
        ("name: x\ncompute: {gpu_nodes: 3\n", ["YAML syntax error", ":"]),
        ("", ["empty"]),
        ("- a\n- b\n", ["mapping"]),
        ("name: x\nname: y\n", ["given twice", ":2"]),
    ],
    ids=["syntax", "empty", "list", "duplicate-key"],
)
def test_unreadable_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, words: list[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in err
    for word in words:
        assert word in err


def test_extends_missing_and_circular(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text("extends: nowhere\nname: a\n")
    assert main(["validate", str(tmp_path / "a.yaml")]) == 2
    assert "'nowhere' not found" in capsys.readouterr().err
    (tmp_path / "b.yaml").write_text("extends: c\nname: b\n")
    (tmp_path / "c.yaml").write_text("extends: b\nname: c\n")
    assert main(["validate", str(tmp_path / "b.yaml")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "circular" in err and "b.yaml -> " in err


def test_unknown_build_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "phase9"]) == 2
    err = capsys.readouterr().err
    assert "phase1" in err and "phase2" in err


def test_extends_merges_named_lists(tmp_path: Path) -> None:
    """A child adds rows to a hall by naming the hall; nothing of the parent is lost."""
    base = small_build_dict(sus=1, nodes_per_su=4, spines=4, max_sus=2)
    write_build(tmp_path, base, "base.yaml")
    child = {
        "extends": "base",
        "name": "child",
        "compute": {"gpu_nodes": 8, "gpus": 64, "scalable_units": 2},
        "floorplan": {"halls": [{"name": "H1", "rows": [{"name": "A02", "y": 2, "sus": [2]}]}]},
    }
    write_build(tmp_path, child, "child.yaml")
    b = load_build(str(tmp_path / "child.yaml"))
    assert [r.name for r in b.floorplan.halls[0].rows] == ["SP", "A01", "A02"]
    assert b.compute.spines == 4 and b.name == "child"


# -- fuzzing: any mutation of a valid declaration loads or fails cleanly ---------------------

_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10_000), st.floats(allow_nan=False),
    st.text(max_size=12),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "catalog":
                out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


_BASE = small_build_dict(sus=2, nodes_per_su=4, spines=4)
_PATHS = _paths(_BASE)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(_PATHS), _value), min_size=1, max_size=3))
def test_fuzz_mutations_fail_cleanly(
    tmp_path: Path, mutations: list[tuple[tuple[Any, ...], Any]]
) -> None:
    doc = copy.deepcopy(_BASE)
    for path, value in mutations:
        node: Any = doc
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    target = tmp_path / "fuzz.yaml"
    target.write_text(yaml.safe_dump(doc))
    try:
        load_build(str(target))
    except UserError as exc:
        assert str(exc).startswith(str(target)) or "fuzz.yaml" in str(exc)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_fuzz_text_fails_cleanly(tmp_path: Path, text: str) -> None:
    target = tmp_path / "text.yaml"
    target.write_text(text, encoding="utf-8")
    with contextlib.suppress(UserError):
        load_build(str(target))


def test_shipped_catalog_is_valid() -> None:
    assert (TOPOLOGY / "catalog.yaml").is_file()
    load_build("phase1")
