"""The node-side shell that puts staged files in place and activates them, per site.yml role.

The Pulumi engine copies a host's files to a private staging directory (CopyToRemote), then
runs these scripts (remote.Command). They do what the roles' handlers do, for the files that
changed only: `hostname`, chrony, networkd, rdma-ndd, tlshd, the mounts. The firewall uses
the role's own loader, rscctl-fw-guard (playbooks/roles/firewall/files): `nft -c`, then
`rscctl-fw-guard load` under its rollback timer, then `rscctl-fw-guard confirm` over a new
connection (`firewall_confirm_script`), as rscctl/apply/confirm.py does after each batch.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from rscctl.apply.nodefiles import GUARD, NodeFile, planned_ruleset

STAGE_ROOT = "/var/tmp/rscctl-stage"
q = shlex.quote


def stage_dir(user: str) -> str:
    """Per connecting user (0700, made by `prepare_script`): the staged key is no one else's."""
    return f"{STAGE_ROOT}-{user}"


def staged_path(stage: str, f: NodeFile) -> str:
    return f"{stage}/{f.tag}{f.dest}"


def prepare_script(stage: str) -> str:
    return f"umask 077; mkdir -p {q(stage)} && chmod 0700 {q(stage)}"


def _sudo(script: str, user: str) -> str:
    """Run as root: directly when connected as root, else through `sudo -n` (no prompt)."""
    body = "set -eu\n" + script
    return body if user == "root" else f"sudo -n sh -c {q(body)}"


def install_lines(stage: str, files: Iterable[NodeFile], unsafe_writes: bool) -> list[str]:
    """Each staged file installed where it differs; `$changed` lists what was written."""
    lines = ['changed=" "']
    for f in files:
        src, dest = q(staged_path(stage, f)), q(f.dest)
        fallback = f" || cat {src} > {dest}" if unsafe_writes else ""
        lines.append(f"if ! cmp -s {src} {dest}; then install -D -o root -g root -m {f.mode} "
                     f"{src} {dest}{fallback}; changed=\"$changed{f.dest} \"; fi")
    return lines


def _when_changed(dest: str, action: str) -> str:
    return f'case "$changed" in *" {dest} "*) {action} ;; esac'


def role_lines(tag: str, host: str, files: tuple[NodeFile, ...], stage: str,
               v: Mapping[str, Any]) -> list[str]:
    """Install and activate one role's files on `host` (v: role variables, as nodefiles)."""
    if tag == "firewall":
        return firewall_lines(stage, files, v)
    lines = install_lines(stage, files, tag == "base" and bool(v["base_unsafe_writes"]))
    if tag == "base" and v["base_services"]:
        lines += [_when_changed("/etc/hostname", f"hostname {q(host)}"),
                  _when_changed(str(v["base_chrony_sources"]), "systemctl restart chrony")]
    elif tag == "fabric" and v["fabric_services"]:
        lines += ['case "$changed" in *".network "*) systemctl restart systemd-networkd ;; esac',
                  _when_changed(str(v["fabric_node_desc_file"]), "systemctl restart rdma-ndd")]
    elif tag == "storage" and v["nfs_tls_systemd"]:
        units = [f for f in files if f.dest.endswith(".mount")]
        lines += ["systemctl daemon-reload",
                  'case "$changed" in *.pem*|*.key*|*.conf*) systemctl enable tlshd; '
                  "systemctl restart tlshd ;; esac"]
        for u in units:
            name = q(u.dest.rsplit("/", 1)[1])
            lines += [_when_changed(u.dest, f"systemctl restart {name}"),
                      f"systemctl enable --now {name}"]
    return lines


def bundle_path(stage: str) -> str:
    return f"{stage}/files.sh"


def bundle(stage: str, files: Iterable[NodeFile]) -> str:
    """One shell script that writes the (non-secret) files into the staging tree: text as a
    here-document (a preview's diff reads as the file's), the rest as base64. Delimiters carry
    the content's hash, so no line of a file can end its here-document."""
    out = ["# rscctl: the staged files of this host (run by the apply command)", "umask 077"]
    for f in files:
        path = q(staged_path(stage, f))
        out.append(f"mkdir -p \"$(dirname {path})\"")
        if f.content.endswith("\n"):
            tag = f"RSCCTL_{f.sha256[:16]}"
            out += [f"cat > {path} <<'{tag}'", f.content + tag]
        else:
            data = base64.b64encode(f.content.encode()).decode()
            out.append(f"printf %s {data} | base64 -d > {path}")
    return "\n".join(out) + "\n"


def node_script(host: str, by_tag: Iterable[tuple[str, tuple[NodeFile, ...]]], stage: str,
                v: Mapping[str, Any], user: str = "root") -> str:
    """The staged bundle unpacked, then every role in site.yml's order (firewall last)."""
    lines = [f"sh {q(bundle_path(stage))}"]
    for tag, files in by_tag:
        lines += [f"# role {tag}", *role_lines(tag, host, files, stage, v)]
    return _sudo("\n".join(lines) + "\n", user)


def firewall_lines(stage: str, files: tuple[NodeFile, ...], v: Mapping[str, Any]) -> list[str]:
    """The firewall role's steps: the guard and its boot unit installed, the planned ruleset
    checked (`nft -c`) before it is written and again before it is loaded, then loaded by
    `rscctl-fw-guard load` under the rollback timer (`firewall_confirm_timeout` seconds)."""
    planned = planned_ruleset(v)
    rules = next(f for f in files if f.dest == planned)
    others = [f for f in files if f is not rules]
    state = q(str(v["firewall_state_dir"]))
    lines = [f"install -d -o root -g root -m 0700 {state}",
             *install_lines(stage, others, False)[1:]]
    if v["firewall_service_enabled"]:
        lines += ["systemctl daemon-reload", "systemctl enable rscctl-fw-guard-boot.service",
                  "systemctl enable nftables"]
    staged = q(staged_path(stage, rules))
    lines += [f"if ! cmp -s {staged} {q(planned)}; then",
              f"nft -c -f {staged}",
              f"install -o root -g root -m 0600 {staged} {q(planned)}",
              f"nft -c -f {q(planned)}",
              f"{q(GUARD)} load {q(planned)} --timeout {int(v['firewall_confirm_timeout'])} "
              f"--conf {q(str(v['firewall_conf_path']))}",
              "fi"]
    return lines


def firewall_confirm_script(user: str = "root") -> str:
    """`rscctl-fw-guard confirm`, as rscctl/apply/confirm.py runs it: over a NEW connection, so
    it proves the node still lets the controller in under the new ruleset. Fails unless the
    guard answers `confirmed` or has nothing pending (timeout 0)."""
    body = (f"answer=$({q(GUARD)} confirm)\necho \"$answer\"\n"
            'case "$answer" in *\'"state": "confirmed"\'*) exit 0 ;; esac\n'
            'case "$answer" in *\'"rolled_back": {\'*) echo "rolled back: the node could '
            'not be reached under the new ruleset" >&2; exit 1 ;; esac\n')
    return _sudo(body, user)
