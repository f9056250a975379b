"""The lab: a build's nodes as containers (podman) on a private bridge, reachable over SSH.

Layers: `hosts` (pure: which hosts, which addresses), `image` (the cached root filesystem),
`engine` (podman with this machine's settings), `net` (namespaces, bridge, veths), `state`
(what exists, recorded as it is made), `lifecycle` (up, status, down).
"""

from pathlib import Path

DEFAULT_STATE_DIR = Path(".lab")
"""Where the lab keeps its keys and record (here, not in `state`: the CLI needs it at start-up)."""
