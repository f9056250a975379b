"""Class 8 of issue 9: the output directory changes as a whole.

A set is rendered, written into a staging directory beside --out and switched in with one
rename (renameat2 RENAME_EXCHANGE): `rscctl plan` killed with SIGKILL at any moment leaves
exactly the old set or exactly the new one, and the next run leaves nothing beside it. Planning
another build into a directory never leaves a file of the old one; a failure changes nothing;
--out of a checkout, home, / or a foreign directory is refused before any work.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rscctl import outputs
from rscctl.cli import main
from rscctl.declare import load_build
from rscctl.export import EXPORTERS, render
from rscctl.outputs import clean_leftovers, owner, write_output_set
from rscctl.planner import build_plan
from tests.conftest import ROOT, small_build_dict, write_build

RSCCTL = Path(sys.executable).parent / "rscctl"
Snapshot = dict[str, bytes]


def snapshot(root: Path) -> Snapshot:
    """Every file under root by relative path, with its bytes; directories as ''/ entries."""
    snap: Snapshot = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        snap[rel + "/" if p.is_dir() else rel] = b"" if p.is_dir() else p.read_bytes()
    return snap


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two small builds with different file sets (lab has storage and nfs/, small has not)."""
    src = tmp_path_factory.mktemp("builds")
    small = write_build(src, small_build_dict(sus=2, nodes_per_su=4, spines=2, name="small"))
    return {"lab": ROOT / "topology" / "lab.yaml", "small": small}


@pytest.fixture(scope="module")
def refs(builds: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
         ) -> dict[str, tuple[Path, Snapshot, float]]:
    """Each build planned once into a fresh directory: its reference set and its wall time."""
    out = {}
    for name, path in builds.items():
        d = tmp_path_factory.mktemp(f"ref-{name}") / "out"
        start = time.perf_counter()
        subprocess.run([str(RSCCTL), "plan", str(path), "--out", str(d)], check=True,
                       capture_output=True)
        out[name] = (d, snapshot(d), time.perf_counter() - start)
    assert out["lab"][1] != out["small"][1]
    return out


def test_sigkill_at_any_moment_leaves_the_old_set_or_the_new(
    builds: dict[str, Path], refs: dict[str, tuple[Path, Snapshot, float]], tmp_path: Path
) -> None:
    """lab and small planned alternately into one directory, each run killed after a seeded
    random delay spanning its whole run (start-up, planning, writing, switching)."""
    rng = random.Random(9)
    work = tmp_path / "work"
    work.mkdir()
    out = work / "out"
    shutil.copytree(refs["lab"][0], out)
    current = "lab"
    seen = {"old": 0, "new": 0}
    for trial in range(10):
        nxt = "small" if current == "lab" else "lab"
        delay = rng.uniform(0.0, refs[nxt][2] * 1.1)
        proc = subprocess.Popen([str(RSCCTL), "plan", str(builds[nxt]), "--out", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = snapshot(out)
        assert now in (refs[current][1], refs[nxt][1]), (
            f"trial {trial}: killed after {delay:.2f} s, {out} holds neither set: "
            f"{sorted(set(now) ^ set(refs[nxt][1]))[:5]} ...")
        if now == refs[nxt][1]:
            seen["new"] += 1
            current = nxt
        else:
            seen["old"] += 1
        if trial % 3 == 2:  # a run to its end: the set it plans, nothing left beside it
            nxt = "small" if current == "lab" else "lab"
            subprocess.run([str(RSCCTL), "plan", str(builds[nxt]), "--out", str(out)],
                           check=True, capture_output=True)
            assert snapshot(out) == refs[nxt][1]
            assert os.listdir(work) == ["out"], "staging or old trees left behind"
            current = nxt
    assert sum(seen.values()) == 10


def test_another_build_leaves_none_of_the_old_files(
    builds: dict[str, Path], refs: dict[str, tuple[Path, Snapshot, float]], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert main(["plan", str(builds["lab"]), "--out", str(out)]) == 0
    assert (out / "nfs").is_dir()
    assert main(["plan", str(builds["small"]), "--out", str(out)]) == 0
    assert snapshot(out) == refs["small"][1], "files of the lab set were left"
    assert os.listdir(tmp_path) == ["out"]


def test_the_renames_fallback_switches_too(
    builds: dict[str, Path], refs: dict[str, tuple[Path, Snapshot, float]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without renameat2 (old libc, a file system without RENAME_EXCHANGE): two renames."""
    monkeypatch.setattr(outputs, "_renameat2", None)
    out = tmp_path / "out"
    assert main(["plan", str(builds["lab"]), "--out", str(out)]) == 0
    assert main(["plan", str(builds["small"]), "--out", str(out)]) == 0
    assert snapshot(out) == refs["small"][1]
    assert os.listdir(tmp_path) == ["out"]


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_leftovers_of_an_interrupted_run_are_cleaned(tmp_path: Path) -> None:
    """Staging and old trees of a dead run beside --out go; a live run's, or another
    directory's, stay; an old tree whose switch was cut half-way is put back."""
    dead, live = _dead_pid(), os.getppid()
    for name in (f".out.staging-{dead}", f".out.old-{dead}", f".out.staging-{live}",
                 f".other.staging-{dead}", "keep"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "plan.json").write_text(name)
    clean_leftovers(tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["out", f".out.staging-{live}", f".other.staging-{dead}", "keep"])
    assert (tmp_path / "out" / "plan.json").read_text() == f".out.old-{dead}"


def test_a_failure_half_way_changes_nothing(
    builds: dict[str, Path], refs: dict[str, tuple[Path, Snapshot, float]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    shutil.copytree(refs["lab"][0], out)
    real_write = outputs._write_into

    def full_disk(staging: Path, files: dict[str, bytes], dirs: set[str], fresh: bool) -> None:
        half = dict(sorted(files.items())[: len(files) // 2])
        real_write(staging, half, dirs, fresh)
        raise OSError(28, "No space left on device", str(staging / "x"))

    monkeypatch.setattr(outputs, "_write_into", full_disk)
    assert main(["plan", str(builds["small"]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "nothing changed" in err
    assert snapshot(out) == refs["lab"][1]
    assert os.listdir(tmp_path) == ["out"]


def test_only_replaces_the_files_of_its_kinds(
    builds: dict[str, Path], refs: dict[str, tuple[Path, Snapshot, float]], tmp_path: Path
) -> None:
    """`--only csv` into the lab set: lab's csv files become small's, every other file stays
    byte for byte; `export --only` likewise from the set's own plan.json."""
    out = tmp_path / "out"
    shutil.copytree(refs["lab"][0], out)
    assert main(["plan", str(builds["small"]), "--out", str(out), "--only", "csv"]) == 0
    small, lab = refs["small"][1], refs["lab"][1]
    want = {k: v for k, v in lab.items() if owner(k) != "csv"}
    want.update({k: v for k, v in small.items() if owner(k) == "csv"})
    assert snapshot(out) == want
    assert main(["export", str(builds["lab"]), "--out", str(out), "--only", "csv"]) == 0
    assert snapshot(out) == lab
    assert os.listdir(tmp_path) == ["out"]


@pytest.mark.parametrize("build", ["lab", "small"])
def test_every_rendered_file_belongs_to_its_kind(builds: dict[str, Path], build: str) -> None:
    """OWNERS (what --only replaces) matches what each exporter writes."""
    plan = build_plan(load_build(str(builds[build])))
    for kind in EXPORTERS:
        wrong = [rel for rel in render(plan, [kind]) if owner(rel) != kind]
        assert not wrong, f"{kind} writes {wrong[:3]}, which OWNERS gives to another kind"


def test_files_are_0644_and_never_written_through_a_kept_link(tmp_path: Path) -> None:
    """--only keeps files as hard links: a new file replaces the link, the old inode is
    untouched (a set already switched out, or a copy elsewhere, never changes)."""
    out = tmp_path / "out"
    write_output_set(out, {"plan.json": b"{}", "devices.csv": b"old"})
    elsewhere = tmp_path / "copy.csv"
    os.link(out / "devices.csv", elsewhere)
    old_umask = os.umask(0o077)
    try:
        write_output_set(out, {"devices.csv": b"new"}, kinds=["csv"])
    finally:
        os.umask(old_umask)
    assert (out / "devices.csv").read_bytes() == b"new"
    assert elsewhere.read_bytes() == b"old"
    assert (out / "devices.csv").stat().st_mode & 0o777 == 0o644


def _foreign(d: Path) -> Path:
    (d / "out").mkdir()
    (d / "out" / "notes.txt").write_text("mine\n")
    return d / "out"


def _git_tree(d: Path) -> Path:
    (d / "out" / ".git").mkdir(parents=True)
    (d / "out" / "plan.json").write_text("{}")
    return d / "out"


def _a_file(d: Path) -> Path:
    (d / "out").write_text("x")
    return d / "out"


def _under_a_file(d: Path) -> Path:
    (d / "f").write_text("x")
    return d / "f" / "out"


def _blocking_file(d: Path) -> Path:
    (d / "out").mkdir()
    (d / "out" / "plan.json").write_text("{}")
    (d / "out" / "dns").write_text("a file where dns/ goes\n")
    return d / "out"


def _blocking_dir(d: Path) -> Path:
    (d / "out" / "hosts").mkdir(parents=True)
    (d / "out" / "plan.json").write_text("{}")
    return d / "out"


def _cwd_checkout(d: Path) -> Path:
    (d / ".git").mkdir()
    (d / "README.md").write_text("a checkout\n")
    os.chdir(d)
    return Path(".")


def _parent_of_cwd(d: Path) -> Path:
    (d / "sub").mkdir()
    os.chdir(d / "sub")
    return Path("..")


REFUSALS: list[tuple[str, Callable[[Path], Path], list[str]]] = [
    ("repo-root", lambda d: ROOT, ["would replace", str(ROOT), "--out out/BUILD"]),
    ("slash", lambda d: Path("/"), ["would replace /", "--out out/BUILD"]),
    ("home", lambda d: Path.home(), ["would replace", "home"]),
    ("dot-in-a-checkout", _cwd_checkout, ["--out .", "would replace"]),
    ("parent-of-cwd", _parent_of_cwd, ["--out ..", "would replace"]),
    ("foreign-directory", _foreign, ["not an rscctl output", "no plan.json", "empty it"]),
    ("git-work-tree", _git_tree, ["a git work tree"]),
    ("out-is-a-file", _a_file, ["a file, not a directory"]),
    ("parent-is-a-file", _under_a_file, ["is a file, not a directory"]),
    ("file-blocks-a-directory", _blocking_file, ["a file where the directory dns/", "remove it"]),
    ("directory-blocks-a-file", _blocking_dir, ["a directory where the file hosts", "remove it"]),
]


@pytest.mark.parametrize(("case", "make", "words"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refused_before_anything_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    case: str, make: Callable[[Path], Path], words: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    out = make(tmp_path)
    real = Path(os.path.realpath(out))
    watched = [tmp_path, *([real.parent] if real.parent.is_dir() and real != Path("/") else [])]
    before = [snapshot(d) if d == tmp_path else sorted(os.listdir(d)) for d in watched]
    assert main(["plan", "lab", "--out", str(out)]) == 2, case
    err = capsys.readouterr().err
    flat = " ".join(err.split())
    assert "Traceback" not in err and err.count("error:") == 1, err
    for w in words:
        assert w in flat, f"{w!r} not in {flat!r}"
    after = [snapshot(d) if d == tmp_path else sorted(os.listdir(d)) for d in watched]
    assert after == before, "something was written"
