"""execution-environment.yml: `ansible-builder create` makes a build context (no container
engine needed) whose every source is inside the enclave, with the plugin's collection and
rscctl in it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.ansiblehelp import BIN, ROOT

# Hosts outside the enclave that a build context must never name.
OUTSIDE = ("pypi.org", "files.pythonhosted.org", "galaxy.ansible.com", "quay.io",
           "registry.redhat.io", "github.com", "docker.io")


def test_builder_context_is_complete_and_in_the_enclave(tmp_path: Path) -> None:
    ctx = tmp_path / "context"
    res = subprocess.run([str(BIN / "ansible-builder"), "create", "-f",
                          str(ROOT / "execution-environment.yml"), "-c", str(ctx)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    containerfile = (ctx / "Containerfile").read_text()
    base = re.search(r'^ARG EE_BASE_IMAGE="([^"]+)"', containerfile, re.M)
    assert base and base.group(1).startswith("registry.rsc.internal/")
    assert "COPY _build/configs/pip.conf /etc/pip.conf" in containerfile
    build = ctx / "_build"
    assert (build / "rsc_cluster/plugins/inventory/plan.py").read_bytes() == (
        ROOT / "ansible_collections/rsc/cluster/plugins/inventory/plan.py").read_bytes()
    assert (build / "rsc_cluster/plugins/modules/files.py").is_file()
    assert "rscctl" in (build / "requirements.txt").read_text().split()
    assert "/build/rsc_cluster" in (build / "requirements.yml").read_text()
    pip_conf = (build / "configs/pip.conf").read_text()
    assert "index-url = https://pypi.rsc.internal/simple" in pip_conf
    for f in ctx.rglob("*"):
        if f.is_file() and "__pycache__" not in f.parts:
            text = f.read_text(errors="replace")
            found = [h for h in OUTSIDE if h in text]
            assert not found, f"{f.relative_to(ctx)} names {found}"
