"""The node image: a debootstrap root filesystem, imported into podman, cached by its recipe.

No registry can be reached, so the image is made here: debootstrap -> tar (the base, keyed by
suite and packages) -> unpack, customise (files, user) -> tar -> `podman import`. The image is
tagged with a hash of the whole recipe, so a changed recipe gives a new image, an unchanged one
is never rebuilt, and a changed file costs seconds, not a new debootstrap.
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
from rscctl.templating import TEMPLATES

DEFAULT_CACHE = Path("/var/cache/rscctl/lab")
CACHE_ENV = "RSCCTL_LAB_CACHE"
MIRROR_ENV = "RSCCTL_LAB_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
IMAGE_NAME = "localhost/rscctl-lab"
LAB_USER = "rscctl"

# The node's own files, shared with the Vagrantfile (templates/lab/node/).
NODE_FILES = TEMPLATES / "lab" / "node"


def _node_file(name: str) -> str:
    return (NODE_FILES / name).read_text()


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the image's content; its hash names the image."""

    suite: str = "bookworm"
    variant: str = "minbase"
    packages: tuple[str, ...] = (
        "python3", "openssh-server", "nftables", "iproute2", "sudo", "iputils-ping",
    )
    files: tuple[tuple[str, str, int], ...] = (
        ("/usr/local/sbin/lab-init", _node_file("lab-init"), 0o755),
        ("/etc/ssh/sshd_config.d/rscctl-lab.conf", _node_file("sshd_config"), 0o644),
        (f"/etc/sudoers.d/{LAB_USER}", f"{LAB_USER} ALL=(ALL) NOPASSWD: ALL\n", 0o440),
    )
    user: str = LAB_USER
    entrypoint: str = "/usr/local/sbin/lab-init"
    revision: int = 1

    def digest(self) -> str:
        """A short, stable hash of the recipe (the mirror is where, not what: not in it)."""
        return _hash(asdict(self))

    def base_digest(self) -> str:
        """Hash of what debootstrap makes: a change of files or user keeps the base."""
        return _hash({"suite": self.suite, "variant": self.variant,
                      "packages": self.packages})

    @property
    def tag(self) -> str:
        return f"{IMAGE_NAME}:{self.digest()}"


def _hash(doc: object) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
    """Recipe files and the lab user on top of the base root filesystem."""
    for rel, text, mode in recipe.files:
        target = root / rel.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        os.chmod(target, mode)
    _run(["chroot", str(root), "useradd", "--create-home", "--shell", "/bin/bash", recipe.user],
         "create the lab user in the image")


def _clean_base(root: Path) -> None:
    """No host keys shared by every node, no apt caches, no machine id."""
    for key in root.glob("etc/ssh/ssh_host_*"):
        key.unlink()
    for junk in ("var/lib/apt/lists", "var/cache/apt/archives"):
        for p in (root / junk).glob("*"):
            if p.is_file():
                p.unlink()
    for p in (root / "var/cache/apt").glob("*.bin"):
        p.unlink()
    (root / "etc/machine-id").write_text("")


def _pack(root: Path, tar: Path) -> None:
    part = tar.with_suffix(".part")
    _run(["tar", "-C", str(root), "--numeric-owner", "--xattrs", "-cf", str(part), "."],
         "pack the lab image")
    os.replace(part, tar)


def build_base(recipe: Recipe, tar: Path, log: Callable[[str], None] = print) -> None:
    """debootstrap the recipe's suite and packages, cleaned, as a tar (~1 minute, once)."""
    if os.geteuid() != 0:
        raise RscctlError("building the lab image needs root (debootstrap and chroot)")
    scratch = tar.with_suffix(".root")
    shutil.rmtree(scratch, ignore_errors=True)
    mirror = os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR
    log(f"lab image base {recipe.base_digest()}: debootstrap {recipe.suite} from {mirror} "
        "(about a minute, once)")
    try:
        _run(["debootstrap", f"--variant={recipe.variant}",
              f"--include={','.join(recipe.packages)}", recipe.suite, str(scratch), mirror],
             "build the lab image with debootstrap")
        _clean_base(scratch)
        _pack(scratch, tar)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _image_tar(recipe: Recipe, base: Path, cache: Path) -> Path:
    """The base unpacked, customised and packed again (seconds): the tar podman imports."""
    scratch = cache / f"image-{recipe.digest()}.root"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        _run(["tar", "-C", str(scratch), "--numeric-owner", "--xattrs", "-xf", str(base)],
             "unpack the lab image base")
        _customise(scratch, recipe)
        tar = cache / f"image-{recipe.digest()}.tar"
        _pack(scratch, tar)
        return tar
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def ensure_image(podman: Callable[..., subprocess.CompletedProcess[str]], recipe: Recipe,
                 log: Callable[[str], None] = print) -> str:
    """The image tag for `recipe`, made only when missing (base tar kept in the cache)."""
    if podman("image", "exists", recipe.tag, check=False).returncode == 0:
        return recipe.tag
    cache = cache_dir()
    base = cache / f"base-{recipe.base_digest()}.tar"
    with _locked(cache / "build.lock"):
        if podman("image", "exists", recipe.tag, check=False).returncode == 0:
            return recipe.tag
        if not base.is_file():
            build_base(recipe, base, log)
        log(f"lab image {recipe.digest()}: customise and podman import")
        tar = _image_tar(recipe, base, cache)
        try:
            podman("import", "--change", f'CMD ["{recipe.entrypoint}"]', str(tar), recipe.tag)
        finally:
            tar.unlink(missing_ok=True)
        _prune(podman, recipe, cache)
    return recipe.tag


def _prune(podman: Callable[..., subprocess.CompletedProcess[str]], recipe: Recipe,
           cache: Path) -> None:
    """Drop images and bases of older recipes (an image still used by a lab stays)."""
    res = podman("images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_NAME, check=False)
    old = [t for t in res.stdout.split() if t.startswith(IMAGE_NAME) and t != recipe.tag]
    if old:
        podman("rmi", *old, check=False)
    for stale in cache.glob("*.tar"):
        if stale.name != f"base-{recipe.base_digest()}.tar":
            stale.unlink(missing_ok=True)
