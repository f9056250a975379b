"""The stack program under Pulumi's own mocks (issue 15): resources per SU and node, content
hash triggers, pinned host keys, secrets, stable URNs; the bundle run by a real sh; the
missing-CLI path of `rscctl apply --engine pulumi`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi
import pytest

from rscctl.apply import knownhosts, nodecmds
from rscctl.apply.inventory import load as derive
from rscctl.apply.stackplan import StackPlan, stack_plan
from rscctl.errors import UserError
from tests.pulumi import mockstack as ms

RSCCTL = Path(sys.executable).parent / "rscctl"


def _planned(tmp: Path, build: str) -> tuple[dict[str, Any], Path, Path, dict[str, str]]:
    out, sec = tmp / build, tmp / f"secrets-{build}"
    for cmd in (["plan", build, "--out", str(out)],
                ["pki", build, "--out", str(out), "--secrets", str(sec)]):
        subprocess.run([str(RSCCTL), *cmd], check=True, capture_output=True, cwd=ms.ROOT)
    data = derive(out / "plan.json").as_dict()
    kh = tmp / f"known_hosts-{build}"
    return data, sec, kh, ms.known_hosts(data, kh)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path,
                                                             dict[str, str]]:
    return _planned(tmp_path_factory.mktemp("lab"), "lab")


def _plan(lab: Any, secrets: Path | None = None, **kw: Any) -> StackPlan:
    data, sec, kh, _ = lab
    return stack_plan(data, knownhosts.load(kh), kh, secrets_dir=secrets or sec, **kw)


def _run(sp: StackPlan) -> list[ms.Registered]:
    from rscctl_stack.program import declare

    return ms.run(lambda: declare(sp, pulumi.Output.secret("PRIVATE KEY")))


def test_one_component_per_su_and_node_with_their_resources(lab: Any) -> None:
    data = lab[0]
    regs = _run(_plan(lab))
    by_urn = {r.urn: r for r in regs}
    sus = [r for r in regs if r.typ == "rscctl:cluster:SU"]
    nodes = [r for r in regs if r.typ == "rscctl:cluster:Node"]
    linux = data["groups"]["linux_host"]
    assert sorted(r.name for r in sus) == ["services", "su-001", "su-002"]
    assert sorted(r.name for r in nodes) == sorted(linux)
    for n in nodes:
        su = data["hosts"][n.name].get("rsc_su")
        assert by_urn[n.parent].name == (f"su-{su:03d}" if su else "services")
    kinds = Counter((by_urn[r.parent].name, r.typ) for r in regs if r.typ.startswith("command"))
    firewalled = {h for g in data["children"].get("firewall", []) for h in data["groups"][g]}
    for h in linux:
        nfs = h in data["groups"]["nfs_client"]
        assert kinds[(h, "command:remote:CopyToRemote")] == 1 + nfs  # bundle (+ the key)
        fw = h in firewalled  # the lab's policy firewalls every Linux host
        assert kinds[(h, "command:remote:Command")] == 2 + fw  # stage, apply (+ confirm)
    names = {r.name for r in regs}
    assert {"dgx0001-stage", "dgx0001-files", "dgx0001/etc/tlshd/node.key",
            "dgx0001-apply", "dgx0001-firewall-confirm"} <= names
    assert firewalled == set(linux)


def test_every_connection_pins_its_host_key(lab: Any) -> None:
    data, _, _, keys = lab
    bastion = data["groups"]["bastion"][0]
    every = _run(_plan(lab))
    by_urn = {r.urn: r for r in every}
    regs = [r for r in every if r.typ.startswith("command:remote")]
    assert len(regs) > 2 * len(data["groups"]["linux_host"])
    for r in regs:
        host = by_urn[r.parent].name
        conn = r.inputs["connection"]
        assert conn["hostKey"] == keys[host], r.name
        assert conn["host"] == data["hosts"][host]["ansible_host"]
        if host == bastion:
            assert "proxy" not in conn
        else:
            assert conn["proxy"]["hostKey"] == keys[bastion], r.name


def test_missing_host_key_is_refused_before_pulumi(lab: Any, tmp_path: Path) -> None:
    data, sec, _, _ = lab
    kh = tmp_path / "known_hosts"
    ms.known_hosts(data, kh, skip=("dgx0003",))
    with pytest.raises(UserError, match=r"known_hosts: no host key for dgx0003 \(10\."):
        stack_plan(data, knownhosts.load(kh), kh, secrets_dir=sec)


def test_keys_and_connections_are_secrets(lab: Any) -> None:
    regs = _run(_plan(lab))
    for r in regs:
        if r.typ.startswith("command:remote"):
            assert "connection" in r.secret_paths, r.name  # the private key is in it
        if r.typ == "command:remote:CopyToRemote":
            secret = r.name.endswith("/etc/tlshd/node.key")
            assert ("source" in r.secret_paths) == secret, r.name
            if not secret:
                assert "PRIVATE KEY" not in str(r.inputs["source"])


def _triggers(regs: list[ms.Registered]) -> dict[str, Any]:
    return {r.name: r.inputs.get("triggers") for r in regs if r.typ.startswith("command")}


def test_one_changed_file_changes_only_its_nodes_triggers(lab: Any, tmp_path: Path) -> None:
    sec = tmp_path / "secrets"
    shutil.copytree(lab[1], sec)
    before = _triggers(_run(_plan(lab, sec)))
    cert = sec / "nodes" / "dgx0002.pem"
    cert.write_text(cert.read_text() + "\n")
    after = _triggers(_run(_plan(lab, sec)))
    changed = {n for n in before if before[n] != after[n]}
    assert changed == {"dgx0002-files", "dgx0002-apply"}
    assert before["dgx0002-apply"][0] == after["dgx0002-apply"][0]  # base unchanged
    assert before["dgx0002-apply"][2] != after["dgx0002-apply"][2]  # storage changed


def test_urns_are_stable_from_run_to_run(lab: Any) -> None:
    first = sorted(r.urn for r in _run(_plan(lab)))
    again = sorted(r.urn for r in _run(_plan(lab)))
    assert first == again
    assert len(set(first)) == len(first)
    # (the mock monitor's URNs carry the parent's type only; the engine's, the whole chain)
    assert ("urn:pulumi:test::rscctl-cluster::rscctl:cluster:Node$command:remote:Command::"
            "dgx0001-apply") in first


def test_bundle_unpacks_to_the_rendered_bytes(lab: Any, tmp_path: Path) -> None:
    """The staged files, written by a real sh from the bundle, are the rendered files."""
    host = _plan(lab, limit="dgx0001").hosts[0]
    stage = str(tmp_path / "stage")
    plain = [f for f in host.files if not f.secret]
    script = tmp_path / "files.sh"
    script.write_text(nodecmds.bundle(stage, plain))
    subprocess.run(["sh", str(script)], check=True)
    for f in plain:
        assert Path(nodecmds.staged_path(stage, f)).read_text() == f.content, f.dest
    assert oct(Path(stage).stat().st_mode & 0o777) == "0o700"


def test_phase1_declares_in_reasonable_time(tmp_path: Path) -> None:
    data, sec, kh, _ = _planned(tmp_path, "phase1")
    t0 = time.monotonic()
    sp = stack_plan(data, knownhosts.load(kh), kh, secrets_dir=sec)
    regs = _run(sp)
    took = time.monotonic() - t0
    kinds = Counter(r.typ for r in regs)
    n = len(data["groups"]["linux_host"])
    assert n > 700 and kinds["rscctl:cluster:Node"] == n
    # every phase-1 host has a policy: stage, apply and the firewall confirm
    assert kinds["command:remote:Command"] == 3 * n
    assert took < 150, f"{took:.0f} s for {n} nodes"


def test_missing_cli_exits_2_with_the_offline_install(lab: Any, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    res = subprocess.run([str(RSCCTL), "apply", "lab", "--engine", "pulumi", "--preview",
                          "--out", str(tmp_path)], capture_output=True, text=True, env=env,
                         cwd=ms.ROOT)
    assert res.returncode == 2, res.stderr
    err = " ".join(res.stderr.split())
    assert "Traceback" not in res.stderr
    assert "the Pulumi CLI (`pulumi`) is not on PATH" in err
    assert "pulumi plugin install resource command 1.2.1 --file" in err
    assert "pulumi-v3.272.0-linux-x64.tar.gz" in err


@pytest.mark.parametrize(("args", "named"), [
    (["--engine", "pulumi", "--check"], "--check"),
    (["--engine", "pulumi", "--tags", "base", "--max-fail", "10"], "--tags, --max-fail"),
    (["--engine", "pulumi", "--batch", "10"], "--batch"),
    (["--preview"], "--preview is for --engine pulumi"),
])
def test_an_option_the_engine_would_ignore_is_refused(tmp_path: Path, args: list[str],
                                                      named: str) -> None:
    """`--check` ignored by the Pulumi path would change the nodes the operator only meant
    to look at: refused before anything runs, whether or not `pulumi` is installed."""
    res = subprocess.run([str(RSCCTL), "apply", "lab", "--out", str(tmp_path), *args],
                         capture_output=True, text=True, cwd=ms.ROOT)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert named in " ".join(res.stderr.split())
