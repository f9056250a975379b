"""Environment for running Ansible from the tests: its state in tmp, the venv's tools on PATH."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def ansible_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Without these Ansible writes into ~/.ansible, and ansible-runner cannot find its tools."""
    return {
        **os.environ,
        "ANSIBLE_HOME": str(tmp_path / "ah"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_ROLES_PATH": str(ROOT / "playbooks/roles"),
        # the rsc.cluster collection (modules and filters the roles use) at the repo root
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT),
        "PATH": f"{BIN}:{os.environ['PATH']}",
        **extra,
    }
