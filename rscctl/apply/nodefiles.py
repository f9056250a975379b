"""Every file one host gets from the plan, rendered once in Python, as the roles render it.

The sources are the Ansible path's own: the inventory data of the `rsc.cluster.plan` plugin
(`invcache.load`), the plan's rendered `hosts`, the role defaults
(playbooks/roles/*/defaults/main.yml), the role and project templates (the firewall and NFS
templates are the files `rscctl plan` renders too), the collection's `ipoib_units` filter and
the `rscctl pki` secrets directory. The Pulumi engine pushes exactly these files; a test
renders the same templates through Ansible and compares the bytes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import jinja2
import yaml

from rscctl.errors import UserError
from rscctl.names import role_group
from rscctl.templating import render

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "playbooks" / "roles"
COLLECTION = ROOT / "ansible_collections" / "rsc" / "cluster"
FIREWALL_TEMPLATE = "firewall/ruleset.nft.j2"
# The site.yml tags, in its order: the firewall last, so a host is configured before its
# firewall narrows who may reach it.
ROLE_TAGS = ("base", "fabric", "storage", "firewall")
# The firewall role's files (M's confirm-or-undo loader, rscctl/apply/confirm.py).
GUARD = "/usr/local/sbin/rscctl-fw-guard"
BOOT_UNIT = "/etc/systemd/system/rscctl-fw-guard-boot.service"


def planned_ruleset(v: Mapping[str, Any]) -> str:
    """Where the role writes the planned ruleset (loaded by the guard, not at boot)."""
    return f"{v['firewall_state_dir']}/planned.nft"


@dataclass(frozen=True)
class NodeFile:
    """One file on one host: where, what, its mode, and whether it is a secret (a key)."""

    tag: str
    dest: str
    content: str
    mode: str = "0644"
    secret: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(f"{self.dest}\0{self.mode}\0{self.content}".encode()).hexdigest()


def content_hash(files: tuple[NodeFile, ...]) -> str:
    """One digest of a set of files (destinations, modes, contents): a trigger."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.dest):
        h.update(f.sha256.encode())
    return h.hexdigest()


@cache
def role_defaults() -> dict[str, Any]:
    """The roles' plain defaults (those without a Jinja expression), as Ansible reads them."""
    out: dict[str, Any] = {}
    for role in ("base", "fabric", "firewall", "nfs_tls"):
        doc = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {}
        out.update({k: v for k, v in doc.items() if "{{" not in str(v)})
    return out


@cache
def _ipoib_units() -> Callable[..., list[dict[str, str]]]:
    """The collection's own filter (the fabric role calls it through Ansible)."""
    path = COLLECTION / "plugins" / "filter" / "fabric.py"
    spec = importlib.util.spec_from_file_location("rsc_cluster_filter_fabric", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return cast(Callable[..., list[dict[str, str]]], mod.ipoib_units)


@cache
def _role_env(role: str) -> jinja2.Environment:
    """A role's templates with the template module's settings, `comment` and ansible_managed
    from Ansible itself."""
    from ansible import constants  # type: ignore[import-untyped]
    from ansible.plugins.filter.core import comment  # type: ignore[import-untyped]

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROLES / role / "templates")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["comment"] = comment
    env.globals["ansible_managed"] = str(constants.DEFAULT_MANAGED_STR)
    return env


def default_secrets_dir(build: str) -> Path:
    """The nfs_tls role's default: where `rscctl pki BUILD` writes."""
    return Path(os.environ.get("HOME", str(Path.home()))) / ".local" / "share" / "rscctl" \
        / "secrets" / build


def _read(path: Path, what: str, fix: str) -> str:
    try:
        return path.read_text()
    except OSError as e:
        raise UserError(f"{path}: {what} cannot be read ({e.strerror}); {fix}") from None


class NodeRenderer:
    """The files of each host of one plan (inventory data from `invcache.load`)."""

    def __init__(self, data: Mapping[str, Any], secrets_dir: Path | None = None,
                 overrides: Mapping[str, Any] | None = None) -> None:
        self.data = data
        self.all = dict(data["vars"])
        self.build = str(self.all["rsc_build"])
        self.v = {**role_defaults(), **(overrides or {})}
        self.secrets = secrets_dir or default_secrets_dir(self.build)
        self.plan_dir = Path(self.all["rsc_plan_dir"])
        self._hosts_file: str | None = None
        self._groups = {g: set(m) for g, m in data["groups"].items()}

    def in_group(self, host: str, group: str) -> bool:
        return host in self._groups.get(group, set())

    def files(self, host: str) -> tuple[NodeFile, ...]:
        """Every file of `host`, in site.yml's role order."""
        hv = self.data["hosts"][host]
        out = self.base(host, hv)
        if self.in_group(host, "gpu_node"):
            out += self.fabric(hv)
        if self.in_group(host, "nfs_client"):
            out += self.storage(host, hv)
        fw = self.firewall_ruleset(hv)
        if fw is not None:
            out += self.firewall(fw)
        return tuple(out)

    def firewall(self, ruleset: Mapping[str, Any]) -> list[NodeFile]:
        """The role's loader (rscctl-fw-guard), its boot-time rollback, the planned ruleset
        (the boot ruleset becomes it only on confirm, as the role does)."""
        files = ROLES / "firewall" / "files"
        out = [NodeFile("firewall", GUARD, (files / "rscctl-fw-guard").read_text(), "0755")]
        if self.v["firewall_service_enabled"]:
            out.append(NodeFile("firewall", BOOT_UNIT,
                                (files / "rscctl-fw-guard-boot.service").read_text()))
        out.append(NodeFile("firewall", planned_ruleset(self.v),
                            render(FIREWALL_TEMPLATE, firewall_ruleset=ruleset), "0600"))
        return out

    def base(self, host: str, hv: Mapping[str, Any]) -> list[NodeFile]:
        if self._hosts_file is None:
            self._hosts_file = _read(self.plan_dir / "hosts", "the plan's hosts file",
                                     f"run `rscctl plan {self.build}`")
        ctx = {"rsc_build": self.build, "rsc_domain": self.all["rsc_domain"],
               "base_ntp_servers": list(self.data["groups"].get("management_host", []))}
        env = _role_env("base")
        out = [NodeFile("base", "/etc/hostname", f"{host}\n"),
               NodeFile("base", "/etc/hosts", self._hosts_file),
               NodeFile("base", str(self.v["base_chrony_sources"]),
                        env.get_template("chrony.sources.j2").render(**ctx))]
        mirror = str((self.all.get("rsc_mirrors") or {}).get("apt") or "")
        if mirror:
            src = str(self.v["base_apt_sources"])
            out += [NodeFile("base", src, env.get_template("mirror.sources.j2").render(
                        **ctx, base_apt_mirror=mirror, base_apt_suites=self.v["base_apt_suites"])),
                    NodeFile("base", "/etc/apt/sources.list",
                             f"# rscctl: packages come only from {src}\n")]
        return out

    def fabric(self, hv: Mapping[str, Any]) -> list[NodeFile]:
        units = _ipoib_units()(hv["rsc_interfaces"], self.build,
                               self.v["fabric_networkd_dir"], self.v["fabric_netdev_of"],
                               self.v["fabric_network"])
        return [*(NodeFile("fabric", u["dest"], u["content"]) for u in units),
                NodeFile("fabric", str(self.v["fabric_node_desc_file"]),
                         f"{self.v['fabric_node_desc_format']}\n")]

    def storage(self, host: str, hv: Mapping[str, Any]) -> list[NodeFile]:
        root = str(self.v["nfs_tls_root"])
        nfs = self.all["rsc_nfs_tls"]
        fix = f"run `rscctl pki {self.build}` (or pass --secrets)"
        out = [NodeFile("storage", root + nfs["ca_path"],
                        _read(self.secrets / "ca.pem", "the cluster CA certificate", fix)),
               NodeFile("storage", root + nfs["cert_path"],
                        _read(self.secrets / "nodes" / f"{host}.pem",
                              f"{host}'s certificate", fix)),
               NodeFile("storage", root + nfs["key_path"],
                        _read(self.secrets / "nodes" / f"{host}.key", f"{host}'s key", fix),
                        "0600", secret=True),
               NodeFile("storage", root + str(self.v["nfs_tls_conf_path"]),
                        render("nfs/tlshd.conf.j2", build=self.build, nfs=nfs))]
        unit_dir = root + str(self.v["nfs_tls_unit_dir"])
        out += [NodeFile("storage", f"{unit_dir}/{m['unit']}",
                         render("nfs/nfs.mount.j2", mount=m, build=self.build))
                for m in hv.get("rsc_nfs_mounts", [])]
        return out

    def firewall_ruleset(self, hv: Mapping[str, Any]) -> dict[str, Any] | None:
        """The `firewall_ruleset` group variable of the host's role group, if it has one."""
        group = role_group(str(hv["rsc_role"]))
        if group not in self.data.get("children", {}).get("firewall", []):
            return None
        rs = self.data.get("group_vars", {}).get(group, {}).get("firewall_ruleset")
        return dict(rs) if rs is not None else None
