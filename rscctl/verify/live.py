"""Run `ibnetdiscover` where the fabric is: on this host, or on the subnet manager's host over
SSH (paramiko, host key pinned from a known_hosts file: RejectPolicy, never AutoAddPolicy).

Only the text comes back; parsing is rscctl.verify.ibnetdiscover's pure function. A simulator
of `rscctl lab fabric up` is reached the same way as on the host: the command is wrapped in
`ibsim-run` with the simulator's socket name (rscctl.lab.fabric.client_env).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rscctl.errors import MissingTool, UserError

COMMAND = "ibnetdiscover"
TIMEOUT_S = 600.0


def run_local(command: str = COMMAND, env: Mapping[str, str] | None = None,
              cwd: Path | None = None, timeout: float = TIMEOUT_S) -> str:
    """ibnetdiscover's output on this host (env: e.g. a simulator's IBSIM_SOCKNAME)."""
    argv = shlex.split(command)
    if not argv or shutil.which(argv[0]) is None:
        raise MissingTool(f"{argv[0] if argv else command!r} is not installed; apt-get install "
                          "infiniband-diags (ibsim-utils for the simulator)")
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                             check=False, env={**os.environ, **(env or {})}, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise UserError(f"{command} did not finish in {timeout:.0f} s") from None
    if res.returncode != 0:
        raise UserError(f"{command} failed (exit {res.returncode}): "
                        f"{res.stderr.strip()[-500:]}")
    return res.stdout


@dataclass(frozen=True)
class SshTarget:
    user: str | None
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> SshTarget:
        """[USER@]HOST[:PORT] (HOST may be [v6-address])."""
        m = re.fullmatch(r"(?:([^@\s]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?",
                         text)
        if m is None or (m.group(3) and not 0 < int(m.group(3)) < 65536):
            raise UserError(f"--ssh {text!r}: write [USER@]HOST[:PORT], e.g. root@sm01:22")
        return cls(m.group(1), m.group(2).strip("[]"), int(m.group(3) or 22))


def run_ssh(target: SshTarget, known_hosts: Path, identity: Path | None = None,
            command: str = COMMAND, timeout: float = TIMEOUT_S) -> str:
    """ibnetdiscover's output on the target, its host key checked against `known_hosts`."""
    import paramiko  # imported here: only --ssh pays for it

    if not known_hosts.is_file():
        raise UserError(f"--known-hosts {known_hosts}: no such file; collect the subnet "
                        f"manager's host key (ssh-keyscan -p {target.port} {target.host}), check "
                        "its fingerprint, and name the file")
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(str(known_hosts))
    except (OSError, paramiko.SSHException) as exc:
        raise UserError(f"--known-hosts {known_hosts}: cannot read it ({exc})") from None
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(target.host, port=target.port, username=target.user,
                       key_filename=str(identity) if identity else None,
                       look_for_keys=identity is None, allow_agent=identity is None,
                       timeout=30, banner_timeout=30, auth_timeout=30)
        _, stdout, stderr = client.exec_command(command, timeout=timeout)
        out = stdout.read().decode("utf-8", errors="replace")
        status = stdout.channel.recv_exit_status()
        err = stderr.read().decode("utf-8", errors="replace")
    except paramiko.BadHostKeyException:
        raise UserError(f"{target.host}: its host key differs from the one in {known_hosts}: "
                        "someone may be in between; check the key before changing the file") \
            from None
    except paramiko.SSHException as exc:
        if "not found in known_hosts" in str(exc):
            raise UserError(f"{target.host}:{target.port}: no host key for it in "
                            f"{known_hosts}; add it (ssh-keyscan -p {target.port} "
                            f"{target.host} >> {known_hosts}) after checking its fingerprint") \
                from None
        raise UserError(f"ssh {target.host}:{target.port}: {exc}") from None
    except OSError as exc:
        raise UserError(f"ssh {target.host}:{target.port}: {exc}") from None
    finally:
        client.close()
    if status != 0:
        raise UserError(f"{command} on {target.host} failed (exit {status}): "
                        f"{err.strip()[-500:]}")
    return out


__all__ = ["COMMAND", "SshTarget", "run_local", "run_ssh"]
