"""Class 5 of issue 9: YAML and files. Alias bombs, deep nesting, long `extends` chains,
links that loop, directories, devices, NUL and control bytes, merge keys, text that is not
UTF-8 and over-large files are each refused at their file and line, fast, without a traceback;
a `catalog:` pointing at a system file never has its contents printed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from rscctl.declare.yamlsrc import MAX_ALIASES, MAX_DEPTH, MAX_FILE_BYTES
from tests.conftest import small_build_dict
from tests.hardening.declfiles import assert_file_refused


def _valid_text() -> str:
    return yaml.safe_dump(small_build_dict(sus=2, nodes_per_su=4, spines=4), sort_keys=False)


def _laughs(levels: int = 9) -> str:
    """The billion laughs: 9 levels of 9 aliases each, 9^9 strings once expanded."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return _valid_text() + "\n".join(lines) + "\n"


def _quadratic() -> str:
    """One big anchored list used many times: each use is cheap to write, costly to expand."""
    big = "big: &big [" + ", ".join(["x"] * 1000) + "]\n"
    return _valid_text() + big + "uses: [" + ", ".join(["*big"] * (MAX_ALIASES + 1)) + "]\n"


def _deep_block(levels: int) -> str:
    return "name: deep\nx:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(levels)) + (
        "  " * (levels + 1) + "v\n")


# (case, file text or bytes, words of the one message)
TEXTS: list[tuple[str, Callable[[], str | bytes], list[str]]] = [
    ("alias-recursive", lambda: _valid_text() + "loop: &a [*a]\n",
     ["bad.yaml:", "alias refers to a value that contains it"]),
    ("alias-quadratic", _quadratic, [f"more than {MAX_ALIASES} alias uses", "write the values"]),
    ("deep-flow", lambda: "name: deep\nx: " + "[" * 5000 + "]" * 5000 + "\n",
     ["bad.yaml:2", f"nested deeper than {MAX_DEPTH} levels"]),
    ("deep-flow-just-over", lambda: "name: deep\nx: " + "[" * (MAX_DEPTH + 1)
     + "]" * (MAX_DEPTH + 1) + "\n", [f"nested deeper than {MAX_DEPTH} levels"]),
    ("deep-block", lambda: _deep_block(200), [f"nested deeper than {MAX_DEPTH} levels"]),
    ("nul-byte", lambda: _valid_text().replace("compute:", "comp\x00ute:", 1),
     ["bad.yaml:3: a NUL byte"]),
    ("control-byte", lambda: _valid_text().replace("small", "sm\x07all", 1),
     ["bad.yaml:1", "U+0007", "not allowed"]),
    ("escape-byte", lambda: "name: x\ndescription: \x1b[31mred\n",
     ["bad.yaml:2", "U+001B"]),
    ("merge-key", lambda: _valid_text() + "defaults: &d {a: 1}\nextra:\n  <<: *d\n  b: 2\n",
     ["merge keys (<<) are not supported; write the keys out"]),
    ("latin-1", lambda: ("name: x\n# line 2\ndescription: caf\xe9\n").encode("latin-1"),
     ["bad.yaml:3: not UTF-8 (byte 0xe9)", "save the file as UTF-8"]),
    ("utf-16", lambda: "name: x\n".encode("utf-16"), ["bad.yaml:1: not UTF-8"]),
    ("python-tag", lambda: "name: !!python/object/apply:os.system [id]\n",
     ["bad.yaml:1", "!!python/object/apply:os.system value is not supported"]),
    ("python-scalar-tag", lambda: "name: !!python/name:os.system x\n",
     ["bad.yaml:1", "cannot read this value as !!python/name:os.system", "plain value"]),
    ("custom-tag", lambda: "name: !secret {a: 1}\n", ["bad.yaml:1", "custom tag"]),
    ("huge-int", lambda: "name: x\ncompute: {spines: " + "9" * 5000 + "}\n",
     ["bad.yaml:2", "out of range"]),
    ("bad-date", lambda: "name: x\ndescription: 2001-13-45\n", ["bad.yaml:2", "out of range"]),
    ("list-key", lambda: "name: x\n? [a, b]\n: 1\n",
     ["bad.yaml:2", "mapping key must be a plain value"]),
    ("set-tag", lambda: "name: x\nservers: !!set {a: null}\n",
     ["bad.yaml:2", "!!set value is not supported"]),
    ("over-4-mib", lambda: _valid_text() + ("#" * 1023 + "\n") * (MAX_FILE_BYTES // 1024 + 1),
     ["bad.yaml:", "4 MiB"]),
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case,make,words", TEXTS, ids=[c[0] for c in TEXTS])
def test_bad_file_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    case: str, make: Callable[[], str | bytes], words: list[str],
) -> None:
    path = tmp_path / "src" / "bad.yaml"
    path.parent.mkdir()
    data = make()
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    assert_file_refused(tmp_path, capsys, path, words)


@pytest.mark.timeout(10)
def test_billion_laughs_refused_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "src" / "bad.yaml"
    path.parent.mkdir()
    path.write_text(_laughs())
    # the expansion is never done: the alias count stops it (the timeout catches a hang)
    assert_file_refused(tmp_path, capsys, path, [f"more than {MAX_ALIASES} alias uses"])


@pytest.mark.timeout(20)
def test_deep_nesting_pure_parser(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Without libyaml the pure composer recurses per level: bounded too, no RecursionError."""
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    path = tmp_path / "src" / "bad.yaml"
    path.parent.mkdir()
    path.write_text("name: deep\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    assert_file_refused(tmp_path, capsys, path, [f"nested deeper than {MAX_DEPTH} levels"])


def test_nesting_within_bound_loads(tmp_path: Path) -> None:
    """The bound refuses only what no declaration needs: 40 levels still parse."""
    from rscctl.declare.yamlsrc import load_located

    path = tmp_path / "ok.yaml"
    path.write_text("x: " + "[" * 40 + "]" * 40 + "\n")
    data, _ = load_located(path)
    assert isinstance(data["x"], list)


def _src(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    return src


def test_directory_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _src(tmp_path) / "dir.yaml"
    d.mkdir()
    assert_file_refused(tmp_path, capsys, d, ["dir.yaml", "is a directory"])


def test_symlink_loop_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop = _src(tmp_path) / "loop.yaml"
    loop.symlink_to(loop)
    assert_file_refused(tmp_path, capsys, loop, ["loop.yaml", "symbolic link loop"])


def test_extends_symlink_loop_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _src(tmp_path)
    (src / "base.yaml").symlink_to(src / "base.yaml")
    child = src / "child.yaml"
    child.write_text("extends: base\nname: child\n")
    assert_file_refused(tmp_path, capsys, child, ["base.yaml", "symbolic link loop"])


def test_extends_directory_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _src(tmp_path)
    (src / "base.yaml").mkdir()
    child = src / "child.yaml"
    child.write_text("extends: base\nname: child\n")
    assert_file_refused(tmp_path, capsys, child, ["base.yaml", "is a directory"])


def test_device_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """/dev/zero would be read forever: only regular files are read."""
    link = _src(tmp_path) / "zero.yaml"
    link.symlink_to("/dev/zero")
    assert_file_refused(tmp_path, capsys, link, ["zero.yaml", "not a regular file"])


def test_nul_in_build_argument(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_file_refused(tmp_path, capsys, "a\x00b.yaml", ["NUL byte"])


def test_extends_chain_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A chain of 12 builds is refused at the first `extends` past the bound, not by
    RecursionError or after loading all of them."""
    src = _src(tmp_path)
    (src / "b0.yaml").write_text(_valid_text())
    for i in range(1, 13):
        (src / f"b{i}.yaml").write_text(f"extends: b{i - 1}\nname: b{i}\n")
    msg = assert_file_refused(tmp_path, capsys, src / "b12.yaml", ["extends:", "longer than 8"])
    assert ":1: extends:" in msg


def test_extends_chain_of_eight_loads(tmp_path: Path) -> None:
    from rscctl.declare import load_build

    (tmp_path / "b0.yaml").write_text(_valid_text())
    for i in range(1, 8):
        (tmp_path / f"b{i}.yaml").write_text(f"extends: b{i - 1}\nname: b{i}\n")
    assert load_build(str(tmp_path / "b7.yaml")).name == "b7"


# -- a catalog pointing at a file that is not a catalog: never echo its contents ------------

SECRET = "root:$y$j9T$hunter2hash:19000:0:99999:7:::"


def _with_catalog(tmp_path: Path, ref: str) -> Path:
    doc = small_build_dict(sus=2, nodes_per_su=4, spines=4)
    doc["catalog"] = ref
    path = _src(tmp_path) / "build.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_catalog_system_file_name_refused(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = _with_catalog(tmp_path, "/etc/passwd")
    assert_file_refused(tmp_path, capsys, path,
                        ["build.yaml:", "catalog:", "not a YAML file name"], absent=["root:"])


@pytest.mark.parametrize("text", [
    SECRET + "\ndaemon:*:19000:0:99999:7:::\n",          # one multi-line plain scalar
    "\n".join(f"{SECRET}{i}: x" for i in range(3)) + "\n",  # a mapping whose keys are secrets
    f"- {SECRET}\n",                                      # a list
], ids=["scalar", "mapping", "list"])
def test_catalog_contents_never_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       text: str) -> None:
    """A catalog link to a system file (here a stand-in of /etc/shadow): the message names the
    file and line, never a line of it."""
    shadow = tmp_path / "shadow"
    shadow.write_text(text)
    src = _src(tmp_path)
    (src / "cat.yaml").symlink_to(shadow)
    path = _with_catalog(tmp_path, "cat.yaml")
    msg = assert_file_refused(tmp_path, capsys, path, ["cat.yaml"], absent=["hunter2", "root:"])
    assert "catalog" in msg


def test_real_system_file_through_link(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The real /etc/passwd behind a .yaml link: refused by shape, no line of it printed."""
    src = _src(tmp_path)
    (src / "cat.yaml").symlink_to("/etc/passwd")
    path = _with_catalog(tmp_path, "cat.yaml")
    first = Path("/etc/passwd").read_text().splitlines()[0]
    assert_file_refused(tmp_path, capsys, path, ["cat.yaml", "a catalog is a mapping"],
                        absent=[first[:12], "/bin/"])


def test_echoed_values_are_capped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong value in a declaration is quoted, but never more than a short repr."""
    doc = small_build_dict(sus=2, nodes_per_su=4, spines=4)
    doc["compute"]["spines"] = "x" * 5000
    path = _src(tmp_path) / "build.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    msg = assert_file_refused(tmp_path, capsys, path, ["compute.spines", "'xxx"])
    assert "x" * 100 not in msg and len(msg) < 400


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _src(tmp_path) / "secret.yaml"
    path.write_text(_valid_text())
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):  # root reads anything: make it a FIFO-free dead link
            path.chmod(0o600)
            path.unlink()
            path.symlink_to(tmp_path / "nowhere" / "x.yaml")
            words = ["secret.yaml", "no such file"]
        else:
            words = ["secret.yaml", "Permission denied"]
        assert_file_refused(tmp_path, capsys, path, words)
    finally:
        if path.exists():
            path.chmod(0o600)
