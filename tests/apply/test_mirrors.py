"""`mirrors:` in a build: only in-enclave package sources are accepted, and the inventory
carries them to the base role (rsc_mirrors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rscctl.cli import main
from tests.ansiblehelp import ROOT
from tests.apply.invhelp import listed


def _build(tmp_path: Path, mirrors: str) -> Path:
    p = tmp_path / "b.yaml"
    p.write_text(f"extends: {ROOT / 'topology/lab.yaml'}\nmirrors: {mirrors}\n")
    return p


@pytest.mark.parametrize(("mirrors", "why"), [
    ("{apt: 'http://deb.debian.org/debian'}", "not under the build's domain rsc.internal"),
    ("{pypi: 'https://pypi.org/simple'}", "not under the build's domain rsc.internal"),
    ("{apt: 'http://192.0.2.7/debian'}", "is in none of the declared networks"),
    ("{apt: 'ftp://mirror.rsc.internal/debian'}", "an http:// or https:// URL"),
    ("{apt: 'http://mirror.rsc.internal/debian', yum: 'http://x.rsc.internal'}", "yum"),
])
def test_outside_sources_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     mirrors: str, why: str) -> None:
    assert main(["validate", str(_build(tmp_path, mirrors))]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert why in err and "b.yaml:2" in err and "Traceback" not in err


def test_inside_sources_reach_the_inventory(tmp_path: Path) -> None:
    b = _build(tmp_path, "{apt: 'http://10.240.3.12/debian', pypi: 'http://mgmt01.rsc.internal/p'}")
    assert main(["plan", str(b), "--out", str(tmp_path / "out")]) == 0
    doc = listed(tmp_path, ROOT / "inventory/lab.rsc.yml",
                 RSCCTL_PLAN=str(tmp_path / "out/plan.json"))
    assert doc["all"]["vars"]["rsc_mirrors"] == {"apt": "http://10.240.3.12/debian",
                                                 "pypi": "http://mgmt01.rsc.internal/p"}


def test_the_shipped_builds_declare_their_mirrors(tmp_path: Path) -> None:
    for build in ("lab", "phase1"):
        text = (ROOT / "topology" / f"{build}.yaml").read_text()
        assert "\nmirrors:\n  apt: http://" in text, build
