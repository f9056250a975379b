"""Class 7 of issue 9: the secrets directory.

Keys and certificates 0600 and directories 0700 whatever the umask (parents rscctl creates
included); a file found wider on a re-run is narrowed to 0600 with a warning (the key is kept);
a symbolic link, another user's file, `--secrets FILE` or a directory where a key belongs is
exit 2 with one message and nothing written.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from rscctl.cli import main
from tests.conftest import write_build
from tests.netbuild import net_build_dict


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A build with storage (so nodes get certificates) and its plan.json."""
    src = tmp_path_factory.mktemp("secrets-build")
    build = write_build(src, net_build_dict(name="sec"))
    out = src / "out"
    assert main(["plan", str(build), "--out", str(out), "--only", "plan"]) == 0
    return build, out


@pytest.fixture(scope="module")
def made(planned: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete secrets directory, made once; tests copy it."""
    root = tmp_path_factory.mktemp("secrets-made") / "sec"
    assert main(["pki", str(planned[0]), "--out", str(planned[1]), "--secrets", str(root)]) == 0
    return root


def _pki(planned: tuple[Path, Path], root: Path) -> int:
    return main(["pki", str(planned[0]), "--out", str(planned[1]), "--secrets", str(root)])


def _state(root: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every path under root with its mode and content (a link's target), to compare."""
    out: dict[str, tuple[int, bytes | str]] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        body: bytes | str = (os.readlink(p) if p.is_symlink() else
                             b"" if p.is_dir() else p.read_bytes())
        out[str(p.relative_to(root))] = (stat.S_IMODE(st.st_mode), body)
    return out


def _copy(made: Path, tmp_path: Path) -> Path:
    root = tmp_path / "work" / "sec"
    shutil.copytree(made, root, symlinks=True)
    return root


def test_modes_are_0600_and_0700_under_umask_000(
    planned: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under umask 000 mkdir(parents=True) would make 0777 parents: every directory rscctl
    creates, the missing parents included, is 0700 and every file 0600."""
    top = tmp_path / "a"
    root = top / "b" / "c" / "sec"
    old = os.umask(0)
    try:
        assert _pki(planned, root) == 0
    finally:
        os.umask(old)
    capsys.readouterr()
    for p in [top, top / "b", top / "b" / "c", root, *root.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), f"{p}: {mode:04o}"


@pytest.mark.parametrize("rel", ["ca.key", "nodes/dgx0001.key", "nodes/dgx0001.pem", ".",
                                 "nodes"])
def test_a_wider_mode_is_narrowed_with_a_warning(
    made: Path, planned: tuple[Path, Path], tmp_path: Path, rel: str,
    capsys: pytest.CaptureFixture[str]
) -> None:
    """Chosen: fix it and say so (the key is kept: rotating would break every mount)."""
    root = _copy(made, tmp_path)
    target = root / rel
    before = target.read_bytes() if target.is_file() else None
    wide = 0o755 if target.is_dir() else 0o644
    os.chmod(target, wide)
    assert _pki(planned, root) == 0
    cap = capsys.readouterr()
    want = 0o700 if target.is_dir() else 0o600
    assert stat.S_IMODE(target.stat().st_mode) == want
    flat = " ".join(cap.err.split())
    assert "warning:" in flat and f"mode {wide:04o}, now {want:04o}" in flat, flat
    assert str(root if rel == "." else target) in flat, flat
    assert "0 created, 0 re-issued, 0 rotated" in cap.out
    if before is not None:
        assert target.read_bytes() == before, "the key must be kept"


def _link_key(root: Path) -> None:
    key = root / "nodes" / "dgx0001.key"
    (root.parent / "elsewhere.key").write_bytes(key.read_bytes())
    key.unlink()
    key.symlink_to(root.parent / "elsewhere.key")


def _link_ca(root: Path) -> None:
    (root / "ca.key").unlink()
    (root / "ca.key").symlink_to("/etc/hostname")


def _link_nodes(root: Path) -> None:
    shutil.move(root / "nodes", root.parent / "nodes-elsewhere")
    (root / "nodes").symlink_to(root.parent / "nodes-elsewhere")


def _dir_for_key(root: Path) -> None:
    (root / "nodes" / "dgx0002.key").unlink()
    (root / "nodes" / "dgx0002.key").mkdir(mode=0o700)


Mutate = Callable[[Path], None]


@pytest.mark.parametrize(("case", "mutate", "words"), [
    ("symlinked-node-key", _link_key, ["nodes/dgx0001.key", "symbolic link"]),
    ("symlinked-ca-key", _link_ca, ["ca.key", "symbolic link"]),
    ("symlinked-nodes-dir", _link_nodes, ["nodes", "symbolic link"]),
    ("directory-for-a-key", _dir_for_key, ["dgx0002.key", "a directory where a secret"]),
])
def test_refused_and_nothing_written(
    made: Path, planned: tuple[Path, Path], tmp_path: Path, case: str, mutate: Mutate,
    words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy(made, tmp_path)
    mutate(root)
    before = _state(tmp_path)
    assert _pki(planned, root) == 2, case
    _assert_one_error(capsys.readouterr().err, words)
    assert _state(tmp_path) == before, "something was written"


def test_another_users_key_is_refused(
    made: Path, planned: tuple[Path, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key of another user (here: we pretend to be another uid) is not narrowed, refused."""
    root = _copy(made, tmp_path)
    os.chmod(root / "nodes" / "dgx0001.key", 0o644)
    before = _state(tmp_path)
    uid = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: uid + 1)
    assert _pki(planned, root) == 2
    _assert_one_error(capsys.readouterr().err, ["owned by uid", "not by you"])
    assert _state(tmp_path) == before


@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_secrets_that_is_a_file(
    planned: tuple[Path, Path], tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "secrets.txt"
    f.write_text("not a directory\n")
    before = _state(tmp_path)
    root = f if where == "file" else f / "sub"
    assert _pki(planned, root) == 2
    _assert_one_error(capsys.readouterr().err, ["--secrets", "a file, not a directory"])
    assert _state(tmp_path) == before


def _assert_one_error(err: str, words: list[str]) -> None:
    flat = " ".join(err.split())
    assert "Traceback" not in err, err
    assert err.count("error:") == 1, err
    for w in words:
        assert w in flat, f"{w!r} not in {flat!r}"
