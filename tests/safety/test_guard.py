"""rscctl-fw-guard (the firewall role's loader) on real nft in a throwaway network namespace,
without systemd (as in the lab's containers): the detached timer restores the old ruleset
unless confirmed; confirm installs the boot ruleset; a restart before confirm rolls back."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.fixtures import needs_lab

pytestmark = [needs_lab]

GUARD = Path(__file__).resolve().parents[2] / "playbooks/roles/firewall/files/rscctl-fw-guard"
NEW = ("table inet rscctl\ndelete table inet rscctl\ntable inet rscctl {\n chain input {\n"
       "  type filter hook input priority filter; policy drop;\n }\n}\n")


class Node:
    def __init__(self, ns: str, state: Path) -> None:
        self.ns, self.state = ns, state
        self.waiters: list[int] = []  # the detached timer processes this test started

    def sh(self, *cmd: str, check: bool = True) -> str:
        env = {**os.environ, "RSCCTL_FW_STATE": str(self.state),
               "RSCCTL_FW_PRIME_S": "0.2"}
        res = subprocess.run(["ip", "netns", "exec", self.ns, *cmd], capture_output=True,
                             text=True, env=env, check=False)
        assert not check or res.returncode == 0, res.stderr
        return res.stdout

    def guard(self, *args: str) -> dict[str, Any]:
        out = self.sh(str(GUARD), *args)
        doc: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        if isinstance(doc.get("timer"), dict) and doc["timer"].get("pid"):
            self.waiters.append(int(doc["timer"]["pid"]))
        return doc

    def tables(self) -> str:
        return self.sh("nft", "list", "tables")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    ns = f"rscsafe{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        n = Node(ns, tmp_path / "state")
        n.sh("nft", "add", "table", "inet", "old")
        yield n
    finally:
        for pid in n.waiters:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        subprocess.run(["ip", "netns", "del", ns], check=False)


def wait_for(pred: object, what: str, limit: float = 90.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"never: {what}")


def test_unconfirmed_change_is_rolled_back_by_the_node(node: Node, tmp_path: Path) -> None:
    planned = tmp_path / "planned.nft"
    planned.write_text(NEW)
    conf = tmp_path / "nftables.conf"
    assert node.guard("load", str(planned), "--timeout", "2", "--conf", str(conf))["state"] \
        == "armed"
    assert "inet rscctl" in node.tables()
    wait_for(lambda: "inet rscctl" not in node.tables(), "the old ruleset restored")
    assert "inet old" in node.tables()
    status = node.guard("status")
    assert status["pending"] is None and status["rolled_back"]
    assert not planned.exists() and not conf.exists()  # next apply retries; boot file kept
    assert node.guard("confirm")["state"] == "none"


def test_confirmed_change_stays_and_becomes_the_boot_ruleset(node: Node,
                                                            tmp_path: Path) -> None:
    planned = tmp_path / "planned.nft"
    planned.write_text(NEW)
    conf = tmp_path / "nftables.conf"
    node.guard("load", str(planned), "--timeout", "3", "--conf", str(conf))
    assert node.guard("confirm")["state"] == "confirmed"
    assert conf.read_text() == NEW
    time.sleep(5)  # past the timeout: nothing may undo it now
    assert "inet rscctl" in node.tables()
    assert node.guard("status")["rolled_back"] is None


def test_a_node_restarted_before_confirm_comes_back_with_its_old_ruleset(
        node: Node, tmp_path: Path) -> None:
    planned = tmp_path / "planned.nft"
    planned.write_text(NEW)
    node.guard("load", str(planned), "--timeout", "600", "--conf", str(tmp_path / "conf"))
    # the node dies: its timer process with it (the ruleset lives on in the namespace)
    for pid in node.waiters:
        os.kill(pid, 9)
    assert "inet rscctl" in node.tables()
    assert node.guard("boot")["state"] == "rolled back"  # lab-init / the boot unit
    assert "inet rscctl" not in node.tables() and "inet old" in node.tables()
