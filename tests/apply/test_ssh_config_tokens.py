"""The controller's paramiko sessions read ssh_config as ssh does: `%%` is a literal `%`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from rscctl.apply.nodessh import ssh_config_lookup

RECORD = '#!/bin/sh\nprintf "%s\\n" "$@" > "$RECORD_TO"\n[ -z "$RECORD_WAIT" ] || exec sleep 10\n'


@pytest.mark.parametrize("args", [
    "/srv/lab%%1/netproxy %h %p",
    "/srv/a%%h/netproxy %%%h %p %%p",
    "-I /srv/x/netproxy.py /run/netns/ns %h %p",
])
def test_proxycommand_expands_as_ssh_runs_it(tmp_path: Path, args: str) -> None:
    """ssh itself runs the ProxyCommand (a script that records its words, then waits out the
    ConnectTimeout): the command paramiko is given must record the same words."""
    record = tmp_path / "record"
    record.write_text(RECORD)
    record.chmod(0o755)
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"Host dgx0001\n  HostName 10.0.0.7\n  Port 2222\n"
                   f"  ProxyCommand {record} {args}\n")
    ran, ours = tmp_path / "ssh.out", tmp_path / "ours.out"
    subprocess.run(["ssh", "-F", str(cfg), "-o", "BatchMode=yes", "-o", "ConnectTimeout=3",
                    "dgx0001", "true"], capture_output=True, timeout=30, check=False,
                   env={**os.environ, "RECORD_TO": str(ran), "RECORD_WAIT": "1"})
    command = str(ssh_config_lookup(cfg.read_text(), "dgx0001")["proxycommand"])
    subprocess.run(["/bin/sh", "-c", command], check=True,
                   env={**os.environ, "RECORD_TO": str(ours), "RECORD_WAIT": ""})
    assert ran.read_text() and ours.read_text() == ran.read_text()
