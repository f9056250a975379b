"""`rscctl lab fabric up|status|down|console`: the planned compute fabric in ibsim, routed once
by OpenSM with fat-tree routing (../shared/lab.md has the measurements behind each choice).

- ibsim serves the plan's fabric/compute.topo with its own socket name (IBSIM_SOCKNAME: two
  simulators on one name fail to bind, and clients silently talk to the first), -N/-S/-P sized
  from the plan (the defaults stop at 2,048 nodes), and a console on a FIFO it holds open for
  reading and writing (an idle or closed stdin makes ibsim spin at 100% CPU; the FIFO never
  reaches end of file and takes `Unlink`/`ReLink` from `lab fabric console`).
- OpenSM sweeps once (-o) with `-R ftree -a roots.guids -u cn.guids`; the forwarding tables stay
  in the simulated switches (dump_fts, `verify routing --live` read them). "SUBNET UP" alone
  proves nothing: ftree was used only when the log says "ftree tables configured on all
  switches" and has no `ERR AB..` (else OpenSM fell back to min-hop).
- STATE/state.json records the socket name before anything starts and each pid as soon as it
  exists, so `down` finds every process of this fabric even after `up` was killed: it ends the
  processes whose environment holds this fabric's IBSIM_SOCKNAME (only they can have it), then
  waits until no socket of that name is left in /proc/net/unix.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rscctl.errors import MissingTool, UserError

DEFAULT_FABRIC_DIR = Path(".lab/fabric")
STATE_FILE = "state.json"
TOOLS = ("ibsim", "ibsim-run", "opensm")
FTREE_OK = "ftree tables configured on all switches"
OWN_FILES = frozenset({STATE_FILE, "compute.topo", "roots.guids", "cn.guids", "console",
                       "ibsim.log", "opensm.out"})
OWN_DIRS = frozenset({"osm"})


@dataclass
class FabricState:
    state_dir: Path
    build: str = ""
    sock: str = ""
    phase: str = "absent"  # starting | routing | up | failed
    ibsim_pid: int = 0
    opensm_pid: int = 0
    nodes: int = 0
    links: int = 0
    ftree: bool = False
    routing_errors: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.state_dir / name

    def save(self) -> None:
        """Rewrite state.json atomically (a crash leaves the old record or the new one)."""
        doc = {k: v for k, v in asdict(self).items() if k != "state_dir"}
        tmp = self.path(f".{STATE_FILE}.{os.getpid()}")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        tmp.replace(self.path(STATE_FILE))

    @classmethod
    def load(cls, state_dir: Path) -> FabricState:
        p = state_dir / STATE_FILE
        if not p.is_file():
            return cls(state_dir)
        try:
            doc: dict[str, Any] = json.loads(p.read_text())
            return cls(state_dir, **doc)
        except (ValueError, TypeError) as exc:
            raise UserError(f"{p}: not a fabric record of rscctl ({exc}); remove {state_dir} "
                            "after checking no simulator of it runs") from None

    def client_env(self) -> dict[str, str]:
        """What a client (ibsim-run CMD) needs to reach this simulator."""
        return {"IBSIM_SOCKNAME": self.sock}


def _need_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise MissingTool(f"{', '.join(missing)} not installed; apt-get install ibsim-utils "
                          "opensm infiniband-diags")


# -- processes and sockets of one fabric ----------------------------------------------------

def fabric_pids(sock: str) -> list[int]:
    """Processes whose environment has IBSIM_SOCKNAME=sock: this fabric's ibsim and its
    clients (opensm, ibnetdiscover, ...), whoever started them."""
    want = f"IBSIM_SOCKNAME={sock}".encode()
    out: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if want in env.split(b"\0"):
            out.append(int(entry.name))
    return sorted(out)


def fabric_sockets(sock: str) -> list[str]:
    """Abstract unix sockets of the simulator (@SOCK:ctl@, @SOCK:outN@, clients')."""
    try:
        lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return []
    names = (line.split()[-1] for line in lines if len(line.split()) >= 8)
    return sorted({n for n in names if n.startswith(f"@{sock}:")})


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _end(pids: list[int], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL what is left after `grace` seconds; reap children of ours."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
            if not any(_alive(p) for p in pids):
                return
            time.sleep(0.05)


# -- up -------------------------------------------------------------------------------------

def up(build: str, state_dir: Path = DEFAULT_FABRIC_DIR,
       log: Callable[[str], None] = lambda _: None) -> FabricState:
    """Serve BUILD's compute fabric in ibsim and route it once with OpenSM ftree."""
    from rscctl.declare import load_build
    from rscctl.export.ibfabric import ib_fabric
    from rscctl.export.ibtopo import export_fabric
    from rscctl.planner import build_plan

    _need_tools()
    state_dir = state_dir.absolute()  # ibsim and OpenSM run inside it
    old = FabricState.load(state_dir)
    if old.sock and fabric_pids(old.sock):
        raise UserError(f"a fabric of {old.build} is up in {state_dir} (socket {old.sock}); "
                        "run `rscctl lab fabric down` first")
    if old.sock:
        down(state_dir)
    start = time.perf_counter()
    plan = build_plan(load_build(build), check=False)
    fab = ib_fabric(plan)
    files = export_fabric(plan)
    state_dir.mkdir(parents=True, exist_ok=True)
    for name in ("compute.topo", "roots.guids", "cn.guids"):
        (state_dir / name).write_bytes(files[f"fabric/{name}"])
    nodes, switches, ports = fab.limits()
    st = FabricState(state_dir, build=build, sock=f"rscctl-fabric-{uuid.uuid4().hex[:12]}",
                     phase="starting", nodes=nodes, links=len(fab.links))
    st.timings["plan_s"] = round(time.perf_counter() - start, 3)
    st.save()  # the socket name is on record before any process has it
    _start_ibsim(st, (nodes, switches, ports), log)
    _route(st, log)
    st.timings["total_s"] = round(time.perf_counter() - start, 3)
    st.phase = "up" if st.ftree else "failed"
    st.save()
    return st


def _start_ibsim(st: FabricState, limits: tuple[int, int, int],
                 log: Callable[[str], None]) -> None:
    nodes, switches, ports = limits
    fifo = st.path("console")
    if fifo.exists() or fifo.is_symlink():
        fifo.unlink()
    os.mkfifo(fifo, 0o600)
    console = os.open(fifo, os.O_RDWR)  # ibsim's stdin: never at end of file, never busy
    t0 = time.perf_counter()
    with st.path("ibsim.log").open("w") as out:
        proc = subprocess.Popen(
            ["ibsim", "-s", "-N", str(nodes + 16), "-S", str(switches + 8),
             "-P", str(ports + 64), str(st.path("compute.topo"))],
            env={**os.environ, **st.client_env()}, stdin=console, stdout=out,
            stderr=subprocess.STDOUT, cwd=st.state_dir, start_new_session=True,
        )
    os.close(console)
    st.ibsim_pid = proc.pid
    st.save()
    deadline = time.monotonic() + 60 + nodes / 100
    text = ""
    while "ready" not in text:
        if proc.poll() is not None or time.monotonic() > deadline:
            _end([proc.pid])
            st.phase = "failed"
            st.save()
            raise UserError(f"ibsim did not start (see {st.path('ibsim.log')}): "
                            f"{text.strip()[-400:]}")
        time.sleep(0.05)
        text = st.path("ibsim.log").read_text(errors="replace")
    st.timings["ibsim_s"] = round(time.perf_counter() - t0, 3)
    log(f"ibsim ready: {nodes} nodes in {st.timings['ibsim_s']:.1f} s (socket {st.sock})")


def _route(st: FabricState, log: Callable[[str], None]) -> None:
    osm = st.path("osm")
    osm.mkdir(exist_ok=True)
    st.phase = "routing"
    t0 = time.perf_counter()
    env = {**os.environ, **st.client_env(), "OSM_TMP_DIR": str(osm), "OSM_CACHE_DIR": str(osm)}
    with st.path("opensm.out").open("w") as out:
        proc = subprocess.Popen(
            ["ibsim-run", "opensm", "-o", "-R", "ftree", "-a", str(st.path("roots.guids")),
             "-u", str(st.path("cn.guids")), "-f", str(osm / "osm.log")],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=osm,
            start_new_session=True,
        )
    st.opensm_pid = proc.pid
    st.save()
    try:
        code = proc.wait(timeout=1800)
    except subprocess.TimeoutExpired:
        _end([proc.pid])
        code = -1
    st.opensm_pid = 0
    st.timings["opensm_s"] = round(time.perf_counter() - t0, 3)
    text = (osm / "osm.log").read_text(errors="replace") if (osm / "osm.log").exists() else ""
    st.routing_errors = sorted({line.split(" -> ", 1)[-1].strip()[:160]
                                for line in text.splitlines() if "ERR AB" in line})[:20]
    st.ftree = code == 0 and FTREE_OK in text and not st.routing_errors
    log(f"opensm ftree: {'used' if st.ftree else 'NOT used'} in {st.timings['opensm_s']:.1f} s")


# -- status, console, down -------------------------------------------------------------------

@dataclass
class FabricStatus:
    state: FabricState
    running: bool
    pids: list[int]
    sockets: list[str]


def status(state_dir: Path = DEFAULT_FABRIC_DIR) -> FabricStatus:
    st = FabricState.load(state_dir)
    pids = fabric_pids(st.sock) if st.sock else []
    running = st.ibsim_pid in pids and _alive(st.ibsim_pid)
    return FabricStatus(st, running, pids, fabric_sockets(st.sock) if st.sock else [])


def console(command: str, state_dir: Path = DEFAULT_FABRIC_DIR, timeout: float = 10) -> str:
    """Send one command to the simulator's console (`Unlink "S-<guid>"[3]`, `ReLink ...`);
    its answer, as ibsim printed it."""
    s = status(state_dir)
    if not s.running:
        raise UserError(f"no fabric is up in {state_dir}; run `rscctl lab fabric up BUILD`")
    if "\n" in command or "\r" in command:
        raise UserError("console: one command per call (no line breaks)")
    fifo, log = s.state.path("console"), s.state.path("ibsim.log")
    if not stat.S_ISFIFO(fifo.lstat().st_mode):
        raise UserError(f"{fifo} is not the simulator's console FIFO")
    before = log.read_text(errors="replace").count("sim>")
    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, (command + "\n").encode())
    finally:
        os.close(fd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if text.count("sim>") > before:  # the prompt follows each answer
            return text.split("sim>")[before].strip()
        time.sleep(0.05)
    raise UserError(f"the simulator did not answer {command!r} in {timeout:.0f} s")


@dataclass
class DownReport:
    processes: int
    sockets_left: list[str]
    seconds: float


def down(state_dir: Path = DEFAULT_FABRIC_DIR) -> DownReport:
    """End every process of the fabric, wait for its sockets to close, remove its files."""
    t0 = time.perf_counter()
    st = FabricState.load(state_dir)
    ended = 0
    left: list[str] = []
    if st.sock:
        pids = fabric_pids(st.sock)
        _end(pids)
        ended = len(pids)
        deadline = time.monotonic() + 10
        while (left := fabric_sockets(st.sock)) and time.monotonic() < deadline:
            time.sleep(0.05)
    if not left and (state_dir / STATE_FILE).is_file():
        for p in state_dir.iterdir():
            # only what up writes: the record, fabric files, logs, the FIFO, OpenSM's dir
            if p.name in OWN_DIRS and p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.name in OWN_FILES or p.name.startswith(f".{STATE_FILE}."):
                p.unlink()
        if not any(state_dir.iterdir()):
            state_dir.rmdir()
    return DownReport(ended, left, time.perf_counter() - t0)


__all__ = ["DEFAULT_FABRIC_DIR", "DownReport", "FabricState", "FabricStatus", "console",
           "down", "fabric_pids", "fabric_sockets", "status", "up"]
