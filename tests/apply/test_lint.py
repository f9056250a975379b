"""The playbooks stay clean under ansible-lint's production profile (offline: .ansible-lint)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.ansiblehelp import BIN, ROOT


def test_playbooks_pass_ansible_lint_production(tmp_path: Path) -> None:
    res = subprocess.run([str(BIN / "ansible-lint"), "--offline", "--profile", "production",
                          "--nocolor", "playbooks/"], capture_output=True, text=True,
                         cwd=ROOT, timeout=600, check=False,
                         env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path),
                              "ANSIBLE_HOME": str(tmp_path / "ansible-home")})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "Profile 'production' was required, and it passed" in res.stdout + res.stderr
