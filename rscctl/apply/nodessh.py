"""Fresh SSH connections to the plan's hosts with paramiko, along the operators' path.

One connection to the bastion (reached as ssh_config says: HostName, User, IdentityFile,
UserKnownHostsFile, a ProxyCommand, with ProxyUseFdpass as the lab's netproxy uses), then one
`direct-tcpip` channel per host through it, each its own SSH session. Every host key is pinned
from the known_hosts file (RejectPolicy: an unknown or changed key is refused, never added).

Fresh on purpose: Ansible's multiplexed masters are established connections that a new
ruleset keeps (`ct state established accept`); only a new connection shows that operators can
still get in.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rscctl.errors import UserError

if TYPE_CHECKING:
    import paramiko

CONNECT_TIMEOUT = 10.0
# paramiko logs a channel the bastion opened after we gave up ("Success for unrequested
# channel!") through logging's last-resort handler onto stderr; the Unreachable says it.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class Unreachable(Exception):
    """A host that did not give a working SSH session (the message says why)."""


@dataclass(frozen=True)
class Route:
    """How to reach the hosts: an ssh_config, known_hosts, user, key and the bastion's name."""

    bastion: str | None
    ssh_config: Path | None = None
    known_hosts: Path | None = None
    user: str | None = None
    key: Path | None = None


@dataclass(frozen=True)
class Result:
    rc: int
    stdout: str
    stderr: str


def _config(route: Route, host: str) -> dict[str, object]:
    path = route.ssh_config or Path.home() / ".ssh" / "config"
    text = path.read_text() if route.ssh_config is not None or path.is_file() else ""
    return ssh_config_lookup(text, host)


_PERCENT = "\x00rscctl-percent\x00"


def ssh_config_lookup(text: str, host: str) -> dict[str, object]:
    """paramiko's lookup of `host`, with ssh's `%%` (a literal `%`, as the lab's ProxyCommand
    writes a path holding one) kept: paramiko leaves `%%` as two and would expand the `%h`
    of `%%h`, so each `%%` is set aside before its expansion and put back as `%` after."""
    import paramiko

    cfg = paramiko.SSHConfig.from_text(text.replace("%%", _PERCENT))
    return {k: v.replace(_PERCENT, "%") if isinstance(v, str) else
            [x.replace(_PERCENT, "%") for x in v] if isinstance(v, list) else v
            for k, v in cfg.lookup(host).items()}


def _known_hosts(route: Route, conf: dict[str, object]) -> Path:
    if route.known_hosts is not None:
        return route.known_hosts
    files = conf.get("userknownhostsfile")
    first = str(files).split()[0] if files else str(Path.home() / ".ssh" / "known_hosts")
    return Path(os.path.expanduser(first))


def _fdpass_socket(command: str) -> socket.socket:
    """Run a ProxyUseFdpass ProxyCommand and take the connected socket it passes back."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        proc = subprocess.Popen(["/bin/sh", "-c", command], stdout=theirs.fileno(),
                                stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        theirs.close()
        ours.settimeout(CONNECT_TIMEOUT + 5)
        try:
            _, fds, _, _ = socket.recv_fds(ours, 1, 1)
        except OSError as exc:
            raise Unreachable(f"ProxyCommand gave no socket: {exc}") from None
        err = proc.communicate(timeout=CONNECT_TIMEOUT + 5)[1].decode(errors="replace")
        if not fds:
            raise Unreachable(f"ProxyCommand gave no socket: {err.strip()[-200:]}")
        return socket.socket(fileno=fds[0])
    finally:
        ours.close()


def _bastion_sock(conf: dict[str, object], port: int) -> object:
    import paramiko

    host = str(conf.get("hostname"))
    proxy = conf.get("proxycommand")
    if proxy and str(proxy).lower() != "none":
        if str(conf.get("proxyusefdpass", "no")).lower() == "yes":
            return _fdpass_socket(str(proxy))
        return paramiko.ProxyCommand(str(proxy))
    try:
        return socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        raise Unreachable(f"connect {host}:{port}: {exc}") from None


def _client(known_hosts: Path) -> paramiko.SSHClient:
    import paramiko

    client = paramiko.SSHClient()
    if not known_hosts.is_file():
        raise UserError(f"{known_hosts}: no known_hosts file; host keys must be pinned "
                        "(collect them with ssh-keyscan, or `rscctl lab trust`)")
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return client


def _open(client: paramiko.SSHClient, names: tuple[str, ...], sock: object, user: str | None,
          key: str | None, what: str) -> None:
    """Authenticate over `sock`, checking the key under the first of `names` known_hosts has."""
    import paramiko

    keys = client.get_host_keys()
    name = next((n for n in names if n in keys), names[0])
    try:
        client.connect(name, username=user, key_filename=key, sock=sock,  # type: ignore[arg-type]
                       timeout=CONNECT_TIMEOUT, banner_timeout=CONNECT_TIMEOUT,
                       auth_timeout=CONNECT_TIMEOUT, allow_agent=False,
                       look_for_keys=key is None)
    except paramiko.BadHostKeyException:
        raise Unreachable(f"{what}: host key differs from known_hosts (refused)") from None
    except paramiko.SSHException as exc:
        raise Unreachable(f"{what}: {exc}") from None
    except OSError as exc:
        raise Unreachable(f"{what}: {exc}") from None


class Jump:
    """One authenticated connection to the bastion, from which hosts are opened."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self._bastion: paramiko.SSHClient | None = None

    def _login(self, conf: dict[str, object]) -> tuple[str | None, str | None]:
        user = self.route.user or (str(conf["user"]) if conf.get("user") else None)
        key = str(self.route.key) if self.route.key else None
        if key is None and conf.get("identityfile"):
            files = conf["identityfile"]
            key = os.path.expanduser(str(files[0] if isinstance(files, list) else files))
        return user, key

    def bastion(self) -> paramiko.SSHClient:
        if self._bastion is not None:
            transport = self._bastion.get_transport()
            if transport is not None and transport.is_active():
                return self._bastion
        if not self.route.bastion:
            raise UserError("no bastion to reach the hosts through; pass --bastion")
        conf = _config(self.route, self.route.bastion)
        port = int(str(conf.get("port", 22)))
        client = _client(_known_hosts(self.route, conf))
        user, key = self._login(conf)
        host = str(conf.get("hostname", self.route.bastion))
        _open(client, (self.route.bastion, host), _bastion_sock(conf, port), user, key,
              f"bastion {self.route.bastion}")
        transport = client.get_transport()
        assert transport is not None
        transport.set_keepalive(5)
        self._bastion = client
        return client

    @contextmanager
    def host(self, name: str, address: str) -> Iterator[paramiko.SSHClient]:
        """A new SSH session to `name` at `address`, through the bastion."""
        import paramiko

        if name == self.route.bastion:
            client = self._direct_again()
        else:
            transport = self.bastion().get_transport()
            assert transport is not None
            try:
                chan = transport.open_channel("direct-tcpip", (address, 22), ("127.0.0.1", 0),
                                              timeout=CONNECT_TIMEOUT)
            except (paramiko.SSHException, OSError) as exc:
                raise Unreachable(f"{name}: no TCP connection from the bastion to "
                                  f"{address}:22 ({exc})") from None
            conf = _config(self.route, name)
            client = _client(_known_hosts(self.route, conf))
            user, key = self._login(conf)
            _open(client, (name, address), chan, user, key, name)
        try:
            yield client
        finally:
            transport = client.get_transport()
            client.close()
            # Its thread closes the channel through the bastion on its way out: waited for,
            # or it may do so after the bastion's connection is closed (an EOFError traceback
            # from a thread, printed under the run's output).
            if transport is not None:
                transport.join(timeout=5)

    def _direct_again(self) -> paramiko.SSHClient:
        """The bastion itself: a second, fresh connection (not the shared one)."""
        saved, self._bastion = self._bastion, None
        try:
            return self.bastion()
        finally:
            self._bastion = saved

    def run(self, name: str, address: str, command: str, timeout: float = 60.0,
            stdin: bytes | None = None) -> Result:
        """Run `command` on a fresh session to the host. A connection lost on the way (an
        EOF or SSH error while the session opens, e.g. the bastion dropping a start-up under
        load) makes the host unreachable, never a traceback."""
        import paramiko

        try:
            with self.host(name, address) as client:
                i, o, e = client.exec_command(command, timeout=timeout)
                if stdin is not None:
                    i.write(stdin)
                i.channel.shutdown_write()
                out = o.read().decode(errors="replace")
                err = e.read().decode(errors="replace")
                rc = o.channel.recv_exit_status()
                return Result(rc, out, err)
        except (Unreachable, UserError):
            raise
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise Unreachable(f"{name}: {command.split()[0]}: "
                              f"{type(exc).__name__} {exc}".rstrip()) from None

    def close(self) -> None:
        if self._bastion is not None:
            self._bastion.close()
            self._bastion = None


def sudo(*words: str) -> str:
    """A root command line for a non-interactive session."""
    return "sudo -n " + " ".join(shlex.quote(w) for w in words)
