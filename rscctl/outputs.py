"""Write output files: one file atomically, or a whole output set as one switch.

`write_output_set` is what `rscctl plan` and `rscctl export` use: everything is rendered first,
written into a staging directory beside the output directory (same parent, so the same file
system), and switched in with one rename. Linux's renameat2(RENAME_EXCHANGE) swaps the staging
directory and the current one in one system call, so at every instant the output directory
holds exactly the old set or exactly the new one, even under SIGKILL; the old tree (now under
the staging name) is removed afterwards, and whatever an interrupted run left beside the output
directory is removed (or, for the fallback's half-switch, put back) at the next start.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Collection, Mapping
from fnmatch import fnmatchcase
from pathlib import Path

from rscctl.errors import UserError

Files = dict[str, bytes]

REPO = Path(__file__).resolve().parents[1]
FILE_MODE = 0o644

# Which kind writes which paths of an output set, most specific first (fnmatch: * spans '/').
# `--only KIND` replaces exactly the files of the set that match KIND here; a test renders every
# kind of the shipped builds and checks each file matches its own kind.
OWNERS: tuple[tuple[str, str], ...] = (
    ("plan.json", "plan"),
    ("devices.csv", "csv"), ("cabling.csv", "csv"), ("bom.csv", "csv"), ("addresses.csv", "csv"),
    ("cabling.xlsx", "xlsx"),
    ("labels.csv", "labels"), ("labels.pdf", "labels"),
    ("drawings/*", "drawings"),
    ("index.html", "html"),
    ("fabric/*", "fabric"),
    ("netbox/*", "netbox"),
    ("firewall/*", "firewall"),
    ("ansible/inventory/firewall.yml", "firewall"),
    ("ansible/inventory/group_vars/*/firewall.json", "firewall"),
    ("ansible/*", "ansible"),
    ("hosts", "hosts"),
    ("dns/*", "dns"),
    ("nfs/*", "nfs"),
    ("growth/*", "growth"),  # rscctl plan --from / rscctl diff (rscctl.growth.export)
)
_TOP_LEVEL = {p.split("/")[0] for p, _ in OWNERS}
_LEFTOVER = re.compile(r"\.(?P<name>.+)\.(?P<what>staging|old)-(?P<pid>[0-9]+)")


def owner(rel: str) -> str | None:
    """The kind that writes this path of an output set, None for a path no kind writes."""
    return next((kind for pattern, kind in OWNERS if fnmatchcase(rel, pattern)), None)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_files(out_dir: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Add files under out_dir, each atomically, leaving the rest alone (tests, scratch dirs).

    The CLI writes whole sets with write_output_set instead."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out_dir}: cannot create the output directory ({exc.strerror})") from None
    written = []
    for rel in sorted(files):
        target = out_dir / rel
        try:
            write_atomic(target, files[rel])
        except OSError as exc:
            raise UserError(f"{target}: cannot write ({exc.strerror})") from None
        written.append(target)
    return written


# -- where a set may go ----------------------------------------------------------------------

def _looks_like_output(path: Path) -> bool:
    """An rscctl output set: it has a plan.json, or it holds only names some kind writes."""
    try:
        names = os.listdir(path)
    except OSError:
        return False
    return "plan.json" in names or all(n in _TOP_LEVEL for n in names)


def check_out_dir(out_dir: Path) -> Path:
    """The output directory, resolved, if a set may replace it; else a UserError with the fix.

    Replacing a directory removes what is in it, so `--out .` in a checkout, `--out ~` or
    `--out /` must never get that far.
    """
    fix = "choose an output directory of its own, e.g. --out out/BUILD"
    real = Path(os.path.realpath(out_dir))
    cwd = Path.cwd().resolve()
    guarded = {REPO, cwd, *REPO.parents, *cwd.parents}   # / included
    with contextlib.suppress(KeyError, RuntimeError):  # no home directory: none to guard
        guarded.add(Path.home().resolve())
    if real in guarded:
        raise UserError(f"--out {out_dir}: would replace {real} (the repository, the current "
                        f"or home directory, or one of their parents) as a whole; {fix}")
    for parent in reversed(real.parents):
        if parent.exists() and not parent.is_dir():
            raise UserError(f"--out {out_dir}: {parent} is a file, not a directory; {fix}")
    if real.exists():
        if not real.is_dir():
            raise UserError(f"--out {out_dir}: a file, not a directory; {fix}")
        if (real / ".git").exists():
            raise UserError(f"--out {out_dir}: a git work tree, which a set would replace; {fix}")
        if not _looks_like_output(real):
            raise UserError(
                f"--out {out_dir}: not empty and not an rscctl output (no plan.json), and "
                f"writing a set replaces the directory as a whole; {fix}, or empty it first")
    return real


def _check_paths(files: Collection[str]) -> set[str]:
    """Every path relative, below the set, and no path both a file and a directory; the
    set's directories back (strings, not Path objects: phase 2 has ~7,700 files)."""
    dirs: set[str] = set()
    for rel in files:
        parts = rel.split("/")
        if rel.startswith("/") or "\0" in rel or any(x in ("", ".", "..") for x in parts):
            raise UserError(f"output path {rel!r}: not a plain path inside the output directory")
        d = rel.rpartition("/")[0]
        while d and d not in dirs:
            dirs.add(d)
            d = d.rpartition("/")[0]
    clash = sorted(dirs.intersection(files))
    if clash:
        raise UserError(f"output path {clash[0]!r}: both a file and a directory of the set")
    return dirs


def _kind_of(path: str) -> int | None:
    try:
        return os.lstat(path).st_mode
    except FileNotFoundError:
        return None


def _check_blocking(real: Path, files: Collection[str], dirs: set[str]) -> None:
    """A file of the current set where the new set needs a directory (or the other way round)
    is something rscctl did not write: refuse it before anything changes."""
    base = f"{real}/"
    missing: set[str] = set()
    for d in sorted(dirs):                        # a parent sorts before its children
        if d.rpartition("/")[0] in missing:
            missing.add(d)
            continue
        mode = _kind_of(base + d)
        if mode is None:
            missing.add(d)
        elif not stat.S_ISDIR(mode):
            raise UserError(f"{base + d}: a file where the directory {d}/ of the new set "
                            "goes; remove it, or choose another --out")
    for rel in sorted(files):
        parent = rel.rpartition("/")[0]
        if parent in missing:
            continue
        mode = _kind_of(base + rel)
        if mode is not None and stat.S_ISDIR(mode):
            raise UserError(f"{base + rel}: a directory where the file {rel} of the new set "
                            "goes; remove it, or choose another --out")


# -- leftovers of an interrupted run ---------------------------------------------------------

def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(real: Path) -> None:
    """Remove the staging and old trees of earlier runs into `real` (only names of our pattern,
    beside it, of processes no longer running); a half-switched fallback is put back first."""
    parent = real.parent
    try:
        names = os.listdir(parent)
    except OSError:
        return
    mine = [m for m in map(_LEFTOVER.fullmatch, names)
            if m and m["name"] == real.name and not _alive(int(m["pid"]))]
    olds = [m for m in mine if m["what"] == "old"]
    if not os.path.lexists(real) and len(olds) == 1:  # killed between the fallback's renames
        os.rename(parent / olds[0].group(0), real)
        mine.remove(olds[0])
    for m in mine:
        shutil.rmtree(parent / m.group(0), ignore_errors=True)


# -- the switch ------------------------------------------------------------------------------

AT_FDCWD = -100
RENAME_EXCHANGE = 2
_Renameat2 = Callable[[int, bytes, int, bytes, int], int]


def _load_renameat2() -> _Renameat2 | None:
    """libc's renameat2 (glibc 2.28+), or None where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2: _Renameat2 | None = _load_renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one system call; False when this system cannot (no renameat2,
    or a file system without RENAME_EXCHANGE), so the caller falls back to two renames."""
    if _renameat2 is None:
        return False
    if _renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _switch(staging: Path, real: Path) -> Path | None:
    """Put staging in real's place; the old tree's path (to remove), None if there was none."""
    if not os.path.lexists(real):
        os.rename(staging, real)
        return None
    if exchange(staging, real):
        return staging                                   # now holds the old set
    old = real.parent / f".{real.name}.old-{os.getpid()}"
    os.rename(real, old)                                 # a kill here: put back at next start
    try:
        os.rename(staging, real)
    except OSError:
        os.rename(old, real)
        raise
    return old


def _copy_kept(real: Path, staging: Path, drop: Callable[[str], bool]) -> None:
    """The current set's files into staging, hard-linked (files are only ever replaced by
    rename, never changed in place), except those `drop` names."""
    for root, dirs, names in os.walk(real):
        rel_root = os.path.relpath(root, real)
        dirs.sort()
        for name in sorted(names):
            rel = name if rel_root == "." else f"{rel_root}/{name}"
            if drop(rel):
                continue
            src, dst = os.path.join(root, name), staging / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
                continue
            try:
                os.link(src, dst, follow_symlinks=False)
            except OSError:
                shutil.copy2(src, dst)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_into(staging: Path, files: Mapping[str, bytes], dirs: set[str],
                fresh: bool) -> None:
    """Every file into staging, 0644. fresh: staging holds nothing yet (no kept links)."""
    base = f"{staging}/"
    for d in sorted(dirs):                         # parents first
        with contextlib.suppress(FileExistsError):
            os.mkdir(base + d)
    chmod = FILE_MODE & ~_umask() != FILE_MODE   # 0644 whatever the umask; a chmod if needed
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for rel in sorted(files):
        path = base + rel
        if not fresh and os.path.lexists(path):   # a kept link: never write through it
            os.unlink(path)
        fd = os.open(path, flags, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            if chmod:
                os.fchmod(fd, FILE_MODE)
            fh.write(files[rel])


def write_output_set(out_dir: Path, files: Mapping[str, bytes],
                     kinds: Collection[str] | None = None) -> Path:
    """Replace out_dir as a whole by the set `files`; its resolved path back.

    kinds None: the directory afterwards holds exactly `files`. kinds given (`--only`): the
    current set with the files of those kinds (see OWNERS) replaced by `files`, everything
    else kept. On any error the current set is left as it was.
    """
    dirs = _check_paths(files)
    real = check_out_dir(out_dir)
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out_dir}: cannot create {real.parent} ({exc.strerror})") from None
    clean_leftovers(real)
    exists = real.is_dir()
    if exists:
        _check_blocking(real, files, dirs)
    staging = real.parent / f".{real.name}.staging-{os.getpid()}"
    try:
        os.mkdir(staging)
        if exists:
            os.chmod(staging, stat.S_IMODE(os.stat(real).st_mode))
            if kinds is not None:
                wanted = set(kinds)
                _copy_kept(real, staging, lambda rel: rel in files or owner(rel) in wanted)
        _write_into(staging, files, dirs, fresh=not (exists and kinds is not None))
        old = _switch(staging, real)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        where = exc.filename or staging
        raise UserError(f"--out {out_dir}: cannot write the output set ({where}: "
                        f"{exc.strerror}); nothing changed") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return real


__all__ = ["OWNERS", "Files", "check_out_dir", "clean_leftovers", "exchange", "owner",
           "write_atomic", "write_files", "write_output_set"]
