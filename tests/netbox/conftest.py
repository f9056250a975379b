"""Fixtures: one NetBox server per session (tests/netbox/harness.py), a fresh database per test,
the lab build planned once, and a token file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.netbox import harness

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class NetBox:
    url: str
    token_file: Path
    token: str


@pytest.fixture(scope="session")
def netbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Server]:
    """Installed, migrated (both cached between runs) and started once; stopped at the end."""
    t = time.monotonic()
    harness.setup()
    harness.reset()
    srv = harness.start()
    print(f"\n[netbox] ready at {srv.url} in {time.monotonic() - t:.0f} s", file=sys.stderr)
    yield srv
    srv.stop()


def _token_file(tmp_path: Path) -> Path:
    tf = tmp_path / "token"
    fd = os.open(tf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, harness.TOKEN.encode() + b"\n")
    os.close(fd)
    return tf


@pytest.fixture()
def netbox(netbox_server: harness.Server, tmp_path: Path) -> NetBox:
    """An empty NetBox (the template's copy) and a 0600 file with its token."""
    harness.reset()
    return NetBox(netbox_server.url, _token_file(tmp_path), harness.TOKEN)


@pytest.fixture(scope="session")
def pushed_lab_db(netbox_server: harness.Server, lab_out: Path) -> Iterator[str]:
    """The lab build pushed once (`rscctl netbox push`, the CLI) into an empty NetBox and kept
    as a snapshot: the tests that start from a pushed NetBox copy it (a push takes minutes)."""
    harness.reset()
    r = rscctl("netbox", "push", "lab", "--out", str(lab_out), "--url", netbox_server.url,
               env={"RSCCTL_NETBOX_TOKEN": harness.TOKEN})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "devices: 65 created" in r.stdout, r.stdout
    db = harness.snapshot("lab_pushed")
    yield db
    harness.drop(db)


@pytest.fixture()
def pushed_netbox(netbox_server: harness.Server, pushed_lab_db: str, tmp_path: Path) -> NetBox:
    """A NetBox holding the lab build as `rscctl netbox push` left it."""
    harness.reset(pushed_lab_db)
    return NetBox(netbox_server.url, _token_file(tmp_path), harness.TOKEN)


@pytest.fixture(scope="session")
def lab_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`rscctl plan lab --out DIR`: the plan.json push reads and the CSVs users import."""
    out = tmp_path_factory.mktemp("nb-lab") / "lab"
    r = subprocess.run([sys.executable, "-m", "rscctl", "plan", "lab", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    return out


def rscctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it."""
    e = dict(os.environ)
    e.pop("RSCCTL_NETBOX_TOKEN", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "rscctl", *args], cwd=ROOT,
                          capture_output=True, text=True, env=e, check=False)
