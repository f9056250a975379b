"""The lab: a build's nodes as containers (podman) on a private bridge, reachable over SSH.

Layers: `hosts` (pure: which hosts, which addresses), `image` (the cached root filesystem),
`engine` (podman with this machine's settings), `net` (namespaces, bridge, veths), `state`
(what exists, recorded as it is made), `lifecycle` (up, status, down).
"""
