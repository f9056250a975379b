"""The node health check on recorded evidence (rscctl/health/check.py's pure part) and the
ruleset hash shared with rscctl-fw-guard."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

from rscctl.health import check
from rscctl.health.gather import verdict

ROOT = Path(__file__).resolve().parents[2]
GUARD = ROOT / "playbooks" / "roles" / "firewall" / "files" / "rscctl-fw-guard"
NFS = ("41 30 0:52 / /mnt/checkpoints rw,relatime shared:1 - nfs4 "
       "fa001:/checkpoints rw,vers=4.2,proto=tcp,xprtsec=mtls,hard\n")
SPEC: dict[str, Any] = {
    "host": "dgx0001", "build": "lab", "gpus": 8,
    "ib": [{"device": "mlx5_0", "port": 1, "rail": 1, "rate_gbps": 200.0}],
    "ipoib": [{"device": "mlx5_0", "netdev": "ib0", "address": "10.248.0.1/24"}],
    "mounts": [{"where": "/mnt/checkpoints", "what": "fa001:/checkpoints", "tls": True}],
    "firewall_sha256": "f" * 64,
}
SYNCED = {"state": 0, "status": 0x2001, "maxerror_us": 1500}


def healthy_evidence() -> dict[str, Any]:
    return {
        "nvidia_smi": "".join(f"{i}, 0\n" for i in range(8)), "kernel_log": "boot ok\n",
        "ib_class": True, "ib_ports": {"mlx5_0/1": {"state": "4: ACTIVE",
                                                    "rate": "200 Gb/sec (4X HDR)"}},
        "ip_addr": [{"ifname": "ib0", "operstate": "UP",
                     "addr_info": [{"family": "inet", "local": "10.248.0.1", "prefixlen": 24}]}],
        "mountinfo": NFS, "nft_live_sha256": "a" * 64,
        "fw_confirmed": {"file_sha256": "f" * 64, "ruleset_sha256": "a" * 64},
        "adjtimex": SYNCED,
    }


def statuses(ev: dict[str, Any]) -> dict[str, str]:
    res = check.evaluate(SPEC, ev, 1000.0)
    return {"node": res["status"], **{n: c["status"] for n, c in res["checks"].items()}}


def test_a_healthy_node_passes_every_check() -> None:
    assert set(statuses(healthy_evidence()).values()) == {"healthy", "pass"}


def test_lab_node_reports_gpus_and_infiniband_absent_not_passed() -> None:
    ev = {**healthy_evidence(), "nvidia_smi": None, "ib_class": False, "ib_ports": {},
          "ip_addr": [{"ifname": "eth0", "operstate": "UP", "addr_info": []}]}
    got = statuses(ev)
    assert (got["gpu"], got["ib"], got["ipoib"]) == ("absent", "absent", "absent")
    assert got["node"] == "unverified"
    assert verdict(check.evaluate(SPEC, ev, 1000.0), "", 1000.0)["status"] == "unverified"


def test_a_removed_mount_or_plain_nfs_is_unhealthy() -> None:
    assert statuses({**healthy_evidence(), "mountinfo": ""})["nfs"] == "fail"
    plain = NFS.replace(",xprtsec=mtls", "")
    res = check.evaluate(SPEC, {**healthy_evidence(), "mountinfo": plain}, 1000.0)
    assert res["status"] == "unhealthy" and "not over TLS" in res["checks"]["nfs"]["summary"]


def test_a_flushed_or_unconfirmed_ruleset_is_unhealthy() -> None:
    flushed = {**healthy_evidence(), "nft_live_sha256": "b" * 64}
    assert statuses(flushed)["firewall"] == "fail"
    rolled = {**healthy_evidence(), "fw_confirmed": {"file_sha256": "e" * 64,
                                                     "ruleset_sha256": "a" * 64}}
    assert statuses(rolled)["firewall"] == "fail"


def test_gpu_errors_ib_rate_and_clock_fail() -> None:
    ev = healthy_evidence()
    assert statuses({**ev, "nvidia_smi": "0, 0\n1, 3\n"})["gpu"] == "fail"
    assert statuses({**ev, "kernel_log": "NVRM: Xid (PCI:0000:07:00): 79, pid=1\n"})["gpu"] \
        == "fail"
    slow = {"mlx5_0/1": {"state": "4: ACTIVE", "rate": "100 Gb/sec (4X EDR)"}}
    assert statuses({**ev, "ib_ports": slow})["ib"] == "fail"
    down = {"mlx5_0/1": {"state": "1: DOWN", "rate": "200 Gb/sec (4X HDR)"}}
    assert statuses({**ev, "ib_ports": down})["ib"] == "fail"
    assert statuses({**ev, "adjtimex": {**SYNCED, "state": 5}})["clock"] == "fail"


def test_a_stale_result_is_unhealthy() -> None:
    res = check.evaluate(SPEC, healthy_evidence(), 1000.0)
    assert verdict(res, "", 1000.0 + 3600)["status"] == "unhealthy"
    assert verdict(None, "unreachable: x", 0)["status"] == "unhealthy"


def _guard() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("rscctl_fw_guard", str(GUARD))
    spec = importlib.util.spec_from_loader("rscctl_fw_guard", loader)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_guard_and_check_hash_the_loaded_ruleset_alike(tmp_path: Path) -> None:
    """Real nft in a throwaway namespace: the same ruleset listed twice hashes the same in
    both scripts; another ruleset hashes differently."""
    f = tmp_path / "r.nft"
    f.write_text("table inet rscctl {\n chain input {\n  type filter hook input priority "
                 "filter; policy drop;\n  tcp dport 22 accept\n }\n}\n")
    sh = (f"nft -f {f} && nft -j list ruleset && echo SPLIT && nft add rule inet rscctl "
          "input tcp dport 80 accept && nft -j list ruleset")
    out = subprocess.run(["unshare", "--net", "sh", "-c", sh], capture_output=True, text=True,
                         check=True).stdout
    one, two = out.split("SPLIT")
    guard = _guard()
    assert guard.canonical_hash(one) == check.canonical_hash(one)
    assert check.canonical_hash(one) != check.canonical_hash(two)
    assert json.loads(one)["nftables"]


def test_the_specs_step_says_a_missing_plan_in_one_line(tmp_path: Path) -> None:
    """The health role runs it on the controller: a missing plan is its message, exit 2."""
    import sys

    res = subprocess.run([sys.executable, "-m", "rscctl.health.planned",
                          str(tmp_path / "plan.json"), str(tmp_path / "specs")],
                         capture_output=True, text=True, check=False, timeout=60)
    assert res.returncode == 2, res
    assert res.stderr == (f"rscctl: {tmp_path / 'plan.json'}: no plan here; run `rscctl plan "
                          "BUILD` first\n"), res.stderr
