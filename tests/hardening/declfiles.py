"""Shared by the bad-YAML, bad-growth and messages corpora: one assertion that a declaration
file, as written (raw text or bytes, links, chains of `extends`), is refused by `validate` and
by `plan --out` alike: exit 2, one message, no traceback, nothing written anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from rscctl.cli import main


def _tree(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def assert_file_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    build: Path | str,
    words: list[str],
    absent: list[str] | None = None,
) -> str:
    """Both commands exit 2 with one `error:` line holding every word of `words` and none of
    `absent` (file contents that must never be echoed); returns the message."""
    out = tmp_path / "out"
    before, cwd_before = _tree(tmp_path), set(Path.cwd().iterdir())
    flat = ""
    for argv in (["validate", str(build)], ["plan", str(build), "--out", str(out)]):
        code = main(argv)
        err = capsys.readouterr().err
        flat = " ".join(err.split())
        assert code == 2, (argv[0], code, err)
        assert "Traceback" not in err and "internal error" not in err, err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
        for word in words:
            assert word in flat, f"{word!r} not in {flat!r}"
        for word in absent or []:
            assert word not in flat, f"{word!r} echoed in {flat!r}"
        assert not out.exists(), f"{argv[0]} wrote {out}"
        assert _tree(tmp_path) == before, "files were written beside the declaration"
        assert set(Path.cwd().iterdir()) == cwd_before, "files were written in the cwd"
    return flat
