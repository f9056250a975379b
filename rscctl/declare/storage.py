"""Declarations of the storage fabric, the management networks and the DNS of a build.

Wired into Build as `storage`, `management` and `dns`; rules.py checks them against the rest of
the build. Every number is a declared value with a
default a user can change; the planner never hides one in code.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from rscctl.declare.catalog import Strict
from rscctl.declare.fields import (
    AbsPath,
    AreaName,
    Days,
    DnsSerial,
    DnsTtl,
    DomainName,
    GroupName,
    Label,
    MountOption,
    MountPoint,
    Petabytes,
    Ratio,
    SmallCount,
    SystemCount,
    Text,
    check_mount_point,
)


class StorageSystemGroup(Strict):
    """`count` storage systems of one model, named `{name}{n:03d}` (fa001, cache001, ...).

    `reserve` system slots are kept on the storage spines (ports and addresses) so a later
    phase can raise `count` up to it without moving anything; new groups are appended.
    """

    name: GroupName
    model: str
    count: SystemCount
    reserve: SystemCount | None = None
    capacity_pb: Petabytes | None = Field(
        default=None, gt=0,
        description="capacity the group must provide (checked against the model)",
    )
    rows: tuple[AreaName, ...] = Field(
        default=(), description="rows whose storage racks hold the group (default: any)"
    )
    cable_class: str = "eth100"
    description: Text = ""
    export: AbsPath | None = Field(
        default=None,
        description="NFS export every GPU node and server mounts from one system of the group",
    )
    mount_point: MountPoint | None = None

    @property
    def where(self) -> str | None:
        """Where clients mount the export (the NFS exporter's default: /mnt/EXPORT)."""
        if self.export is None:
            return None
        return self.mount_point or f"/mnt/{self.export.strip('/')}"

    @property
    def slots(self) -> int:
        return self.reserve or self.count

    @model_validator(mode="after")
    def _reserve_covers_count(self) -> StorageSystemGroup:
        """A group cannot have more systems than slots reserved for it."""
        if self.reserve is not None and self.reserve < self.count:
            raise ValueError(
                f"reserve={self.reserve} is below count={self.count}; raise reserve to at "
                f"least {self.count} (or drop it)"
            )
        return self


class NfsTls(Strict):
    """NFS over TLS (RPC-with-TLS, xprtsec=mtls): where tlshd finds its keys, mount options."""

    ca_path: AbsPath = "/etc/tlshd/rsc-ca.pem"
    cert_path: AbsPath = "/etc/tlshd/node.pem"
    key_path: AbsPath = "/etc/tlshd/node.key"
    mount_options: tuple[MountOption, ...] = Field(
        default=("vers=4.2", "proto=tcp", "xprtsec=mtls", "hard", "_netdev"), max_length=64)
    cert_days: Days = 730
    ca_days: Days = 3650

    @model_validator(mode="after")
    def _mtls(self) -> NfsTls:
        """The storage path is encrypted and mutually authenticated, always."""
        if "xprtsec=mtls" not in self.mount_options:
            raise ValueError(
                "storage.nfs.mount_options must include xprtsec=mtls (the data path between "
                "storage and GPUs is encrypted and mutually authenticated)"
            )
        return self


class StorageFabric(Strict):
    """A two-level Ethernet leaf-spine from the DGX storage ports to the storage systems.

    Per SU, `leaves_per_su` leaves take the SU's node storage ports (port p of a node goes to
    leaf p mod leaves_per_su); each leaf sends `uplinks_per_leaf` links spread evenly over the
    spines; storage systems and the servers' storage ports attach to the spines.
    """

    leaf_model: str
    spine_model: str
    leaves_per_su: SmallCount = 2
    uplinks_per_leaf: SmallCount
    spines: SmallCount
    max_oversubscription: Ratio = Field(
        description="node-facing : spine-facing bandwidth allowed at a storage leaf"
    )
    target_tbytes_s: Ratio = Field(
        description="storage -> GPU bandwidth the fabric must deliver, in TB/s"
    )
    cable_class: str = "eth200"
    server_cable_class: str = "eth100"
    systems: tuple[StorageSystemGroup, ...] = Field(min_length=1, max_length=256)
    nfs: NfsTls = NfsTls()

    @model_validator(mode="after")
    def _mount_points_distinct(self) -> StorageFabric:
        """Each export is mounted at its own directory, off the system directories."""
        seen: dict[str, int] = {}
        for i, g in enumerate(self.systems):
            where = g.where
            if where is None:
                continue
            try:
                check_mount_point(where)
            except ValueError as exc:
                raise ValueError(
                    f"storage.systems[{i}].mount_point: the default /mnt/EXPORT gives {exc}"
                ) from None
            if where in seen:
                raise ValueError(
                    f"storage.systems[{i}].mount_point: {where} is also the mount point of "
                    f"storage.systems[{seen[where]}]; give each group its own mount_point"
                )
            seen[where] = i
        return self


class Management(Strict):
    """In-band and out-of-band Ethernet: access switches per pod and per row, a core pair."""

    access_model: str = "sn2201"
    core_model: str = "dcs-7812r3"
    cores: SmallCount = Field(default=2, le=4, description="hosts .1-.4 of every segment")
    pdu_model: str = "px3-0u"
    pdus_per_rack: int = Field(default=2, ge=0, le=4)
    access_cable_class: str = "cat6"
    uplink_cable_class: str = "eth100"
    row_switch_block: SmallCount = Field(
        default=6, description="core ports reserved per row without pods (its access switches)"
    )


class Dns(Strict):
    """The forward zone all names live in; the serial is declared (the plan reads no clock)."""

    domain: DomainName = "rsc.internal"
    serial: DnsSerial = 1
    nameservers: tuple[Label, ...] = Field(
        default=(), max_length=16,
        description="devices serving the zones (default: the management hosts)",
    )
    ttl: DnsTtl = 3600
