"""rsc.cluster.files and rsc.cluster.units, run by ansible itself on a local connection.

The roles write everything in one call per role (each call costs ~5 s of guest CPU on the
lab's VMs), so what the per-file modules did must hold here: a file nft refuses is never
written, a secret never shows in a diff or the result, a unit file only where systemd runs,
check mode changes nothing. This machine runs no systemd, so units is seen refusing or
skipping, as it does in the lab's containers; what it would run where systemd does is its pure
`decide`, tested from sample `systemctl show` answers (the VM tests run it for real).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ansiblehelp import BIN, ROOT, ansible_env


def _module(tmp_path: Path, name: str, args: dict[str, Any], *flags: str) -> dict[str, Any]:
    """One module call on localhost; its JSON result (ad-hoc's `localhost | STATUS => {...}`,
    after the diff when --diff is given)."""
    res = subprocess.run(
        [str(BIN / "ansible"), "localhost", "-c", "local", "-i", "localhost,", "-m",
         f"rsc.cluster.{name}", "-a", json.dumps(args), "-e",
         f"ansible_python_interpreter={BIN / 'python'}", *flags],
        env=ansible_env(tmp_path, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                        ANSIBLE_NOCOLOR="1"),
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=120)
    at = res.stdout.rfind("localhost | ")
    assert at >= 0, res.stdout[-2000:] + res.stderr[-2000:]
    out: dict[str, Any] = json.loads(res.stdout[res.stdout.index("{", at):])
    out["stdout_before"] = res.stdout[:at]
    out["failed"] = res.stdout[at:].split()[2].startswith("FAILED")
    return out


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="writes files owned by root")


@needs_root
def test_files_writes_directories_checked_files_and_secrets_in_one_call(tmp_path: Path) -> None:
    d = tmp_path / "state"
    args = {"directories": [{"path": str(d), "mode": "0700"}],
            "files": [{"dest": str(d / "planned.nft"), "content": "table inet t {}\n",
                       "mode": "0600", "validate": "nft -c -f %s"},
                      {"dest": str(tmp_path / "unit"), "content": "x\n",
                       "requires": str(tmp_path / "no-systemd-here")}],
            "secrets": [{"dest": str(tmp_path / "node.key"), "content": "SECRET-KEY-BYTES\n"}]}
    check = _module(tmp_path, "files", args, "--check", "--diff")
    assert check["changed"] and not d.exists(), check
    first = _module(tmp_path, "files", args, "--diff")
    assert first["changed_files"] == [str(d), str(d / "planned.nft"), str(tmp_path / "node.key")]
    assert first["skipped_files"] == [str(tmp_path / "unit")] and not (tmp_path / "unit").exists()
    assert first["missing_requires"] == [str(tmp_path / "no-systemd-here")]
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert (d / "planned.nft").read_text() == "table inet t {}\n"
    assert stat.S_IMODE((tmp_path / "node.key").stat().st_mode) == 0o600
    shown = json.dumps(first)  # the result and, before it, the diff
    assert "table inet t" in shown, "the diff is shown"
    assert "SECRET-KEY-BYTES" not in shown, "a secret shows in the result or diff"
    # the result names each file but does not echo its content back (the diff shows it);
    # -vvv shows a result's invocation
    echoed = json.dumps(_module(tmp_path, "files", args, "-vvv")["invocation"])
    assert str(d / "planned.nft") in echoed and "table inet t" not in echoed, echoed
    assert "+(secret, not shown)" in first["stdout_before"], first["stdout_before"]
    again = _module(tmp_path, "files", args)
    assert not again["changed"] and again["changed_files"] == [], again


@needs_root
@pytest.mark.skipif(shutil.which("nft") is None, reason="nft checks the ruleset")
def test_files_never_writes_what_validate_refuses(tmp_path: Path) -> None:
    dest = tmp_path / "planned.nft"
    dest.write_text("table inet t {}\n")
    res = _module(tmp_path, "files", {"files": [{"dest": str(dest), "content": "table inet {\n",
                                                 "validate": "nft -c -f %s"}]})
    assert res["failed"] and "refused the new content" in res["msg"], res
    assert dest.read_text() == "table inet t {}\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".rsc-")] == []
    # a check that is not given the file (no %s) would pass whatever the content: refused
    res = _module(tmp_path, "files", {"files": [{"dest": str(dest), "content": "table inet {\n",
                                                 "validate": "nft -c -f /dev/null"}]})
    assert res["failed"] and "has no %s" in res["msg"], res
    assert dest.read_text() == "table inet t {}\n"


@needs_root
def test_files_refuses_a_path_given_twice_and_writes_nothing(tmp_path: Path) -> None:
    """Two roles writing one file would leave whichever came last: refused before any write."""
    a, b = tmp_path / "a", tmp_path / "b"
    res = _module(tmp_path, "files", {"files": [{"dest": str(a), "content": "1\n"},
                                                {"dest": str(b), "content": "2\n"},
                                                {"dest": f"{tmp_path}//a", "content": "3\n"}]})
    assert res["failed"] and f"given twice (two roles write one path?): {a}" in res["msg"], res
    assert not a.exists() and not b.exists()
    res = _module(tmp_path, "files", {"directories": [{"path": str(a)}],
                                      "secrets": [{"dest": str(a), "content": "k\n"}]})
    assert res["failed"] and "given twice" in res["msg"] and not a.exists(), res


def _filter(name: str) -> Any:
    import importlib.util

    path = ROOT / f"ansible_collections/rsc/cluster/plugins/filter/{name}.py"
    spec = importlib.util.spec_from_file_location(f"rsc_filter_{name}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_parts_gathers_the_roles_in_order_and_drops_units_without_their_requirement() -> None:
    parts = _filter("converge").parts
    host = {"base_part": {"files": [{"dest": "/etc/hostname"}]},
            "health_part": {"directories": [{"path": "/etc/rscctl"}],
                            "files": [{"dest": "/usr/local/sbin/rscctl-health"}],
                            "units": [{"name": "rscctl-health.timer", "enabled": True,
                                       "requires": "/run/systemd/system"}]},
            "firewall_part": {"files": [{"dest": "/var/lib/rscctl/firewall/planned.nft"}],
                              "units": [{"name": "nftables.service", "enabled": True}]}}
    roles = ["base", "fabric", "firewall", "health"]  # fabric did not run here
    assert [f["dest"] for f in parts(host, roles, "files")] == [
        "/etc/hostname", "/var/lib/rscctl/firewall/planned.nft", "/usr/local/sbin/rscctl-health"]
    assert parts(host, roles, "secrets") == []
    assert parts(host, roles, "units") == [
        {"name": "nftables.service", "enabled": True},
        {"name": "rscctl-health.timer", "enabled": True}]
    assert parts(host, roles, "units", ["/run/systemd/system"]) == [
        {"name": "nftables.service", "enabled": True}]
    assert parts(host, ["base"], "units") == []  # --tags base: only base's part
    with pytest.raises(ValueError, match="kind 'file' is none of"):
        parts(host, roles, "file")
    with pytest.raises(ValueError, match=r"base_part: unknown key\(s\) file"):
        parts({"base_part": {"file": []}}, roles, "files")


def test_units_without_systemd_fails_or_skips_as_asked(tmp_path: Path) -> None:
    if Path("/run/systemd/system").is_dir():
        pytest.skip("systemd runs here: the VM tests cover the units module")
    unit = {"units": [{"name": "rscctl-health.timer", "enabled": True, "state": "started"}]}
    res = _module(tmp_path, "units", unit)
    assert res["failed"] and "systemd does not run this host" in res["msg"], res
    res = _module(tmp_path, "units", {**unit, "without_systemd": "skip"})
    assert not res["failed"] and res["systemd"] is False and not res["changed"], res


def _units_module() -> Any:
    import importlib.util

    path = ROOT / "ansible_collections/rsc/cluster/plugins/modules/units.py"
    spec = importlib.util.spec_from_file_location("rsc_units", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_units_decides_from_systemctl_show() -> None:
    """What a call runs where systemd does (the VMs), from sample `systemctl show` answers:
    one enable for all, a reload when a unit file changed or is new, restart always, start
    only what is not running, nothing for what already is as asked."""
    decide = _units_module().decide
    props = {
        "rscctl-health.timer": {"LoadState": "loaded", "UnitFileState": "disabled",
                                "ActiveState": "inactive", "NeedDaemonReload": "no"},
        "nftables.service": {"LoadState": "loaded", "UnitFileState": "enabled",
                             "ActiveState": "active", "NeedDaemonReload": "no"},
        "mnt-data.mount": {"LoadState": "loaded", "UnitFileState": "generated",
                           "ActiveState": "active", "NeedDaemonReload": "yes"},
        "tlshd.service": {"LoadState": "loaded", "UnitFileState": "static",
                          "ActiveState": "active", "NeedDaemonReload": "no"},
    }
    units = [{"name": "rscctl-health.timer", "enabled": True, "state": "started"},
             {"name": "nftables.service", "enabled": True, "state": "started"},
             {"name": "mnt-data.mount", "enabled": None, "state": "restarted"},
             {"name": "tlshd.service", "enabled": False, "state": None}]
    d = decide(units, props)
    assert d["todo"] == {"enable": ["rscctl-health.timer"], "disable": [],
                         "start": ["rscctl-health.timer"], "stop": [],
                         "restart": ["mnt-data.mount"]}
    assert d["changed_units"] == ["rscctl-health.timer", "mnt-data.mount"]
    assert d["started_units"] == ["rscctl-health.timer", "mnt-data.mount"]
    assert d["daemon_reloaded"]  # an enable, and a unit file changed on disk
    assert "rscctl-health.timer: disabled" in d["before"]
    # all as asked and no unit file changed: nothing to run, no reload
    settled = {n: {**p, "NeedDaemonReload": "no", "UnitFileState":
                   "enabled" if n == "rscctl-health.timer" else p["UnitFileState"],
                   "ActiveState": "active"} for n, p in props.items()}
    calm = [u for u in units if u["state"] != "restarted"]
    idle = decide(calm, settled)
    assert idle["changed_units"] == [] and not idle["daemon_reloaded"]
    assert not any(idle["todo"].values())
    # a changed unit file alone (a mount's, before its restart) is reloaded for
    remount = decide([units[2]], {"mnt-data.mount": props["mnt-data.mount"]})
    assert remount["daemon_reloaded"] and remount["todo"]["restart"] == ["mnt-data.mount"]
    # a unit whose file is new (not loaded yet) is reloaded for before it is enabled
    new = decide([{"name": "x.timer", "enabled": True, "state": None}],
                 {"x.timer": {"LoadState": "not-found", "UnitFileState": "",
                              "ActiveState": "inactive"}})
    assert new["todo"]["enable"] == ["x.timer"] and new["daemon_reloaded"]
