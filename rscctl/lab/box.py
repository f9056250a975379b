"""The Vagrant box of the lab's VMs: the container image's recipe plus a kernel and systemd.

No Vagrant Cloud can be reached, so the box is made here from the Debian mirror only:
debootstrap (the image's packages + systemd, a kernel, the services the roles restart) -> the
image's own files and user -> a few VM files (networkd, a fresh ed25519 host key at first boot,
the CPU-hungry timers masked) -> `mkfs.ext4 -d` (no loop device, partition or boot loader: this
host's kernel does not scan loop partitions and has no udev, lab.md) -> qcow2 -> `vagrant box
add`. The VM boots the box's own kernel and initrd directly (libvirt `kernel`/`initrd`), which
are kept next to it. Everything is cached by a hash of the recipe, outside the work tree, as the
container image is: an unchanged recipe is never rebuilt.

The libvirt objects a lab of VMs makes all carry the PREFIX, so `clean` finds what a killed run
left (domains, networks, volumes, the pool) and libvirt's LIBVIRT_* nft chains.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from rscctl.errors import RscctlError, UserError
from rscctl.lab.image import (
    DEFAULT_MIRROR,
    MIRROR_ENV,
    Recipe,
    _clean_base,
    _customise,
    _hash,
    _locked,
    _pack,
    _run,
    cache_dir,
)

BOX_NAME = "rscctl-lab"
PREFIX = "rscctl-lab"
VAGRANT_KEY = Path("/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/keys/vagrant.pub")
CMDLINE = "root=/dev/vda rw console=ttyS0 net.ifnames=0"

# Units that burn a minute of emulated CPU at boot for nothing in a lab (lab.md).
MASKED = ("e2scrub_reap.service", "e2scrub_all.timer", "apt-daily.timer",
          "apt-daily-upgrade.timer", "fstrim.timer", "systemd-timesyncd.service")

_HOSTKEY_UNIT = """\
[Unit]
Description=rscctl lab: the VM's own ed25519 host key (only that one: RSA costs ~50 s here)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key

[Install]
WantedBy=multi-user.target
"""
# Vagrant's management network (DHCP from libvirt's isolated network): no gateway, no DNS
# taken from it, so nothing in the VM routes out. Every NIC, since the kernel may name them in
# either order; the Vagrantfile's provisioner claims the lab NIC by its MAC (05-lab.network).
_MGMT_NETWORK = """\
[Match]
Type=ether

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no

[DHCPv4]
UseGateway=false
UseRoutes=false
UseDNS=false
UseNTP=false
"""
# Vagrant's net-ssh has no curve25519 (no x25519 gem in Debian): one more exchange, read before
# the image's own settings (sshd keeps a keyword's first value). OpenSSH clients still pick
# curve25519 first.
_VAGRANT_SSHD = "KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256\n"


def _vagrant_key() -> str:
    """Vagrant's well-known public key (from the Debian package), replaced at first `up`."""
    try:
        return VAGRANT_KEY.read_text()
    except OSError:
        raise RscctlError(f"{VAGRANT_KEY} is missing; apt-get install vagrant") from None


def _without_entrypoint(r: Recipe) -> Recipe:
    return replace(r, files=tuple(f for f in r.files if f[0] != r.entrypoint), entrypoint="")


@dataclass(frozen=True)
class BoxRecipe:
    """Everything that decides the box's content; its hash names the box."""

    # The container image's recipe without its PID 1 (lab-init): a VM boots systemd.
    image: Recipe = field(default_factory=lambda: _without_entrypoint(Recipe()))
    packages: tuple[str, ...] = (
        "systemd-sysv", "udev", "dbus", "linux-image-cloud-amd64", "chrony", "nfs-common",
        "rdma-core", "openssh-sftp-server",
    )
    files: tuple[tuple[str, str, int], ...] = (
        ("/etc/systemd/system/rscctl-hostkey.service", _HOSTKEY_UNIT, 0o644),
        ("/etc/systemd/network/10-mgmt.network", _MGMT_NETWORK, 0o644),
        ("/etc/ssh/sshd_config.d/00-vagrant.conf", _VAGRANT_SSHD, 0o644),
        ("/etc/fstab", "/dev/vda / ext4 errors=remount-ro 0 1\n", 0o644),
        ("/etc/hosts", "127.0.0.1 localhost\n", 0o644),
        ("/etc/hostname", "localhost\n", 0o644),
        ("/etc/resolv.conf", "", 0o644),
        ("/etc/sudoers.d/vagrant", "vagrant ALL=(ALL) NOPASSWD: ALL\n", 0o440),
    )
    # Not nftables.service: Debian ships it disabled, and its default /etc/nftables.conf
    # (table inet filter, policy accept) would stay loaded next to the planned table until
    # a reboot; the firewall role enables the service with the planned ruleset.
    enabled: tuple[str, ...] = ("systemd-networkd.service", "rscctl-hostkey.service",
                                "ssh.service")
    masked: tuple[str, ...] = MASKED
    vagrant_key: str = field(default_factory=_vagrant_key)
    disk_gb: int = 4
    cmdline: str = CMDLINE
    revision: int = 2

    def digest(self) -> str:
        return _hash(asdict(self))

    def base_digest(self) -> str:
        """What debootstrap makes (the image's suite and packages + the VM's)."""
        return _hash({"suite": self.image.suite, "variant": self.image.variant,
                      "packages": self.image.packages + self.packages})

    @property
    def name(self) -> str:
        return f"{BOX_NAME}-{self.digest()}"


@dataclass(frozen=True)
class Box:
    """A built box: its Vagrant name and the kernel the VMs boot."""

    name: str
    directory: Path
    kernel: Path
    initrd: Path
    cmdline: str

    @property
    def built(self) -> bool:
        return (self.directory / "added").is_file() and self.kernel.is_file()

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "kernel": str(self.kernel), "initrd": str(self.initrd),
                "cmdline": self.cmdline, "built": self.built, "driver": driver(self)}


DRIVER_ENV = "LAB_DRIVER"
# `rscctl apply --lab` on VMs: systemd runs, so services restart, nftables.service is enabled
# and the networkd units reload. Only the NFS mounts are written but not started: Debian 12
# has no tlshd (ktls-utils comes with 13) and a VM lab has no NFS server. Under emulation on a
# busy machine sudo can take over Ansible's 10 s to prompt (the host was reported
# unreachable): a minute. The health timer's first check 10 s after boot, not a minute (the VM
# tests wait for it after a reboot).
VM_VARS: dict[str, object] = {"nfs_tls_systemd": False, "ansible_ssh_timeout": 60,
                              "health_boot_delay": "10s"}


def kvm_runs_guest(box: Box, timeout: float = 20.0) -> bool:
    """Does a KVM guest get as far as its kernel? On this machine one hangs after the BIOS.
    Boots the box's kernel with no root under KVM (it panics, -no-reboot ends qemu) and looks
    for the kernel's first line on the serial console."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK) or shutil.which("qemu-system-x86_64") is None:
        return False
    cmd = ["qemu-system-x86_64", "-accel", "kvm", "-m", "256", "-nographic", "-no-reboot",
           "-nodefaults", "-serial", "stdio", "-kernel", str(box.kernel),
           "-append", "console=ttyS0 panic=-1 root=/dev/nonexistent"]
    try:
        res = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        out = res.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
    return b"Linux version" in out


def driver(box: Box) -> str:
    """libvirt's driver for the VMs: LAB_DRIVER, else kvm when a KVM guest boots here (probed
    once per box, result kept next to it), else qemu (software emulation)."""
    forced = os.environ.get(DRIVER_ENV)
    if forced:
        if forced not in ("kvm", "qemu"):
            raise UserError(f"{DRIVER_ENV}={forced!r}: use kvm or qemu")
        return forced
    probe = box.directory / "driver"
    if probe.is_file():
        return probe.read_text().strip()
    if not box.kernel.is_file():
        return "qemu"
    found = "kvm" if kvm_runs_guest(box) else "qemu"
    with contextlib.suppress(OSError):
        probe.write_text(found + "\n")
    return found


def box_dir() -> Path:
    return cache_dir() / "box"


def locate(recipe: BoxRecipe | None = None) -> Box:
    r = recipe or BoxRecipe()
    d = box_dir() / r.name
    return Box(r.name, d, d / "vmlinuz", d / "initrd.img", r.cmdline)


def _build_base(recipe: BoxRecipe, tar: Path, log: Callable[[str], None]) -> None:
    scratch = tar.with_suffix(".root")
    shutil.rmtree(scratch, ignore_errors=True)
    mirror = os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR
    pkgs = recipe.image.packages + recipe.packages
    log(f"lab box base {recipe.base_digest()}: debootstrap {recipe.image.suite} from {mirror} "
        "(a few minutes, once)")
    try:
        _run(["debootstrap", f"--variant={recipe.image.variant}", f"--include={','.join(pkgs)}",
              recipe.image.suite, str(scratch), mirror], "build the lab box with debootstrap")
        _clean_base(scratch)
        _pack(scratch, tar)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _customise_vm(root: Path, recipe: BoxRecipe, box: Box) -> None:
    """The image's files and user, then the VM's files, units, vagrant user, kernel."""
    _customise(root, recipe.image)
    for rel, text, mode in recipe.files:
        target = root / rel.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.write_text(text)
        os.chmod(target, mode)
    _run(["chroot", str(root), "useradd", "--create-home", "--shell", "/bin/bash", "vagrant"],
         "create the vagrant user in the box")
    ssh = root / "home/vagrant/.ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "authorized_keys").write_text(recipe.vagrant_key)
    os.chmod(ssh / "authorized_keys", 0o600)
    _run(["chroot", str(root), "chown", "-R", "vagrant:vagrant", "/home/vagrant/.ssh"],
         "own vagrant's keys")
    _run(["chroot", str(root), "systemctl", "enable", *recipe.enabled], "enable the box's units")
    # dbus made its own machine id at install time; systemd would take it at first boot
    # (every VM the same id, so the same DHCP client id and one lease for all of them).
    dbus_id = root / "var/lib/dbus/machine-id"
    dbus_id.unlink(missing_ok=True)
    dbus_id.symlink_to("/etc/machine-id")
    for unit in recipe.masked:
        link = root / "etc/systemd/system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    initrds = sorted((root / "boot").glob("initrd.img-*"))
    if not kernels or not initrds:
        raise RscctlError("the box has no kernel or initrd in /boot (linux-image-cloud-amd64)")
    shutil.copyfile(kernels[-1], box.kernel)
    shutil.copyfile(initrds[-1], box.initrd)


def _vagrant_env() -> dict[str, str]:
    """Vagrant's box commands read the Vagrantfile of VAGRANT_CWD: run them where none is."""
    env = {k: v for k, v in os.environ.items() if k != "VAGRANT_CWD"}
    return {**env, "VAGRANT_CHECKPOINT_DISABLE": "1"}


def _vagrant_add(name: str, box_file: Path) -> None:
    _run(["vagrant", "box", "add", "--force", "--name", name, str(box_file)],
         "add the lab box to Vagrant", env=_vagrant_env(), cwd=str(box_file.parent))


def ensure_box(recipe: BoxRecipe | None = None, log: Callable[[str], None] = print) -> Box:
    """The box for `recipe`, built and added to Vagrant only when missing (about 2-4 minutes;
    the debootstrap base is kept, so a changed file costs a minute, not a new debootstrap)."""
    r = recipe or BoxRecipe()
    box = locate(r)
    if box.built and _vagrant_has(box.name):
        return box
    if os.geteuid() != 0:
        raise RscctlError("building the lab box needs root (debootstrap and chroot)")
    with _locked(box_dir() / "build.lock"):
        if box.built and _vagrant_has(box.name):
            return box
        base = box_dir() / f"base-{r.base_digest()}.tar"
        if not base.is_file():
            _build_base(r, base, log)
        log(f"lab box {r.digest()}: customise, mkfs.ext4 -d, qcow2, vagrant box add")
        shutil.rmtree(box.directory, ignore_errors=True)
        box.directory.mkdir(parents=True)
        scratch = box.directory / "root"
        scratch.mkdir()
        try:
            _run(["tar", "-C", str(scratch), "--numeric-owner", "--xattrs", "-xf", str(base)],
                 "unpack the lab box base")
            _customise_vm(scratch, r, box)
            raw = box.directory / "root.raw"
            _run(["mkfs.ext4", "-q", "-F", "-L", "rscctl-root", "-d", str(scratch), str(raw),
                  f"{r.disk_gb}G"], "make the box's file system")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        pack = box.directory / "pack"
        pack.mkdir()
        _run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(pack / "box.img")],
             "convert the box's disk to qcow2")
        raw.unlink()
        (pack / "metadata.json").write_text(json.dumps(
            {"provider": "libvirt", "format": "qcow2", "virtual_size": r.disk_gb}))
        box_file = box.directory / "box.box"
        _run(["tar", "-C", str(pack), "-cf", str(box_file), "metadata.json", "box.img"],
             "pack the box")
        shutil.rmtree(pack)
        _vagrant_add(box.name, box_file)
        box_file.unlink()
        (box.directory / "added").write_text(r.digest() + "\n")
        _prune(r)
    return box


def _vagrant_has(name: str) -> bool:
    if shutil.which("vagrant") is None:
        return False
    res = subprocess.run(["vagrant", "box", "list", "--machine-readable"], text=True,
                         capture_output=True, check=False, env=_vagrant_env(), cwd="/")
    return f",box-name,{name}\n" in res.stdout + "\n"


def _prune(recipe: BoxRecipe) -> None:
    """Boxes and bases of older recipes go (from the cache and from Vagrant)."""
    for d in box_dir().glob(f"{BOX_NAME}-*"):
        if d.name != recipe.name and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
            subprocess.run(["vagrant", "box", "remove", "--force", "--all", d.name],
                           capture_output=True, check=False, env=_vagrant_env(), cwd="/")
    for t in box_dir().glob("base-*.tar"):
        if t.name != f"base-{recipe.base_digest()}.tar":
            t.unlink(missing_ok=True)


# ---- what a lab of VMs leaves in libvirt, found by name ---------------------------------

def _virsh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["virsh", "-c", "qemu:///system", *args], text=True,
                          capture_output=True, check=False)


def _names(*args: str) -> list[str]:
    res = _virsh(*args)
    return [n for n in res.stdout.split() if n.startswith(PREFIX)] if res.returncode == 0 else []


def _nft_libvirt_chains() -> list[tuple[str, str, str]]:
    """(family, table, chain) of every LIBVIRT_* chain in the host's ruleset."""
    res = subprocess.run(["nft", "-j", "list", "chains"], text=True, capture_output=True,
                         check=False)
    if res.returncode != 0:
        return []
    out = []
    for item in json.loads(res.stdout).get("nftables", []):
        c = item.get("chain")
        if c and str(c["name"]).startswith("LIBVIRT_"):
            out.append((str(c["family"]), str(c["table"]), str(c["name"])))
    return out


def leftovers() -> list[str]:
    """Every libvirt object of a lab of VMs still there (empty when clean)."""
    found = [f"domain {n}" for n in _names("list", "--all", "--name")]
    found += [f"network {n}" for n in _names("net-list", "--all", "--name")]
    for pool in _names("pool-list", "--all", "--name"):
        found.append(f"pool {pool}")
    if _virsh("pool-info", "default").returncode == 0:
        found += [f"volume default/{v}" for v in _names("vol-list", "default")]
    found += [f"nft chain {f} {t} {c}" for f, t, c in _nft_libvirt_chains()]
    return found


def _drop_nft_chains() -> None:
    """libvirt's LIBVIRT_* chains and the rules jumping to them (libvirt keeps them forever)."""
    chains = _nft_libvirt_chains()
    tables = sorted({(f, t) for f, t, _ in chains})
    for fam, table in tables:
        res = subprocess.run(["nft", "-a", "-j", "list", "table", fam, table], text=True,
                             capture_output=True, check=False)
        if res.returncode != 0:
            continue
        for item in json.loads(res.stdout).get("nftables", []):
            rule = item.get("rule")
            if rule and re.search(r'"(jump|goto)": \{"target": "LIBVIRT_', json.dumps(rule)):
                subprocess.run(["nft", "delete", "rule", fam, table, rule["chain"], "handle",
                                str(rule["handle"])], capture_output=True, check=False)
    for fam, table, chain in chains:
        subprocess.run(["nft", "flush", "chain", fam, table, chain], capture_output=True,
                       check=False)
    for fam, table, chain in chains:
        subprocess.run(["nft", "delete", "chain", fam, table, chain], capture_output=True,
                       check=False)


LIBVIRTD_PID = Path("/run/libvirtd.pid")


def _restart_libvirtd(wait_s: float = 30.0) -> None:
    """libvirtd makes its LIBVIRT_* chains once per daemon: with them gone, the next network
    start fails ("No chain/target/match") unless the daemon starts again (no systemd here:
    the one `make test` started, by its pid file)."""
    try:
        pid = int(LIBVIRTD_PID.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    subprocess.run(["libvirtd", "--daemon"], capture_output=True, check=False)
    while _virsh("version").returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.2)


def clean(log: Callable[[str], None] = print) -> list[str]:
    """Remove every libvirt object of a lab of VMs, by name prefix (also after a killed run):
    domains, their volumes, the networks, the pool, and libvirt's nft chains. Returns what
    was removed."""
    if shutil.which("virsh") is None:
        return []
    with _locked(box_dir() / "clean.lock"):  # two cleans at once would restart libvirtd twice
        return _clean(log)


def _clean(log: Callable[[str], None]) -> list[str]:
    removed = leftovers()
    for dom in _names("list", "--all", "--name"):
        _virsh("destroy", dom)
        _virsh("undefine", dom, "--remove-all-storage", "--nvram")
    for net in _names("net-list", "--all", "--name"):
        _virsh("net-destroy", net)
        _virsh("net-undefine", net)
    for pool in _names("pool-list", "--all", "--name"):
        for vol in _virsh("vol-list", pool).stdout.splitlines()[2:]:
            if vol.split():
                _virsh("vol-delete", vol.split()[0], "--pool", pool)
        _virsh("pool-destroy", pool)
        _virsh("pool-delete", pool)
        _virsh("pool-undefine", pool)
    if _nft_libvirt_chains():
        _drop_nft_chains()
        _restart_libvirtd()
    time.sleep(0.2)
    left = leftovers()
    if left:
        raise RscctlError("lab VMs: could not remove " + ", ".join(left))
    if removed:
        log("removed " + ", ".join(removed))
    return removed


def require_root() -> None:
    if os.geteuid() != 0:
        raise UserError("rscctl lab box: run as root (debootstrap, chroot, libvirt)")
