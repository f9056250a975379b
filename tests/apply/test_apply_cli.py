"""`rscctl apply` refusals that need no lab: each one message with the fix, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from rscctl.cli import main


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return " ".join(err.split())


def test_no_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", "lab", "--out", str(tmp_path / "none"),
                 "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "no plan here; run `rscctl plan lab` first" in _err(capsys)


def test_last_without_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", "--last", "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "no run recorded" in _err(capsys)


def test_no_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", "--runs-dir", str(tmp_path)]) == 2
    assert "name the BUILD" in _err(capsys)


def test_limit_matching_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RSCCTL_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["plan", "lab", "--out", str(tmp_path / "lab")]) == 0
    capsys.readouterr()
    assert main(["apply", "lab", "--out", str(tmp_path / "lab"), "--runs-dir",
                 str(tmp_path / "runs"), "--limit", "leaf-s001-r1"]) == 2
    assert "--limit 'leaf-s001-r1' matches none of the plan's Linux hosts" in _err(capsys)


def test_no_canary_reaches_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flag is handed to the run (which builds the batches from it)."""
    from rscctl.apply import run

    seen: list[run.Options] = []

    def fake_apply(opts: run.Options, _say: object) -> run.Summary:
        seen.append(opts)
        return run.Summary(opts.build, str(tmp_path), opts.check)

    monkeypatch.setattr(run, "apply", fake_apply)
    for flag, want in (("--canary", True), ("--no-canary", False)):
        main(["apply", "lab", "--out", str(tmp_path), "--runs-dir", str(tmp_path / "runs"),
              "--bastion", "bastion01", flag])
        assert seen[-1].canary is want


@pytest.mark.parametrize("command", ["apply", "health"])
def test_missing_ssh_config_is_refused(tmp_path: Path, command: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped --ssh-config is refused before anything connects (it reached every host's
    connection as 'No such file' before)."""
    assert main([command, "lab", "--out", str(tmp_path), "--ssh-config",
                 str(tmp_path / "nope")]) == 2
    err = " ".join(_err(capsys).replace("│", " ").split())  # rich's error box
    assert "--ssh-config" in err and "does not exist" in err, err
    assert "Traceback" not in err
