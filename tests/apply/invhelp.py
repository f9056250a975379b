"""Running stock ansible-inventory on the project's plugin and on written inventories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.ansiblehelp import BIN, ROOT, ansible_env


def ansible_inventory(tmp_path: Path, source: Path, *args: str,
                      **env: str) -> subprocess.CompletedProcess[str]:
    """ansible-inventory run from the repository root (so its ansible.cfg applies)."""
    return subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
                          env=ansible_env(tmp_path, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                                          RSCCTL_CACHE_DIR=str(tmp_path / "cache"), **env))


def listed(tmp_path: Path, source: Path, **env: str) -> dict[str, Any]:
    res = ansible_inventory(tmp_path, source, "--list", "--export", **env)
    assert res.returncode == 0, res.stderr
    out: dict[str, Any] = json.loads(res.stdout)
    return out
