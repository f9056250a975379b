#!/usr/bin/python3
"""rscctl-health: one node's health against its plan, written as one JSON result.

Shipped to every Linux host by the health role as /usr/local/sbin/rscctl-health (standard
library only: the node has python3 and nothing of rscctl) and run by rscctl-health.timer every
5 minutes, or on demand by `rscctl health` where there is no systemd. After RSC's checks:
GPU count and ECC/XID errors, InfiniBand ports Active at the planned rate on the planned rails,
IPoIB up with the planned address, NFS mounts present and over TLS, the loaded nftables
ruleset equal to the planned one (by hash), the clock in sync.

Each check is `pass`, `fail`, `absent` (the hardware or tool to look at is not there: said so,
never passed) or `n/a` (nothing of the kind planned here), with the evidence it saw.
`gather` reads the node; `evaluate` is pure (tested with recorded evidence).

    rscctl-health [--spec /etc/rscctl/health-spec.json] [--out /var/lib/rscctl/health.json]
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Any

SPEC = "/etc/rscctl/health-spec.json"
RESULT = "/var/lib/rscctl/health.json"
FW_CONFIRMED = "/var/lib/rscctl/firewall/confirmed.json"
TABLE = ("inet", "rscctl")
TIME_ERROR = 5  # adjtimex: the kernel clock is not synchronized
STA_UNSYNC = 0x40
MAX_CLOCK_ERROR_US = 100_000
XID = re.compile(r"NVRM: Xid \(([^)]*)\): (\d+)")

Doc = dict[str, Any]


# ---------------------------------------------------------------- pure part

def canonical_hash(listing: str) -> str:
    """sha256 of table inet rscctl in `nft -j list ruleset`, handles dropped (the same
    function as rscctl-fw-guard's: a test keeps them equal)."""
    doc = json.loads(listing)
    items = []
    for item in doc.get("nftables", []):
        ((kind, body),) = item.items()
        if kind == "metainfo":
            continue
        if (body.get("family"), body.get("table", body.get("name"))) != TABLE:
            continue
        items.append({kind: {k: v for k, v in body.items() if k != "handle"}})
    return hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()


def _r(status: str, summary: str, evidence: Doc) -> Doc:
    return {"status": status, "summary": summary, "evidence": evidence}


def check_gpu(spec: Doc, ev: Doc) -> Doc:
    want = int(spec.get("gpus", 0))
    if want == 0:
        return _r("n/a", "no GPUs planned", {})
    smi = ev.get("nvidia_smi")
    if smi is None:
        return _r("absent", f"{want} GPUs planned, none seen: no nvidia-smi, no "
                  "/proc/driver/nvidia/gpus", {"nvidia_smi": None,
                                               "proc_gpus": ev.get("proc_gpus", [])})
    rows = [ln.split(",") for ln in smi.strip().splitlines() if ln.strip()]
    ecc = {r[0].strip(): r[1].strip() for r in rows if len(r) >= 2}
    bad_ecc = {i: n for i, n in ecc.items() if n not in ("0", "[N/A]", "N/A")}
    xids = [m.group(0) for m in XID.finditer(ev.get("kernel_log") or "")]
    evidence = {"nvidia_smi": smi, "xid": xids,
                "kernel_log_read": ev.get("kernel_log") is not None}
    problems = []
    if len(rows) != want:
        problems.append(f"{len(rows)} GPUs seen, {want} planned")
    if bad_ecc:
        problems.append(f"uncorrected ECC errors on GPU {', '.join(sorted(bad_ecc))}")
    if xids:
        problems.append(f"{len(xids)} XID errors in the kernel log (last: {xids[-1]})")
    if problems:
        return _r("fail", "; ".join(problems), evidence)
    if ev.get("kernel_log") is None:
        return _r("absent", f"{want} GPUs, no ECC errors; the kernel log (XID) was "
                  "unreadable", evidence)
    return _r("pass", f"{want} GPUs, no uncorrected ECC or XID errors", evidence)


def check_ib(spec: Doc, ev: Doc) -> Doc:
    ports = spec.get("ib", [])
    if not ports:
        return _r("n/a", "no InfiniBand ports planned", {})
    sysfs = ev.get("ib_ports", {})
    if not ev.get("ib_class"):
        return _r("absent", f"{len(ports)} ports planned, no /sys/class/infiniband",
                  {"ib_class": False})
    problems, seen = [], {}
    for p in ports:
        key = f"{p['device']}/{p['port']}"
        got = sysfs.get(key)
        seen[key] = got
        if got is None:
            problems.append(f"{key} (rail {p['rail']}) missing")
            continue
        if "ACTIVE" not in got.get("state", ""):
            problems.append(f"{key} (rail {p['rail']}) {got.get('state', '?').strip()}")
        m = re.match(r"\s*([\d.]+)", got.get("rate", ""))
        if not m or float(m.group(1)) != float(p["rate_gbps"]):
            problems.append(f"{key} (rail {p['rail']}) at {got.get('rate', '?').strip()}, "
                            f"planned {p['rate_gbps']:g} Gb/sec")
    evidence = {"planned": ports, "sysfs": seen}
    if problems:
        return _r("fail", "; ".join(problems), evidence)
    return _r("pass", f"{len(ports)} ports Active at the planned rate", evidence)


def check_ipoib(spec: Doc, ev: Doc) -> Doc:
    want = spec.get("ipoib", [])
    if not want:
        return _r("n/a", "no IPoIB interfaces planned", {})
    links = {x.get("ifname"): x for x in ev.get("ip_addr") or []}
    present = [w for w in want if w["netdev"] in links]
    if not present and not ev.get("ib_class"):
        return _r("absent", f"{len(want)} IPoIB interfaces planned, none present and no "
                  "InfiniBand devices", {"interfaces": sorted(k for k in links if k)})
    problems, seen = [], {}
    for w in want:
        x = links.get(w["netdev"])
        if x is None:
            problems.append(f"{w['netdev']} missing")
            continue
        addrs = [f"{a['local']}/{a['prefixlen']}" for a in x.get("addr_info", [])
                 if a.get("family") == "inet"]
        seen[w["netdev"]] = {"operstate": x.get("operstate"), "addresses": addrs}
        if x.get("operstate") != "UP":
            problems.append(f"{w['netdev']} is {x.get('operstate')}")
        if w["address"] not in addrs:
            problems.append(f"{w['netdev']} lacks {w['address']}")
    evidence = {"planned": want, "seen": seen}
    if problems:
        return _r("fail", "; ".join(problems), evidence)
    return _r("pass", f"{len(want)} IPoIB interfaces up with the planned addresses", evidence)


def parse_mountinfo(text: str) -> dict[str, Doc]:
    """mount point -> {fstype, source, options} from /proc/self/mountinfo."""
    out = {}
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        f, r = left.split(), right.split()
        if len(f) < 6 or len(r) < 3:
            continue
        point = f[4].replace("\\040", " ")
        out[point] = {"fstype": r[0], "source": r[1], "options": f"{f[5]},{r[2]}"}
    return out


def check_nfs(spec: Doc, ev: Doc) -> Doc:
    want = spec.get("mounts", [])
    if not want:
        return _r("n/a", "no NFS mounts planned", {})
    mounts = parse_mountinfo(ev.get("mountinfo", ""))
    problems, seen = [], {}
    for w in want:
        m = mounts.get(w["where"])
        seen[w["where"]] = m
        if m is None:
            problems.append(f"{w['where']} not mounted")
        elif not m["fstype"].startswith("nfs"):
            problems.append(f"{w['where']} is {m['fstype']}, not NFS")
        elif w.get("tls") and not re.search(r"(^|,)xprtsec=m?tls(,|$)", m["options"]):
            problems.append(f"{w['where']} is not over TLS ({m['options']})")
    evidence = {"planned": want, "seen": seen}
    if problems:
        return _r("fail", "; ".join(problems), evidence)
    return _r("pass", f"{len(want)} NFS mounts present over TLS", evidence)


def check_firewall(spec: Doc, ev: Doc) -> Doc:
    planned = spec.get("firewall_sha256")
    if not planned:
        return _r("n/a", "no firewall planned", {})
    confirmed = ev.get("fw_confirmed") or {}
    live = ev.get("nft_live_sha256")
    evidence = {"planned_file_sha256": planned,
                "confirmed_file_sha256": confirmed.get("file_sha256"),
                "confirmed_ruleset_sha256": confirmed.get("ruleset_sha256"),
                "live_ruleset_sha256": live, "nft_error": ev.get("nft_error")}
    if live is None:
        return _r("fail", f"cannot list the loaded ruleset: {ev.get('nft_error')}", evidence)
    if confirmed.get("file_sha256") != planned:
        return _r("fail", "the planned ruleset was never confirmed loaded here (rolled back, "
                  "or not applied)", evidence)
    if live != confirmed.get("ruleset_sha256"):
        return _r("fail", "the loaded ruleset differs from the planned one (edited or "
                  "flushed since it was confirmed)", evidence)
    return _r("pass", "the loaded ruleset is the planned one", evidence)


def check_clock(spec: Doc, ev: Doc) -> Doc:
    adj = ev.get("adjtimex")
    evidence = {"adjtimex": adj, "chronyc_tracking": ev.get("chronyc")}
    if adj is None:
        return _r("absent", "adjtimex unavailable", evidence)
    if adj["state"] == TIME_ERROR or adj["status"] & STA_UNSYNC:
        return _r("fail", "the kernel clock is not synchronized (adjtimex TIME_ERROR / "
                  "STA_UNSYNC)", evidence)
    if adj["maxerror_us"] > MAX_CLOCK_ERROR_US:
        return _r("fail", f"clock error bound {adj['maxerror_us']} us over "
                  f"{MAX_CLOCK_ERROR_US} us", evidence)
    return _r("pass", f"synchronized, error bound {adj['maxerror_us']} us", evidence)


CHECKS = {"gpu": check_gpu, "ib": check_ib, "ipoib": check_ipoib, "nfs": check_nfs,
          "firewall": check_firewall, "clock": check_clock}


def evaluate(spec: Doc, ev: Doc, now: float) -> Doc:
    """The node's result: every check, and the verdict (unhealthy: a check failed;
    unverified: none failed but one could not look)."""
    checks = {name: fn(spec, ev) for name, fn in CHECKS.items()}
    states = {c["status"] for c in checks.values()}
    status = "unhealthy" if "fail" in states else "unverified" if "absent" in states \
        else "healthy"
    return {"format": 1, "host": spec.get("host"), "build": spec.get("build"), "at": now,
            "at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "status": status, "checks": checks}


# ---------------------------------------------------------------- reading the node

def _run(*cmd: str) -> subprocess.CompletedProcess[str] | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return None


def _adjtimex() -> Doc | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(256)  # struct timex, modes 0: read only
        state = libc.adjtimex(buf)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    maxerror = int.from_bytes(buf.raw[24:32], sys.byteorder, signed=True)
    status = int.from_bytes(buf.raw[40:44], sys.byteorder, signed=True)
    return {"state": state, "status": status, "maxerror_us": maxerror}


def gather(spec: Doc) -> Doc:
    ev: Doc = {}
    smi = _run("nvidia-smi", "--query-gpu=index,ecc.errors.uncorrected.volatile.total",
               "--format=csv,noheader,nounits")
    ev["nvidia_smi"] = smi.stdout if smi is not None and smi.returncode == 0 else None
    ev["proc_gpus"] = sorted(os.listdir("/proc/driver/nvidia/gpus")) \
        if os.path.isdir("/proc/driver/nvidia/gpus") else []
    dmesg = _run("dmesg")
    ev["kernel_log"] = dmesg.stdout if dmesg is not None and dmesg.returncode == 0 else None
    ev["ib_class"] = os.path.isdir("/sys/class/infiniband")
    ports = {}
    for p in spec.get("ib", []):
        base = f"/sys/class/infiniband/{p['device']}/ports/{p['port']}"
        state, rate = _read(f"{base}/state"), _read(f"{base}/rate")
        if state is not None:
            ports[f"{p['device']}/{p['port']}"] = {"state": state.strip(),
                                                   "rate": (rate or "").strip()}
    ev["ib_ports"] = ports
    ip = _run("ip", "-j", "addr", "show")
    try:
        ev["ip_addr"] = json.loads(ip.stdout) if ip is not None and ip.returncode == 0 else []
    except ValueError:
        ev["ip_addr"] = []
    ev["mountinfo"] = _read("/proc/self/mountinfo") or ""
    nft = _run("nft", "-j", "list", "ruleset")
    if nft is None or nft.returncode != 0:
        ev["nft_live_sha256"] = None
        ev["nft_error"] = "no nft" if nft is None else nft.stderr.strip()[-200:]
    else:
        ev["nft_live_sha256"] = canonical_hash(nft.stdout)
    confirmed = _read(FW_CONFIRMED)
    try:
        ev["fw_confirmed"] = json.loads(confirmed) if confirmed else None
    except ValueError:
        ev["fw_confirmed"] = None
    ev["adjtimex"] = _adjtimex()
    chrony = _run("chronyc", "-n", "tracking")
    ev["chronyc"] = chrony.stdout if chrony is not None and chrony.returncode == 0 else None
    return ev


def main(argv: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="rscctl-health")
    p.add_argument("--spec", default=SPEC)
    p.add_argument("--out", default=RESULT)
    a = p.parse_args(argv)
    with open(a.spec) as fh:
        spec = json.load(fh)
    result = evaluate(spec, gather(spec), time.time())
    text = json.dumps(result, indent=1, sort_keys=True) + "\n"
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, a.out)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
