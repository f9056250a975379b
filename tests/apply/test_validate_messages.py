"""The checks that stop a host before anything changes say what is wrong and the fix: one
assert per host and role (each task costs a controller worker per host), the message the
first failing check's. Run by ansible-playbook itself on a local connection."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.ansiblehelp import BIN, ROOT, ansible_env

HOST = "dgx0001"
VARS: dict[str, Any] = {
    "ansible_connection": "local", "ansible_host": "10.0.0.1", "rsc_build": "lab",
    "rsc_domain": "rsc.internal", "rsc_role": "gpu-node", "rsc_networks": {},
    "rsc_interfaces": [{"name": "inband0", "network": "inband", "address": "10.0.0.1"}],
}


def _play(tmp_path: Path, playbook: str, host_vars: dict[str, Any], group: str,
          plan_json: bool = True) -> str:
    """ansible-playbook's output; the play is stopped by the failed check (rc 2). site.yml
    runs with a tag no role has: only `always` (validate, converge) runs."""
    (tmp_path / "plan").mkdir(exist_ok=True)
    (tmp_path / "plan" / "hosts").write_text("10.0.0.1 dgx0001\n")
    if plan_json:
        (tmp_path / "plan" / "plan.json").touch()
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"linux_host": {"children": {group: {
        "hosts": {HOST: {"rsc_plan_dir": str(tmp_path / "plan"), **host_vars}}}}}}}}))
    res = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inv), str(ROOT / "playbooks" / playbook),
         *(["--tags", "validate-only"] if playbook == "site.yml" else []),
         "-e", "ansible_become=false",
         "-e", f"ansible_python_interpreter={BIN / 'python'}"],
        env=ansible_env(tmp_path, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1"),
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=120)
    assert res.returncode == 2, res.stdout[-3000:] + res.stderr[-2000:]
    return " ".join(res.stdout.split())


def test_missing_variables_are_named_with_the_fix(tmp_path: Path) -> None:
    partial = {k: v for k, v in VARS.items() if k not in ("rsc_domain", "rsc_networks")}
    out = _play(tmp_path, "site.yml", partial, "gpu_node")
    assert ("rsc_domain, rsc_networks not set for dgx0001; use the inventory of the plan: "
            "`-i inventory/BUILD.rsc.yml` after `rscctl plan BUILD`") in out, out


def test_a_host_not_at_its_planned_address_is_stopped(tmp_path: Path) -> None:
    out = _play(tmp_path, "site.yml", {**VARS, "ansible_host": "10.0.0.9"}, "gpu_node")
    assert ("dgx0001: ansible_host 10.0.0.9 is none of the plan's addresses of this host; "
            "plan again (`rscctl plan lab`) and use its inventory") in out, out


def test_nfs_input_and_then_the_certificate(tmp_path: Path) -> None:
    out = _play(tmp_path, "nfs-tls.yml", VARS, "nfs_client")
    said = "rsc_nfs_tls / rsc_nfs_mounts are not set (or not for xprtsec=mtls) for dgx0001; use"
    assert said in out, out
    nfs = {**VARS, "rsc_nfs_mounts": [], "nfs_tls_secrets_dir": str(tmp_path / "sec"),
           "rsc_nfs_tls": {"mount_options": "vers=4.2,xprtsec=mtls", "ca_path": "/c",
                           "cert_path": "/p", "key_path": "/k"}}
    plain = {**nfs, "rsc_nfs_tls": {**nfs["rsc_nfs_tls"], "mount_options": "vers=4.2"}}
    assert said in _play(tmp_path, "nfs-tls.yml", plain, "nfs_client")
    out = _play(tmp_path, "nfs-tls.yml", nfs, "nfs_client")
    assert (f"no certificate for dgx0001 in {tmp_path / 'sec'}; run `rscctl pki lab`") in out, out


def test_a_plan_directory_without_its_plan_is_stopped(tmp_path: Path) -> None:
    """Before the health role's controller step reads plan.json (which would fail with less)."""
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "hosts").write_text("10.0.0.1 dgx0001\n")
    out = _play(tmp_path, "site.yml", VARS, "gpu_node", plan_json=False)
    assert (f"no {tmp_path / 'plan'}/hosts or plan.json on the controller; run `rscctl plan "
            "lab`") in out, out
