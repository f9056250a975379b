"""--tags still selects roles with the converge role: it writes only the parts of the roles
that ran. ansible-playbook itself, in check mode on a local connection (nothing is written)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tests.ansiblehelp import BIN, ROOT, ansible_env
from tests.apply.test_validate_messages import VARS


def _would_write(tmp_path: Path, tags: str) -> set[str]:
    """The paths `site.yml --tags TAGS --check --diff` would write on dgx0001."""
    (tmp_path / "plan").mkdir(exist_ok=True)
    (tmp_path / "plan" / "hosts").write_text("10.0.0.1 dgx0001\n")
    (tmp_path / "plan" / "plan.json").touch()  # the validate role asks for it
    inv = tmp_path / "inv.yml"
    host = {**VARS, "rsc_plan_dir": str(tmp_path / "plan")}
    inv.write_text(yaml.safe_dump({"all": {"children": {"linux_host": {"children": {
        "gpu_node": {"hosts": {"dgx0001": host}}}}}}}))
    res = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inv), str(ROOT / "playbooks/site.yml"),
         "--tags", tags, "--check", "--diff", "-e", "ansible_become=false",
         "-e", "base_services=false", "-e", "fabric_services=false",
         "-e", f"ansible_python_interpreter={BIN / 'python'}"],
        env=ansible_env(tmp_path, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1"),
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return set(re.findall(r"^\+\+\+ after: (\S+)$", res.stdout, re.M))


def test_tags_select_the_roles_whose_files_converge_writes(tmp_path: Path) -> None:
    base = _would_write(tmp_path, "base")
    assert {"/etc/hostname", "/etc/hosts", "/etc/chrony/sources.d/rscctl.sources"} <= base, base
    assert not any(p.endswith(".network") or p == "/etc/rdma/node_desc" for p in base), base
    # (the host has no IPoIB interface here, so no network unit)
    fabric = _would_write(tmp_path, "fabric")
    assert fabric == {"/etc/rdma/node_desc"}, fabric
    both = _would_write(tmp_path, "base,fabric")
    assert both == base | fabric, both
