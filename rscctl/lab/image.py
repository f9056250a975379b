"""The node image: a debootstrap root filesystem, imported into podman, cached by its recipe.

No registry can be reached, so the image is made here: debootstrap -> customise -> tar ->
`podman import`. The tar and the image are keyed by a hash of the recipe (suite, packages,
files, commands), so a changed recipe gives a new image and an unchanged one is never rebuilt.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from rscctl.errors import MissingTool, RscctlError

DEFAULT_CACHE = Path("/var/cache/rscctl/lab")
CACHE_ENV = "RSCCTL_LAB_CACHE"
MIRROR_ENV = "RSCCTL_LAB_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
IMAGE_NAME = "localhost/rscctl-lab"
LAB_USER = "rscctl"

# Runs as PID 1 of every node: a fresh host key on first start, then sshd in the foreground.
ENTRYPOINT = """#!/bin/sh
set -e
if [ ! -s /etc/ssh/ssh_host_ed25519_key ]; then
    ssh-keygen -q -t ed25519 -N '' -C "$(hostname)" -f /etc/ssh/ssh_host_ed25519_key
fi
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e
"""

SSHD_CONFIG = """# rscctl lab: key login only, one ed25519 host key made at first start.
HostKey /etc/ssh/ssh_host_ed25519_key
AuthorizedKeysFile /etc/ssh/lab_authorized_keys .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
MaxStartups 200:30:400
MaxSessions 50
"""


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the image's content; its hash names the image."""

    suite: str = "bookworm"
    variant: str = "minbase"
    packages: tuple[str, ...] = (
        "python3", "openssh-server", "nftables", "iproute2", "sudo", "iputils-ping",
    )
    files: tuple[tuple[str, str, int], ...] = (
        ("/usr/local/sbin/lab-init", ENTRYPOINT, 0o755),
        ("/etc/ssh/sshd_config.d/rscctl-lab.conf", SSHD_CONFIG, 0o644),
        (f"/etc/sudoers.d/{LAB_USER}", f"{LAB_USER} ALL=(ALL) NOPASSWD: ALL\n", 0o440),
    )
    user: str = LAB_USER
    entrypoint: str = "/usr/local/sbin/lab-init"
    revision: int = 1

    def digest(self) -> str:
        """A short, stable hash of the recipe (the mirror is where, not what: not in it)."""
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def tag(self) -> str:
        return f"{IMAGE_NAME}:{self.digest()}"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def _run(cmd: list[str], what: str, **kw: object) -> subprocess.CompletedProcess[str]:
    if shutil.which(cmd[0]) is None:
        raise MissingTool(f"{cmd[0]} is not installed; it is needed to {what} "
                          f"(Debian: apt-get install {cmd[0]})")
    res = subprocess.run(cmd, text=True, capture_output=True, check=False, **kw)  # type: ignore[call-overload]
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-5:]
        raise RscctlError(f"{what} failed ({' '.join(cmd[:3])} ...: rc {res.returncode}): "
                          + " | ".join(tail))
    return res  # type: ignore[no-any-return]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One image build at a time per cache (two test sessions may start together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _customise(root: Path, recipe: Recipe) -> None:
    """Recipe files, the lab user, no shared host keys, no apt caches."""
    for key in root.glob("etc/ssh/ssh_host_*"):
        key.unlink()
    for rel, text, mode in recipe.files:
        target = root / rel.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        os.chmod(target, mode)
    _run(["chroot", str(root), "useradd", "--create-home", "--shell", "/bin/bash", recipe.user],
         "create the lab user in the image")
    for junk in ("var/lib/apt/lists", "var/cache/apt/archives"):
        for p in (root / junk).glob("*"):
            if p.is_file():
                p.unlink()
    for p in (root / "var/cache/apt").glob("*.bin"):
        p.unlink()
    (root / "etc/machine-id").write_text("")


def build_tar(recipe: Recipe, tar: Path, log: Callable[[str], None] = print) -> None:
    """debootstrap the recipe into a scratch dir beside `tar`, customise, pack (~50 s)."""
    if os.geteuid() != 0:
        raise RscctlError("building the lab image needs root (debootstrap and chroot)")
    scratch = tar.with_suffix(".root")
    shutil.rmtree(scratch, ignore_errors=True)
    mirror = os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR
    log(f"lab image {recipe.digest()}: debootstrap {recipe.suite} from {mirror} (about a minute)")
    try:
        _run(["debootstrap", f"--variant={recipe.variant}",
              f"--include={','.join(recipe.packages)}", recipe.suite, str(scratch), mirror],
             "build the lab image with debootstrap")
        _customise(scratch, recipe)
        part = tar.with_suffix(".tar.part")
        _run(["tar", "-C", str(scratch), "--numeric-owner", "--xattrs", "-cf", str(part), "."],
             "pack the lab image")
        os.replace(part, tar)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def ensure_image(podman: Callable[..., subprocess.CompletedProcess[str]], recipe: Recipe,
                 log: Callable[[str], None] = print) -> str:
    """The image tag for `recipe`, built or imported only when missing. Returns the tag."""
    if podman("image", "exists", recipe.tag, check=False).returncode == 0:
        return recipe.tag
    cache = cache_dir()
    tar = cache / f"rootfs-{recipe.digest()}.tar"
    with _locked(cache / "build.lock"):
        if podman("image", "exists", recipe.tag, check=False).returncode == 0:
            return recipe.tag
        if not tar.is_file():
            build_tar(recipe, tar, log)
        log(f"lab image {recipe.digest()}: podman import")
        podman("import", "--change", f'CMD ["{recipe.entrypoint}"]', str(tar), recipe.tag)
    return recipe.tag
