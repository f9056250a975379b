"""`rscctl apply`: playbooks/site.yml through ansible-runner, batch after batch.

Each run gets a folder (RUNS/BUILD/STAMP/): `inventory/` (the plugin's source file naming the
plan, and the connection settings as group_vars), one ansible-runner private data dir per
batch (its artifacts: events, stdout, stats) and `summary.json`, which `--last` prints again.

SSH: host keys are checked (ANSIBLE_HOST_KEY_CHECKING=True, which ansible-runner would
otherwise turn off, StrictHostKeyChecking=yes), keepalives on (a dead node is reported
unreachable in seconds, not after TCP's minutes), and every host but the bastion is reached
through it (ProxyJump), as the isolation policy allows SSH only from the bastion.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rscctl.apply.batches import Batch, failed_beyond, make_batches
from rscctl.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "site.yml"
CONFIG = ROOT / "ansible.cfg"
LINUX_GROUP = "linux_host"
BASTION_GROUP = "bastion"
SUMMARY = "summary.json"
# Role settings for the lab's containers: no systemd inside, podman's bind-mounted /etc files.
LAB_VARS: dict[str, Any] = {"base_services": False, "base_unsafe_writes": True,
                            "fabric_services": False, "nfs_tls_systemd": False,
                            "firewall_service_enabled": False}
_STAMP = re.compile(r"^\d{8}-\d{6}-\d+$")

Say = Callable[[str], None]


@dataclass(frozen=True)
class Access:
    """How the controller reaches the hosts."""

    ssh_config: Path | None = None
    known_hosts: Path | None = None
    user: str | None = None
    key: Path | None = None
    bastion: str | None = None


@dataclass
class Options:
    build: str
    plan: Path
    runs_dir: Path
    access: Access = field(default_factory=Access)
    limit: str | None = None
    tags: str | None = None
    check: bool = False
    diff: bool = False
    forks: int = 50
    batch: str = "su"
    canary: bool = True  # one GPU node alone first (--no-canary: a re-run on a known-good set)
    max_fail: float = 0.0
    extra_vars: dict[str, Any] = field(default_factory=dict)
    timeout: int = 3600
    # Ansible settings over the project's (benchmarks/apply_bench.py runs stock ones).
    env: dict[str, str] = field(default_factory=dict)
    playbook: Path = PLAYBOOK
    # Safety nets (rscctl/apply/confirm.py, isolation.py): 0 s = no confirm, no rollback.
    confirm_timeout: int = 120
    prove: bool = True


@dataclass
class HostResult:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    batch: str = ""
    rolled_back: int = 0  # the node undid its unconfirmed firewall change

    @property
    def status(self) -> str:
        if self.rolled_back:
            return "rolled back"
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "failed"
        return "changed" if self.changed else "ok"


@dataclass
class Summary:
    build: str
    run_dir: str
    check: bool
    batches: list[dict[str, Any]] = field(default_factory=list)
    hosts: dict[str, HostResult] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)
    stopped: str = ""
    seconds: float = 0.0
    isolation: dict[str, Any] = field(default_factory=dict)  # rscctl/apply/isolation.py

    @property
    def succeeded(self) -> bool:
        return not self.not_run and all(h.status in ("ok", "changed")
                                        for h in self.hosts.values()) \
            and self.isolation.get("proved", True) is True

    def to_json(self) -> str:
        doc = {**asdict(self), "succeeded": self.succeeded}
        return json.dumps(doc, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Summary:
        d = json.loads(text)
        hosts = {h: HostResult(**v) for h, v in d.pop("hosts").items()}
        d.pop("succeeded", None)
        return cls(**d, hosts=hosts)


def _ssh_words(a: Access) -> list[str]:
    """ssh options of every connection: the config, the known hosts, strict checking."""
    args = []
    if a.ssh_config:
        args += ["-F", str(a.ssh_config)]
    if a.known_hosts:
        args += ["-o", f"UserKnownHostsFile={a.known_hosts}",
                 "-o", "GlobalKnownHostsFile=/dev/null"]
    args += ["-o", "StrictHostKeyChecking=yes", "-o", "ServerAliveInterval=5",
             "-o", "ServerAliveCountMax=3", "-o", "ConnectTimeout=10"]
    for word in args:
        if any(c.isspace() or c in "'\"\\%" for c in word):
            raise UserError(f"ssh option {word!r}: paths with spaces, quotes or % cannot be "
                            "passed to ssh through Ansible; use a plainer path")
    return args


def jump_control_path(run_dir: Path) -> str:
    return f"{_control_dir(run_dir)}/jump-%C"


def _ssh_args(a: Access, jump: bool, run_dir: Path) -> str:
    """ansible_ssh_common_args. Through the bastion, every host's hop is a channel of one
    SSH connection to it (the master `open_jump` starts), not a connection of its own: sshd's
    MaxStartups (10 unauthenticated at once by default) drops connections that 30 hosts
    opening together through one bastion make."""
    words = _ssh_words(a)
    if not (jump and a.bastion):
        return " ".join(words)
    inner = ["ssh", *words, "-o", "ControlMaster=auto", "-o", "ControlPersist=300",
             "-o", f"ControlPath={jump_control_path(run_dir).replace('%', '%%')}",
             "-W", "[%h]:%p", a.bastion]
    # the hop is a plain stream (a config's ProxyUseFdpass is for its own ProxyCommand)
    return (" ".join(words) + " -o ProxyUseFdpass=no -o 'ProxyCommand=" + " ".join(inner)
            + "'")


def open_jump(a: Access, run_dir: Path) -> None:
    """Start the run's one SSH connection to the bastion (the hosts' hops share it)."""
    import subprocess

    if not a.bastion:
        return
    cmd = ["ssh", *_ssh_words(a), "-o", "ControlMaster=yes", "-o", "ControlPersist=300",
           "-o", f"ControlPath={jump_control_path(run_dir)}", "-f", "-N", a.bastion]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False,
                         stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise UserError(f"cannot reach the bastion {a.bastion}: {res.stderr.strip()[-300:]}; "
                        "check --bastion, --ssh-config and its host key")


def write_inventory(run_dir: Path, opts: Options) -> Path:
    """The run's inventory: the plugin's source file and the connection settings."""
    inv = run_dir / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    src = {"plugin": "rsc.cluster.plan", "plan": str(opts.plan.resolve())}
    (inv / f"{opts.build}.rsc.yml").write_text(
        "# written by rscctl apply for this run\n" + yaml.safe_dump(src, sort_keys=False))
    common: dict[str, Any] = {"ansible_ssh_host_key_checking": True}
    a = opts.access
    if a.user:
        common["ansible_user"] = a.user
    if a.key:
        common["ansible_ssh_private_key_file"] = str(a.key)
    every = {**common, "ansible_ssh_common_args": _ssh_args(a, jump=True, run_dir=run_dir)}
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump(every, sort_keys=True))
    direct = {"ansible_ssh_common_args": _ssh_args(a, jump=False, run_dir=run_dir)}
    (inv / "group_vars" / f"{BASTION_GROUP}.yml").write_text(yaml.safe_dump(direct))
    return inv


def _control_dir(run_dir: Path) -> Path:
    """SSH masters of this run: shared by its batches, never by another run, whose new
    connections must check the host keys again (a reused master would skip the check).
    Short, under /tmp: a unix socket path holds 108 bytes."""
    link = run_dir / "ssh-control"
    if not link.is_symlink():
        link.symlink_to(tempfile.mkdtemp(prefix="rscctl-cp-"))
    return Path(os.readlink(link))


def _env(run_dir: Path) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    cp = _control_dir(run_dir)
    return {
        "ANSIBLE_CONFIG": str(CONFIG),
        # ansible-runner sets it to False unless told: keep host keys checked.
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_HOME": str(run_dir / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(run_dir / "ansible-tmp"),
        # One SSH master per host, reused by the run's batches.
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(cp),
        "ANSIBLE_ROLES_PATH": str(ROOT / "playbooks" / "roles"),
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
    }


def resolve_hosts(inv: Path, run_dir: Path, opts: Options) -> list[str]:
    """The Linux hosts the run targets, by Ansible's own pattern rules for --limit
    (`ansible linux_host --list-hosts`, which loads the inventory through the plugin)."""
    import subprocess

    cmd = [str(Path(sys.executable).parent / "ansible"), LINUX_GROUP, "-i", str(inv),
           "--list-hosts"]
    if opts.limit:
        cmd += ["--limit", opts.limit]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False,
                         env={**os.environ, **_env(run_dir)}, cwd=ROOT)
    lines = res.stdout.splitlines()
    if res.returncode != 0 or not lines or not lines[0].strip().startswith("hosts ("):
        if "no hosts to target" in res.stderr:
            raise UserError(f"--limit {opts.limit!r} matches none of the plan's Linux hosts "
                            f"(group {LINUX_GROUP}); see `ansible-inventory -i inventory/"
                            f"{opts.build}.rsc.yml --graph`")
        err = [ln for ln in res.stderr.splitlines() if ln.strip()]
        raise UserError(f"inventory of {opts.plan}: {err[-1] if err else 'unreadable'}")
    return [ln.strip() for ln in lines[1:] if ln.strip()]


def _stats(runner: Any) -> dict[str, dict[str, int]]:
    stats = runner.stats or {}
    return {k: dict(stats.get(k) or {}) for k in ("ok", "changed", "failures", "dark",
                                                   "skipped")}


def run_batch(run_dir: Path, i: int, batch: Batch, inv: Path, opts: Options,
              say: Say) -> dict[str, HostResult]:
    import ansible_runner

    private = run_dir / f"batch-{i:03d}"
    private.mkdir()
    cmdline = " ".join(x for x in ("--check" if opts.check else "",
                                   "--diff" if opts.diff else "") if x)
    def on_event(ev: Mapping[str, Any]) -> bool:
        kind = ev.get("event", "")
        data = ev.get("event_data") or {}
        host = data.get("host", "")
        if kind == "runner_on_unreachable":
            say(f"  {host}: unreachable ({_msg(data)})")
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            say(f"  {host}: failed at '{data.get('task', '')}' ({_msg(data)})")
        return True

    kwargs: dict[str, Any] = {
        "private_data_dir": str(private), "playbook": str(opts.playbook),
        "inventory": str(inv), "limit": ",".join(batch.hosts), "forks": opts.forks,
        "envvars": {**_env(run_dir), **opts.env},
        "extravars": {"firewall_confirm_timeout": opts.confirm_timeout, **opts.extra_vars},
        "quiet": True, "event_handler": on_event,
        "timeout": opts.timeout, "ident": "run",
    }
    if opts.tags:
        kwargs["tags"] = opts.tags
    if cmdline:
        kwargs["cmdline"] = cmdline
    runner = ansible_runner.run(**kwargs)
    st = _stats(runner)
    out: dict[str, HostResult] = {}
    for h in batch.hosts:
        r = HostResult(ok=st["ok"].get(h, 0), changed=st["changed"].get(h, 0),
                       failed=st["failures"].get(h, 0), unreachable=st["dark"].get(h, 0),
                       skipped=st["skipped"].get(h, 0), batch=batch.name)
        if not any((r.ok, r.changed, r.failed, r.unreachable, r.skipped)):
            r.failed = 1  # the run ended before this host reported anything
        out[h] = r
    if runner.status not in ("successful", "failed"):
        say(f"  batch ended {runner.status} (rc {runner.rc}); see {private}/artifacts/run/stdout")
    return out


def _msg(data: Mapping[str, Any]) -> str:
    res = data.get("res") or {}
    text = str(res.get("msg") or res.get("stderr") or "").strip().splitlines()
    return text[-1][:200] if text else "no message"


def apply(opts: Options, say: Say) -> Summary:
    """Every batch in order until one fails beyond --max-fail; the summary, also on disk."""
    if not opts.plan.is_file():
        raise UserError(f"{opts.plan}: no plan here; run `rscctl plan {opts.build}` first")
    if not 0 <= opts.max_fail <= 100:
        raise UserError(f"--max-fail {opts.max_fail}: a percentage from 0 to 100")
    t0 = time.monotonic()
    run_dir = opts.runs_dir / opts.build / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    run_dir.mkdir(parents=True)
    inv = write_inventory(run_dir, opts)
    hosts = resolve_hosts(inv, run_dir, opts)
    from rscctl.apply.invcache import load

    hv = load(opts.plan)["hosts"]
    batches = make_batches(hosts, hv, opts.batch, canary=opts.canary)
    open_jump(opts.access, run_dir)
    summary = Summary(opts.build, str(run_dir), opts.check)
    from rscctl.apply import confirm, isolation

    guard = confirm.start(opts, say)
    for i, b in enumerate(batches, 1):
        say(f"batch {i}/{len(batches)}: {b.name} ({len(b.hosts)} hosts)")
        started = time.time()
        res = run_batch(run_dir, i, b, inv, opts, say)
        if guard is not None:
            confirm.after_batch(guard, res, started)
        summary.hosts.update(res)
        bad = sum(1 for r in res.values() if r.status in ("failed", "unreachable",
                                                          "rolled back"))
        summary.batches.append({"name": b.name, "hosts": len(b.hosts), "failed": bad})
        limit_pct = 0.0 if b.name.startswith("canary") else opts.max_fail
        if failed_beyond(bad, len(b.hosts), limit_pct):
            summary.stopped = (f"batch {b.name}: {bad} of {len(b.hosts)} hosts failed, more "
                               f"than --max-fail {limit_pct:g}%")
            summary.not_run = [h for later in batches[i:] for h in later.hosts]
            break
    if guard is not None:
        guard.close()
    summary.isolation = isolation.after_apply(opts, summary, say)
    summary.seconds = round(time.monotonic() - t0, 3)
    (run_dir / SUMMARY).write_text(summary.to_json())
    return summary


def last_summary(runs_dir: Path, build: str | None) -> Summary:
    """The newest run's summary (of BUILD, or of any build)."""
    roots = [runs_dir / build] if build else [p for p in runs_dir.glob("*") if p.is_dir()]
    runs = sorted((r for root in roots for r in root.glob("*") if _STAMP.match(r.name)
                   and (r / SUMMARY).is_file()), key=lambda r: (r.name.split("-")[:2],
                                                               int(r.name.split("-")[2])))
    if not runs:
        raise UserError(f"no run recorded in {runs_dir}; run `rscctl apply BUILD` first")
    return Summary.from_json((runs[-1] / SUMMARY).read_text())


def hosts_table_rows(s: Summary) -> Sequence[tuple[str, ...]]:
    rows = [(h, r.batch, r.status, str(r.ok), str(r.changed), str(r.failed),
             str(r.unreachable)) for h, r in s.hosts.items()]
    rows += [(h, "", "not run", "0", "0", "0", "0") for h in s.not_run]
    return rows
