"""Shared by the bad-names, bad-text and bad-numbers corpora: bases to break and one assertion
that a broken declaration is refused by `validate` and by `plan` alike, cleanly."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from rscctl.cli import main
from tests.conftest import TOPOLOGY, small_build_dict, write_build

Doc = dict[str, Any]

_PHASE1 = yaml.safe_load((TOPOLOGY / "phase1.yaml").read_text())
_LAB = yaml.safe_load((TOPOLOGY / "lab.yaml").read_text())


def catalog() -> Doc:
    """The shipped catalog as data, to inline in a declaration and break."""
    loaded: Doc = yaml.safe_load((TOPOLOGY / "catalog.yaml").read_text())
    return loaded


def small() -> Doc:
    """The conftest small build (compute and floor plan only)."""
    return small_build_dict(sus=2, nodes_per_su=4, spines=4)


def lab() -> Doc:
    """topology/lab.yaml (storage, management, servers) with phase 1's firewall policy and
    name servers, the catalog inlined so a case can break it too."""
    doc = copy.deepcopy(_LAB)
    doc["catalog"] = catalog()
    doc["policy"] = copy.deepcopy(_PHASE1["policy"])
    doc["dns"] = {"domain": "lab.internal", "serial": 1, "nameservers": ["mgmt01"]}
    # the mirrors stay inside the enclave: under the domain set above
    doc["mirrors"] = {k: v.replace(".rsc.internal", ".lab.internal")
                      for k, v in doc.get("mirrors", {}).items()}
    return doc


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def assert_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: Doc, words: list[str]
) -> None:
    """`validate` and `plan --out` both exit 2 with one message holding `words` (field path
    and fix), no traceback, and nothing written, in --out or anywhere beside it."""
    src = tmp_path / "src"
    src.mkdir()
    path = write_build(src, doc)
    out = tmp_path / "out"
    before, cwd_before = _tree(tmp_path), set(Path.cwd().iterdir())
    for argv in (["validate", str(path)], ["plan", str(path), "--out", str(out)]):
        code = main(argv)
        err = capsys.readouterr().err
        flat = " ".join(err.split())
        assert code == 2, (argv[0], code, err)
        assert "Traceback" not in err and "internal error" not in err, err
        assert err.count("error:") == 1, err
        assert path.name in flat, flat
        for word in words:
            assert word in flat, f"{word!r} not in {flat!r}"
        assert not out.exists(), f"{argv[0]} wrote {out}"
        assert _tree(tmp_path) == before, "files were written beside the declaration"
        assert set(Path.cwd().iterdir()) == cwd_before, "files were written in the cwd"


def set_path(doc: Doc, dotted: str, value: Any) -> Doc:
    """Set `a.b.0.c` in a nested doc (digits index lists); returns the doc."""
    *head, last = dotted.split(".")
    node: Any = doc
    for key in head:
        node = node[int(key)] if key.isdigit() else node[key]
    node[int(last) if last.isdigit() else last] = value
    return doc
