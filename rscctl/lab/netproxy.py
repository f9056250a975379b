"""ssh ProxyCommand: connect from inside a lab namespace and hand the socket back to ssh.

    ProxyCommand python3 -I -S netproxy.py /run/netns/NS %h %p
    ProxyUseFdpass yes

The controller has no address on the host: it lives only in the lab's controller namespace.
This helper enters that namespace, connects, passes the connected socket to ssh over its stdout
(SCM_RIGHTS) and exits, so no proxy process stays behind. Standard library only (run with -I -S).
"""

import ctypes
import os
import socket
import sys

CLONE_NEWNET = 0x40000000


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        sys.stderr.write("usage: netproxy.py NETNS_PATH HOST PORT\n")
        return 2
    ns_path, host, port = argv[1], argv[2], int(argv[3])
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(ns_path, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        sys.stderr.write(f"netproxy: setns {ns_path}: {os.strerror(err)}\n")
        return 1
    os.close(fd)
    try:
        conn = socket.create_connection((host, port), timeout=10)
    except OSError as exc:
        sys.stderr.write(f"netproxy: connect {host}:{port}: {exc}\n")
        return 1
    conn.setblocking(True)  # ssh expects a blocking socket, as from its own connect()
    out = socket.socket(fileno=os.dup(1))
    socket.send_fds(out, [b"\0"], [conn.fileno()])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
