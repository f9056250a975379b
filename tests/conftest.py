"""Shared fixtures: shipped plans (built once per session) and small random-able builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rscctl.declare import Build, load_build
from rscctl.planner import build_plan
from rscctl.planner.model import Plan

# The session-scoped `lab` fixture (containers of topology/lab.yaml), for any test that asks.
pytest_plugins = ["tests.lab.fixtures"]

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGY = ROOT / "topology"


@pytest.fixture(scope="session")
def phase1_build() -> Build:
    return load_build("phase1")


@pytest.fixture(scope="session")
def phase2_build() -> Build:
    return load_build("phase2")


@pytest.fixture(scope="session")
def phase1_plan(phase1_build: Build) -> Plan:
    return build_plan(phase1_build)


@pytest.fixture(scope="session")
def phase2_plan(phase2_build: Build) -> Plan:
    return build_plan(phase2_build)


def small_build_dict(
    sus: int = 2,
    nodes_per_su: int = 4,
    gpu_nodes: int | None = None,
    spines: int = 2,
    max_sus: int | None = None,
    name: str = "small",
) -> dict[str, Any]:
    """A complete small declaration (catalog reference included) as plain data."""
    nodes = gpu_nodes if gpu_nodes is not None else sus * nodes_per_su
    pod_gpu = -(-nodes_per_su // 2)
    doc: dict[str, Any] = {
        "name": name,
        "catalog": str(TOPOLOGY / "catalog.yaml"),
        "compute": {
            "node_model": "dgx-a100",
            "gpu_nodes": nodes,
            "gpus": nodes * 8,
            "scalable_units": sus,
            "nodes_per_su": nodes_per_su,
            "nodes_per_rack": 2,
            "leaf_model": "qm8790",
            "spine_model": "cs8500",
            "spines": spines,
            "max_sus": max_sus or sus,
        },
        "floorplan": {
            "pod_layout": ["gpu"] * pod_gpu + ["network"],
            "halls": [
                {
                    "name": "H1",
                    "rows": [
                        {"name": "SP", "y": 0, "racks": [{"at": 1, "count": spines,
                                                           "kind": "spine"}]},
                        *[{"name": f"A{i + 1:02d}", "y": i + 1, "sus": [i + 1]}
                          for i in range(sus)],
                    ],
                }
            ],
        },
    }
    return doc


def write_build(tmp_path: Path, doc: dict[str, Any], name: str = "build.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
