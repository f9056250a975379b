"""Component resources: one per SU (or the service hosts), one per node under it.

A node's files go to its private staging directory (`remote.CopyToRemote`: one bundle of the
plain files, each secret file on its own, triggered by content hashes), then one
`remote.Command` installs and activates them role by role in site.yml's order, triggered by
each role's content hash; the firewall's load is confirmed by a second command over a new
connection. A preview therefore lists exactly the nodes, and the roles, whose files changed.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_command import remote

from rscctl.apply import nodecmds
from rscctl.apply.nodefiles import content_hash
from rscctl.apply.stackplan import Endpoint, HostPlan

SU_TYPE = "rscctl:cluster:SU"
NODE_TYPE = "rscctl:cluster:Node"


def connection(ep: Endpoint, jump: Endpoint | None, user: str,
               private_key: pulumi.Output[str]) -> remote.ConnectionArgs:
    """SSH to `ep` (through `jump`), each hop pinned to its host key."""
    proxy = None
    if jump is not None:
        proxy = remote.ProxyConnectionArgs(host=jump.address, user=user,
                                           private_key=private_key, host_key=jump.host_key)
    return remote.ConnectionArgs(host=ep.address, user=user, private_key=private_key,
                                 host_key=ep.host_key, proxy=proxy)


class Node(pulumi.ComponentResource):
    """One host: its staging directory, its files (one bundle, and each secret file on its
    own, a Pulumi secret), one command that installs and activates them role by role."""

    files_hash: str

    def __init__(self, host: HostPlan, user: str, variables: dict[str, Any],
                 private_key: pulumi.Output[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(NODE_TYPE, host.name, None, opts)
        conn = connection(host.endpoint, host.jump, user, private_key)
        stage = nodecmds.stage_dir(user)
        self.files_hash = content_hash(host.files)
        prepare = remote.Command(f"{host.name}-stage", connection=conn,
                                 create=nodecmds.prepare_script(stage), triggers=[stage],
                                 opts=pulumi.ResourceOptions(parent=self))
        after_prepare = pulumi.ResourceOptions(parent=self, depends_on=[prepare])
        plain = tuple(f for f in host.files if not f.secret)
        copies: list[pulumi.Resource] = [remote.CopyToRemote(
            f"{host.name}-files", connection=conn,
            source=pulumi.StringAsset(nodecmds.bundle(stage, plain)),
            remote_path=nodecmds.bundle_path(stage), triggers=[content_hash(plain)],
            opts=after_prepare)]
        for f in host.files:
            if f.secret:
                secret: Any = pulumi.Output.secret(pulumi.StringAsset(f.content))
                copies.append(remote.CopyToRemote(
                    f"{host.name}{f.dest}", connection=conn, source=secret,
                    remote_path=nodecmds.staged_path(stage, f), triggers=[f.sha256],
                    opts=after_prepare))
        roles = host.by_tag()
        apply = remote.Command(
            f"{host.name}-apply", connection=conn,
            create=nodecmds.node_script(host.name, roles, stage, variables, user),
            triggers=[f"{tag}={content_hash(files)}" for tag, files in roles],
            opts=pulumi.ResourceOptions(parent=self, depends_on=copies))
        firewall = [content_hash(fs) for tag, fs in roles if tag == "firewall"]
        if firewall:
            # A new connection: it succeeds only if the new ruleset still lets us in.
            remote.Command(f"{host.name}-firewall-confirm", connection=conn,
                           create=nodecmds.firewall_confirm_script(user), triggers=firewall,
                           opts=pulumi.ResourceOptions(parent=self, depends_on=[apply]))
        self.register_outputs({"files_hash": self.files_hash})


class ScalableUnit(pulumi.ComponentResource):
    """One SU's nodes (or the service hosts'), so a preview reads per SU."""

    def __init__(self, name: str, hosts: list[HostPlan], user: str,
                 variables: dict[str, Any], private_key: pulumi.Output[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SU_TYPE, name, None, opts)
        self.nodes = {h.name: Node(h, user, variables, private_key,
                                   pulumi.ResourceOptions(parent=self)) for h in hosts}
        self.register_outputs({"nodes": {n: c.files_hash for n, c in self.nodes.items()}})
