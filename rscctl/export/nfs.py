"""NFS over TLS, as data and files: who mounts what, the tlshd config and the mount units.

Every NFS client (GPU nodes, and the servers with a storage port) mounts each declared export
from one system of its group, chosen by position so that load spreads evenly and growth moves
no existing mount: GPU node n takes system (n-1) mod count and, among its data ports,
((n-1) div count) mod ports; servers count on their own. The server is named by its storage
port's DNS name, which is in its certificate (rscctl.pki), so tlshd can verify it.

Files (kind `nfs`): nfs/tlshd.conf (the same on every node: each node's own key and certificate
sit at the same paths), nfs/mounts.csv (host, unit, what, where, options, file) and one unit
per server port and mount point, nfs/units/SERVER-PORT/<escaped mount point>.mount: the bytes
Ansible writes on every host that mounts from that port (playbooks/roles/nfs_tls).
"""

from __future__ import annotations

from dataclasses import dataclass

from rscctl.export import escape
from rscctl.export.csvs import csv_bytes
from rscctl.export.escape import systemd_escape_path
from rscctl.export.names import iface_name
from rscctl.outputs import Files
from rscctl.planner.facts import NfsFacts
from rscctl.planner.model import Plan
from rscctl.templating import render

SWITCH_ROLES = {"storage-leaf", "storage-spine", "storage-system"}


@dataclass(frozen=True, slots=True)
class Mount:
    what: str
    where: str
    export: str
    options: str

    @property
    def unit(self) -> str:
        """systemd's name for the mount point: /mnt/datasets -> mnt-datasets.mount."""
        return systemd_escape_path(self.where) + ".mount"


def nfs_settings(plan: Plan) -> NfsFacts | None:
    """The NFS-over-TLS settings; none when the build declares no storage."""
    return plan.facts.storage.nfs if plan.facts.storage else None


def checked_settings(plan: Plan) -> NfsFacts | None:
    """nfs_settings with every value tlshd.conf holds checked against the key-file grammar."""
    settings = nfs_settings(plan)
    if settings is not None:
        escape.keyfile_value(settings.ca_path, "storage.nfs.ca_path")
        escape.keyfile_value(settings.cert_path, "storage.nfs.cert_path")
        escape.keyfile_value(settings.key_path, "storage.nfs.key_path")
    return settings


def checked_mount(m: Mount) -> Mount:
    """A mount whose values can be unit lines: one line each, Where= a normalised path."""
    escape.systemd_value(m.what, "mount what (storage system, dns.domain, export)")
    escape.mount_point(m.where, "storage.systems[].mount_point")
    escape.systemd_value(m.options, "storage.nfs.mount_options")
    escape.plain_text(m.export, "storage.systems[].export")
    escape.dns_name(m.what.split(":", 1)[0], "mount server (storage system, dns.domain)")
    return m


def clients(plan: Plan) -> list[tuple[str, int]]:
    """(host, position) of every NFS client: GPU nodes by number, then servers in plan order."""
    on_storage = {a.device for a in plan.addresses if a.network == "storage"}
    nodes = [(d.name, (d.index or 1) - 1) for d in plan.devices if d.role == "gpu-node"]
    others = [d.name for d in plan.devices if d.name in on_storage
              and d.role not in SWITCH_ROLES and d.role != "gpu-node"]
    return nodes + [(name, i) for i, name in enumerate(others)]


def mounts(plan: Plan) -> dict[str, list[Mount]]:
    """Every client's mounts, one per declared export."""
    storage = plan.facts.storage
    domain = plan.facts.dns.domain
    options = ",".join(storage.nfs.mount_options) if storage else ""
    groups = [(g.export, g) for g in (storage.systems.values() if storage else ())
              if g.export and g.systems]
    out: dict[str, list[Mount]] = {}
    for host, i in clients(plan):
        items = []
        for export, g in groups:
            systems, ports = g.systems, g.data_ports
            system = systems[i % len(systems)]
            port = ports[(i // len(systems)) % len(ports)]
            where = g.mount_point or f"/mnt/{export.strip('/')}"
            items.append(Mount(f"{iface_name(system, port)}.{domain}:{export}", where,
                               export, options))
        out[host] = items
    return out


MOUNT_COLUMNS = ("host", "unit", "what", "where", "options", "file")


def unit_file(m: Mount) -> str:
    """Where the unit is written: one file per server port and mount point (hosts that mount
    from the same server port get the same bytes), e.g. nfs/units/cache001-data0/mnt-cache.mount.
    """
    return f"nfs/units/{escape.host_label(m.what.split('.', 1)[0], 'mount server')}/{m.unit}"


def export_nfs(plan: Plan) -> Files:
    """nfs/tlshd.conf, nfs/mounts.csv (every client's mounts) and each distinct mount unit."""
    settings = checked_settings(plan)
    if settings is None:
        return {}
    build = escape.plain_text(plan.build, "name")
    files: Files = {"nfs/tlshd.conf": render("nfs/tlshd.conf.j2", build=build,
                                             nfs=settings).encode("utf-8")}
    rows = []
    for host, items in mounts(plan).items():
        for m in items:
            path = unit_file(m)
            rows.append((host, m.unit, m.what, m.where, m.options, path))
            if path not in files:
                files[path] = render("nfs/nfs.mount.j2", build=build,
                                     mount=checked_mount(m)).encode("utf-8")
    files["nfs/mounts.csv"] = csv_bytes(MOUNT_COLUMNS, rows)
    return files
