"""The lab fixture: one lab of topology/lab.yaml per test session, torn down even on failure.

Registered for the whole suite by tests/conftest.py (`pytest_plugins`), so any test may ask for
`lab` (a LabState: `lab.path("inventory.yml")`, `lab.path("ssh_config")`, `lab.layout`).

Skipped, with the reason, only where the machine lacks root or network namespaces; where it
has them (CI runs as root) a missing or broken podman is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rscctl.lab import lifecycle
from rscctl.lab.state import LabState


def lab_unavailable() -> str | None:
    """Why this machine cannot run a lab at all, or None."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, a bridge, rootful podman)"
    if not Path("/proc/self/ns/net").exists() or shutil.which("ip") is None:
        return "the lab needs network namespaces and iproute2"
    return None


needs_lab = pytest.mark.skipif(lab_unavailable() is not None, reason=lab_unavailable() or "")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    """A running lab of the `lab` build; `lab down` runs whatever happens in between."""
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    state_dir = tmp_path_factory.mktemp("lab-state")
    out = tmp_path_factory.mktemp("lab-out")
    from rscctl.cli import main

    assert main(["plan", "lab", "--out", str(out)]) == 0
    try:
        yield lifecycle.up("lab", state_dir, out / "plan.json")
    finally:
        lifecycle.down(state_dir)


def planned_lab(tmp_path_factory: pytest.TempPathFactory,
                name: str) -> tuple[Path, Path, Path]:
    """The lab build planned into a fresh directory with its certificates: (the plan's
    directory, the secrets directory, where `rscctl apply` keeps its runs)."""
    from rscctl.cli import main

    base = tmp_path_factory.mktemp(name)
    plan, secrets = base / "lab", base / "secrets"
    assert main(["plan", "lab", "--out", str(plan)]) == 0
    assert main(["pki", "lab", "--out", str(plan), "--secrets", str(secrets)]) == 0
    return plan, secrets, base / "runs"
