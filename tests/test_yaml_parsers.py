"""The declarations load the same through libyaml (fast path) and PyYAML's pure parser."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rscctl.declare.loader import topology_dir
from rscctl.declare.yamlsrc import load_located
from rscctl.errors import UserError


@pytest.mark.parametrize("name", ["catalog", "phase1", "phase2", "lab"])
def test_same_data_and_lines(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = topology_dir() / f"{name}.yaml"
    fast = load_located(path)
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    assert load_located(path) == fast


def test_syntax_error_message_is_the_pure_parsers(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncompute:\n  gpus: [1, 2\n  spines: 3\n")
    with pytest.raises(UserError) as fast:
        load_located(bad)
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    with pytest.raises(UserError) as pure:
        load_located(bad)
    assert str(fast.value) == str(pure.value)
    assert "bad.yaml:" in str(fast.value)
