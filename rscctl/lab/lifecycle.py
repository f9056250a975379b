"""`lab up`, `lab status`, `lab down`: the order of the steps and their record.

up:   preflight -> image -> record layout -> namespaces -> bridge and veths -> containers ->
      host keys -> ssh_config and inventory (the operators' path under the build's policy:
      the bastion from the management host's namespace, the others through the bastion).
      Each step is recorded before the next starts; a failure tears down what was made, and a
      crash is cleaned by `down`.
down: podman calls a crashed `up` left running -> ssh clients of this lab -> every process in
      the lab's namespaces (SIGKILL) -> containers (by label and record) -> namespaces (by
      prefix and record) -> conmon settles -> record.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path

from rscctl.declare import load_build
from rscctl.errors import UserError
from rscctl.lab import access, net
from rscctl.lab.engine import EngineUnavailable, Podman
from rscctl.lab.hosts import LabHost, LabLayout, lab_layout, read_lab_plan
from rscctl.lab.image import Recipe, cache_dir, ensure_image
from rscctl.lab.state import LabState

LABEL = "rscctl.lab"
# What a node needs beyond podman's defaults: nft (NET_ADMIN), sshd's privilege separation
# (SYS_CHROOT) and its login records (AUDIT_WRITE).
CAPS = "NET_ADMIN,SYS_CHROOT,AUDIT_WRITE"
# podman calls side by side: starting a container is CPU-bound (podman, runc, conmon), so a few
# more than the cores keep them busy without piling up on podman's locks.
PARALLEL = int(os.environ.get("RSCCTL_LAB_PARALLEL", "4"))
RM_CALLS = 3
MAX_BRIDGE_PORTS = 1024  # a Linux bridge takes no more ports (lab.md)

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def engine(state_dir: Path) -> Podman:
    return Podman(state_dir.resolve(), cache_dir())


def _run_args(st: LabState, h: LabHost, image: str, all_hosts: tuple[LabHost, ...]) -> list[str]:
    pub = st.path("id_ed25519.pub").resolve()
    args = ["run", "-d", "--name", st.netns_of(h.name), "--hostname", h.name,
            "--label", f"{LABEL}={st.lab_id}", "--label", f"{LABEL}.host={h.name}",
            "--network", f"ns:{net.NETNS_DIR / st.netns_of(h.name)}",
            "--cap-add", CAPS, "--stop-timeout", "2",
            "--volume", f"{pub}:/etc/ssh/lab_authorized_keys:ro"]
    for other in all_hosts:
        args += ["--add-host", f"{other.name}:{other.address}"]
    return [*args, image]


def _check_free(st: LabState, containers: list[str]) -> None:
    leftovers = containers or net.lab_namespaces(st.prefix)
    if st.phase != "absent" or leftovers:
        what = f"recorded as {st.phase!r}" if st.phase != "absent" else "has leftovers"
        raise UserError(
            f"a lab already exists in {st.state_dir} ({what}); run `rscctl lab down"
            f" --state-dir {st.state_dir}` first")


def up(build_name: str, state_dir: Path, plan_file: Path, log: Log = _quiet,
       recipe: Recipe | None = None) -> LabState:
    """Start every host of the build's written plan; returns the recorded state (phase 'up')."""
    t0 = time.perf_counter()
    state_dir.mkdir(parents=True, exist_ok=True)
    podman = engine(state_dir)
    st = LabState.load(state_dir)
    listed = podman.preflight(*_list_args(st))
    _check_free(st, sorted(listed.stdout.split()))
    build = load_build(build_name)
    plan = read_lab_plan(build, plan_file)
    layout = lab_layout(build, plan)
    paths = access.policy_paths(plan, layout)
    if paths.warning:
        log(f"warning: {paths.warning}")
    if len(layout.hosts) + 1 > MAX_BRIDGE_PORTS:
        raise UserError(
            f"build {build.name}: {len(layout.hosts)} lab hosts, but one Linux bridge holds at "
            f"most {MAX_BRIDGE_PORTS - 1} hosts and the controller; run a smaller build")
    t_plan = time.perf_counter()
    image = ensure_image(podman, recipe or Recipe(), log)
    access.ensure_keypair(state_dir)
    st.phase, st.layout, st.image = "starting", layout, image
    st.netns = [st.switch_ns, st.controller_ns, *(st.netns_of(h.name) for h in layout.hosts)]
    st.timings = {"preflight_and_plan_s": round(t_plan - t0, 3),
                  "image_s": round(time.perf_counter() - t_plan, 3)}
    st.save()
    try:
        _start(st, podman, layout, paths, image, log)
    except BaseException:
        log("lab up failed: tearing down what was made")
        down(state_dir)
        raise
    st.timings["total_s"] = round(time.perf_counter() - t0, 3)
    st.phase = "up"
    st.save()
    return st


def _start(st: LabState, podman: Podman, layout: LabLayout, paths: access.Paths, image: str,
           log: Log) -> None:
    hosts = layout.hosts
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        st.timings[name] = round(now - t, 3)
        t = now

    net.add_namespaces(st.netns)
    net.wire(st.switch_ns, st.controller_ns, [(st.netns_of(h.name), h) for h in hosts],
             (str(layout.controller), layout.controller_prefix_len))
    log(f"network: {len(hosts)} hosts on a bridge in {st.switch_ns}")
    st.containers = [st.netns_of(h.name) for h in hosts]
    st.save()
    lap("network_s")

    started: list[LabHost] = []
    keys: dict[str, str] = {}
    all_started = threading.Event()

    def run(h: LabHost) -> None:
        podman(*_run_args(st, h, image, hosts))
        started.append(h)

    def scan_while_starting() -> None:
        """Collect keys of the nodes already started while podman starts the others."""
        while not all_started.wait(0.3):
            todo = [h for h in list(started) if str(h.address) not in keys]
            keys.update(access.scan_once(todo, st.controller_ns))

    scanner = threading.Thread(target=scan_while_starting, daemon=True)
    scanner.start()
    try:
        with ThreadPoolExecutor(max_workers=max(1, PARALLEL)) as pool:
            list(pool.map(run, hosts))
    finally:
        all_started.set()
        scanner.join()
    log(f"containers: {len(hosts)} started")
    lap("containers_s")
    keys = access.collect_host_keys(hosts, st.controller_ns, known=keys)
    proxy = access.proxy_command(net.NETNS_DIR / st.controller_ns)
    # The operators' path (access.policy_paths): the bastion from the management host's
    # namespace, the hosts behind it through it, so the policy's firewall keeps the lab open.
    proxies = {paths.bastion: access.proxy_command(net.NETNS_DIR / st.netns_of(paths.front))} \
        if paths.bastion and paths.front else {}
    jumps = {h: paths.bastion for h in paths.via_bastion} if paths.bastion else {}
    access.write_access(st.state_dir, st.lab_id, layout, keys, proxy, jumps=jumps,
                        proxies=proxies)
    log(f"ssh: {len(keys)} host keys collected into {st.path('known_hosts')}")
    lap("host_keys_s")


def _list_args(st: LabState) -> tuple[str, ...]:
    return ("ps", "-a", "--format", "{{.Names}}", "--filter", f"label={LABEL}={st.lab_id}")


def _containers(st: LabState, podman: Podman) -> list[str]:
    res = podman(*_list_args(st), check=False)
    return sorted(res.stdout.split()) if res.returncode == 0 else []


def _cmdlines() -> Iterator[tuple[int, bytes]]:
    me = os.getpid()
    for p in Path("/proc").iterdir():
        if p.name.isdigit() and int(p.name) != me:
            try:
                yield int(p.name), (p / "cmdline").read_bytes()
            except OSError:
                continue


def _ssh_clients(state_dir: Path) -> list[int]:
    """Processes (ssh masters left by Ansible's ControlPersist) using this lab's ssh_config."""
    needle = str(state_dir.resolve() / "ssh_config").encode()
    return [pid for pid, cmd in _cmdlines() if needle in cmd]


def _engine_calls(st: LabState) -> list[int]:
    """podman processes still making this lab's containers (left running by a crashed up)."""
    label = f"{LABEL}={st.lab_id}".encode()
    return [pid for pid, cmd in _cmdlines()
            if cmd.split(b"\0", 1)[0].endswith(b"podman") and label in cmd]


def _in_namespaces(names: list[str]) -> list[int]:
    """Processes still inside any of the lab's network namespaces."""
    inodes = set()
    for n in names:
        with contextlib.suppress(OSError):
            inodes.add(os.stat(net.NETNS_DIR / n).st_ino)
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(p / "ns/net").st_ino in inodes:
                    pids.append(int(p.name))
    return pids


def _kill(pids: list[int], sig: signal.Signals, wait_s: float = 0.0) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + wait_s
    while wait_s and time.monotonic() < deadline:
        if all(_zombie(pid) for pid in pids):
            return
        time.sleep(0.05)


def _zombie(pid: int) -> bool:
    """Gone or a zombie (a zombie holds nothing; its parent reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


@dataclass(frozen=True)
class DownReport:
    containers: int
    namespaces: int
    ssh_clients: int
    seconds: float


def down(state_dir: Path) -> DownReport:
    """Remove everything of the lab in `state_dir`, recorded or not. Safe to repeat.

    Order: podman calls a crashed `up` left running, ssh clients, containers, any process
    still inside a lab namespace, the namespaces, the record.
    """
    t0 = time.perf_counter()
    if os.geteuid() != 0:
        raise EngineUnavailable("lab down needs root, as lab up did; run `sudo rscctl lab down`")
    podman = engine(state_dir)
    podman.write_config()
    st = LabState.load(state_dir)
    _kill(_engine_calls(st), signal.SIGKILL, wait_s=5)
    clients = _ssh_clients(state_dir)
    _kill(clients, signal.SIGTERM)
    names = sorted(set(_containers(st, podman)) | set(st.containers))
    spaces = sorted(set(net.lab_namespaces(st.prefix)) | {n for n in st.netns
                                                         if (net.NETNS_DIR / n).exists()})
    # Every node process dies at once (podman would stop them one by one), then podman
    # removes the stopped containers, a few calls side by side.
    _kill(_in_namespaces(spaces), signal.SIGKILL, wait_s=2)
    chunks = [names[i::RM_CALLS] for i in range(RM_CALLS) if names[i::RM_CALLS]]
    with ThreadPoolExecutor(max_workers=RM_CALLS) as pool:
        list(pool.map(lambda part: podman("rm", "--force", "--ignore", "--time", "0", *part,
                                          check=False, timeout=60), chunks))
    _kill(_in_namespaces(spaces), signal.SIGKILL, wait_s=2)
    net.delete_namespaces(spaces)
    _settle(st.prefix.encode())
    st.forget()
    return DownReport(len(names), len(spaces), len(clients), time.perf_counter() - t0)


def _settle(needle: bytes, wait_s: float = 5.0) -> None:
    """Wait for each container's conmon (it runs podman's cleanup after `rm`), then kill."""
    deadline = time.monotonic() + wait_s
    while True:
        pids = [pid for pid, cmd in _cmdlines() if needle in cmd and not _zombie(pid)]
        if not pids:
            return
        if time.monotonic() > deadline:
            _kill(pids, signal.SIGKILL, wait_s=1)
            return
        time.sleep(0.05)


def leftovers(state_dir: Path) -> list[str]:
    """Anything of this lab that still exists: containers, namespaces, mounts, processes."""
    st = LabState.load(state_dir)
    found = [f"container {c}" for c in _containers(st, engine(state_dir))]
    found += [f"namespace {n}" for n in net.lab_namespaces(st.prefix)]
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    found += [f"mount {m.split()[4]}" for m in mounts if st.prefix in m]
    needle = st.prefix.encode()
    found += [f"process {pid}" for pid, cmd in _cmdlines() if needle in cmd and not _zombie(pid)]
    return found


@dataclass(frozen=True)
class HostStatus:
    host: LabHost
    container: str
    state: str


def status(state_dir: Path) -> tuple[LabState, list[HostStatus]]:
    """The recorded lab and the state of each host's container."""
    st = LabState.load(state_dir)
    if st.layout is None:
        return st, []
    podman = engine(state_dir)
    res = podman("ps", "-a", "--format", "json", "--filter", f"label={LABEL}={st.lab_id}",
                 check=False)
    states = {c["Names"][0]: str(c["State"]) for c in json.loads(res.stdout or "[]")}
    out = [HostStatus(h, st.netns_of(h.name), states.get(st.netns_of(h.name), "missing"))
           for h in st.layout.hosts]
    return st, out


def trust(build_name: str, state_dir: Path, plan_file: Path,
          timeout: float = 180.0, only: tuple[str, ...] = ()) -> LabState:
    """For a lab of VMs (the Vagrantfile): collect host keys without namespaces.

    The VMs share a host network with the lab's in-band addresses: hosts in the controller's
    subnet are scanned directly, the zone hosts (other subnets) and, under the build's policy,
    every host the bastion may SSH to through the bastion, which is also their ProxyJump.
    `only` names the hosts that were brought up (`vagrant up A B`); the others are left out of
    known_hosts, ssh_config and the inventory. The files are those of `up` otherwise.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    build = load_build(build_name)
    plan = read_lab_plan(build, plan_file)
    layout = lab_layout(build, plan)
    if only:
        names = {h.name for h in layout.hosts}
        unknown = sorted(set(only) - names)
        if unknown:
            raise UserError(f"lab trust {build_name}: no host {unknown[0]!r} in the build's lab; "
                            f"its hosts: {', '.join(sorted(names))} (`rscctl lab hosts "
                            f"{build_name}`)")
        layout = LabLayout(layout.build, tuple(h for h in layout.hosts if h.name in only),
                           layout.controller, layout.controller_prefix_len)
    access.ensure_keypair(state_dir)
    st = LabState(state_dir, phase="vms", layout=layout)
    subnet = IPv4Network(f"{layout.controller}/{layout.controller_prefix_len}", strict=False)
    # Under the policy, the hosts the bastion may SSH to only let it in: scanned and reached
    # through the bastion like the other subnets' hosts, so trust works with the firewall on.
    paths = access.policy_paths(plan, layout)
    bastion = next((h for h in layout.hosts if h.name == paths.bastion), None)
    behind = set(paths.via_bastion) if bastion and bastion.address in subnet else set()
    near = [h for h in layout.hosts if h.address in subnet and h.name not in behind]
    far = [h for h in layout.hosts if h.address not in subnet or h.name in behind]
    hint = "see `vagrant status` and `vagrant ssh` of that VM"
    keys = access.collect_host_keys(near, None, timeout, hint=hint)
    jump = bastion.name if bastion and behind else next(
        (h.name for h in near if h.role == "bastion"), near[0].name if near else "")
    access.write_access(state_dir, st.lab_id, layout, keys, None, command="trust")
    if far:
        via = ["ssh", "-F", str(st.path("ssh_config").resolve()), jump, "--"]
        keys |= access.collect_host_keys(far, None, timeout, via=via, hint=hint)
    access.write_access(state_dir, st.lab_id, layout, keys, None, command="trust",
                        jumps={h.name: jump for h in far})
    st.save()
    return st
