"""Every name rscctl gives: devices, interfaces, roles and Ansible groups, one rule each.

The declaration checks (rscctl.declare), the planner, the exporters, the lab and the Ansible
inventory all name things through this module, so a name is made one way everywhere. It
imports nothing of rscctl: the declared patterns reach it as a `Naming` (rscctl.declare.build
declares them, with the defaults below), positions as integers.

| what                     | rule (defaults)                        | example              |
|--------------------------|----------------------------------------|----------------------|
| GPU node                 | `naming.node` `dgx{n:04d}`, n = (su-1)*nodes_per_su + slot | dgx0042 |
| compute leaf / spine     | `naming.leaf` / `naming.spine`         | leaf-s001-r3, spine07|
| storage leaf / spine     | `naming.storage_leaf` / `storage_spine`| sleaf-s001-2, sspine03|
| storage system           | group + 3 digits                       | fa001                |
| server                   | group + 2 digits                       | bastion01            |
| access switch            | inb/oob - pod (s001) or row (h1-st1) - j | inb-s001-1, oob-h1-st1-2 |
| management core          | mgmt-core + k                          | mgmt-core1           |
| PDU                      | pdu - rack (lowercase) - feed a..d     | pdu-h1-a01-01-a      |
| rack                     | hall-row-position                      | H1-A01-07            |
| interface (DNS)          | device - port as a DNS label           | dgx0001-mlx5-8       |
| Ansible group            | role with '_' for '-'; su_ + 3 digits  | gpu_node, su_001     |
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Protocol

# The defaults of the declared patterns (rscctl.declare.build.Naming): today's names.
NODE = "dgx{n:04d}"
LEAF = "leaf-s{su:03d}-r{rail}"
SPINE = "spine{n:02d}"
STORAGE_LEAF = "sleaf-s{su:03d}-{leaf}"
STORAGE_SPINE = "sspine{n:02d}"


class Naming(Protocol):
    """The declared name patterns (rscctl.declare.build.Naming has these fields)."""

    @property
    def node(self) -> str: ...
    @property
    def leaf(self) -> str: ...
    @property
    def spine(self) -> str: ...
    @property
    def storage_leaf(self) -> str: ...
    @property
    def storage_spine(self) -> str: ...


class Role(StrEnum):
    """What a device is; the text is what plan.json, devices.csv and NetBox carry."""

    GPU_NODE = "gpu-node"
    COMPUTE_LEAF = "compute-leaf"
    COMPUTE_SPINE = "compute-spine"
    STORAGE_LEAF = "storage-leaf"
    STORAGE_SPINE = "storage-spine"
    STORAGE_SYSTEM = "storage-system"
    INBAND_SWITCH = "inband-switch"
    OOB_SWITCH = "oob-switch"
    MGMT_CORE = "mgmt-core"
    PDU = "pdu"
    BASTION = "bastion"
    INGEST_GATEWAY = "ingest-gateway"
    MANAGEMENT_HOST = "management-host"


# -- devices --------------------------------------------------------------------------------

def node_number(nodes_per_su: int, su: int, slot: int) -> int:
    """A GPU node's number from its position: SU slots are filled in order."""
    return (su - 1) * nodes_per_su + slot


def node_name(naming: Naming, nodes_per_su: int, su: int, slot: int) -> str:
    """The GPU node in `slot` of SU `su` (dgx0042)."""
    return naming.node.format(n=node_number(nodes_per_su, su, slot), su=su, slot=slot)


def leaf_name(naming: Naming, su: int, rail: int) -> str:
    """The compute leaf of rail `rail` in SU `su` (leaf-s001-r3)."""
    return naming.leaf.format(su=su, rail=rail)


def spine_name(naming: Naming, n: int) -> str:
    """Compute spine (director) `n` (spine07)."""
    return naming.spine.format(n=n)


def storage_leaf_name(naming: Naming, su: int, leaf: int) -> str:
    """Storage leaf `leaf` of SU `su` (sleaf-s001-2)."""
    return naming.storage_leaf.format(su=su, leaf=leaf)


def storage_spine_name(naming: Naming, n: int) -> str:
    """Storage spine `n` (sspine03)."""
    return naming.storage_spine.format(n=n)


def system_name(group: str, n: int) -> str:
    """Storage system `n` of a group (fa001): group names carry no '-' so the number reads."""
    return f"{group}{n:03d}"


def server_name(group: str, n: int) -> str:
    """Server `n` of a server group (bastion01)."""
    return f"{group}{n:02d}"


def pod_scope(su: int) -> str:
    """The scope part of a pod's access switch names (s001)."""
    return f"s{su:03d}"


def row_scope(hall: str, row: str) -> str:
    """The scope part of a row's access switch names (h1-st1)."""
    return f"{hall}-{row}".lower()


def access_name(network: str, scope: str, j: int) -> str:
    """Access switch `j` of a pod or row on the in-band or oob network (inb-s001-1)."""
    return f"{'inb' if network == 'inband' else 'oob'}-{scope}-{j}"


def core_name(k: int) -> str:
    """Management core `k` (mgmt-core1)."""
    return f"mgmt-core{k}"


FEEDS = "abcd"


def pdu_name(rack: str, feed: int) -> str:
    """The zero-U PDU on feed `feed` (1 = a) of a rack (pdu-h1-a01-01-a)."""
    return f"pdu-{rack.lower()}-{FEEDS[feed - 1]}"


def rack_name(hall: str, row: str, position: int) -> str:
    """Rack names say where the rack stands: hall, row, position (H1-A01-07)."""
    return f"{hall}-{row}-{position:02d}"


# -- interfaces -----------------------------------------------------------------------------

_NOT_LABEL = re.compile(r"[^a-z0-9-]+")


def port_label(port: str) -> str:
    """A port name as a DNS label part: lowercased, other characters as '-' (mlx5_8 ->
    mlx5-8, L01/P01 -> l01-p01)."""
    return _NOT_LABEL.sub("-", port.lower()).strip("-")


def iface_name(device: str, interface: str) -> str:
    """The host name of one interface's address (dgx0001-mlx5-8, dgx0001-bmc)."""
    return f"{device}-{port_label(interface)}"


# -- Ansible groups -------------------------------------------------------------------------

def role_group(role: str) -> str:
    """The Ansible group of a role: group names take no '-' (gpu-node -> gpu_node)."""
    return role.replace("-", "_")


def su_group(su: int) -> str:
    """The Ansible group of the GPU nodes of SU `su` (su_001)."""
    return f"su_{su:03d}"


__all__ = [
    "FEEDS", "LEAF", "NODE", "SPINE", "STORAGE_LEAF", "STORAGE_SPINE", "Naming", "Role",
    "access_name", "core_name", "iface_name", "leaf_name", "node_name", "node_number",
    "pdu_name", "pod_scope", "port_label", "rack_name", "role_group", "row_scope",
    "server_name", "spine_name", "storage_leaf_name", "storage_spine_name", "su_group",
    "system_name",
]
