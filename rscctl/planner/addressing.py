"""The address plan: every interface's address from its position, never from iteration order.

Each declared network (`networks.NAME.supernet`) is cut into segments of `segment_prefix`;
segment k is the k-th such block. A host number inside a segment also comes from position:

| network | segment                                           | host                           |
|---------|---------------------------------------------------|--------------------------------|
| inband  | SU slot s (1..max_sus); row r without pods at     | .1-.4 the management cores,    |
|         | 1 + max_sus + r (rows in floor order); 0 spare    | .5-.9 the segment's oob access |
| oob     | the same                                          | switches, endpoints from .10   |
|         |                                                   | by position (management.py)    |
| storage | storage leaf (s, l) at (s-1)*leaves_per_su + l-1; | .1 the leaf or spine; nodes by |
|         | spine k at max_sus*leaves_per_su + k-1            | slot and port, systems by      |
|         |                                                   | reserved port slot, servers    |
|         |                                                   | from the top down              |
| ipoib   | rail i at i-1 (one segment per rail)              | the node's number (dgx0042: 42)|

The segment numbers come from rscctl.declare.segments, the functions the declaration's check of
the supernets uses too. SU slots up to `compute.max_sus` are reserved, so a phase that adds SUs
adds segments and never moves an existing address. Addresses are computed with the ipaddress
module from integers.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from ipaddress import IPv4Network

from rscctl import names
from rscctl.declare.build import Build
from rscctl.declare.loader import FieldError
from rscctl.declare.segments import ipoib_segment
from rscctl.planner.builder import (
    AddressesResult,
    ComputeResult,
    ManagementResult,
    ServersResult,
    StorageResult,
    addresses_of,
    devices_of,
)
from rscctl.planner.facts import DnsFacts, NetworkFacts
from rscctl.planner.model import Address, Device

# VLAN of segment k of a network: base + k (the gateways' interface names, vlan1001, ...).
VLAN_BASE = {"inband": 1000, "oob": 2000, "storage": 3000}


@dataclass(frozen=True, slots=True)
class Segment:
    network: str
    index: int
    subnet: IPv4Network

    @property
    def vlan(self) -> int:
        return VLAN_BASE.get(self.network, 0) + self.index


class AddressPlan:
    """Segment and host arithmetic over the declared supernets; errors name the field to fix."""

    def __init__(self, build: Build) -> None:
        self.build = build
        self._base: dict[str, tuple[int, int, int, int]] = {}
        for name, net in build.networks.items():
            size = 2 ** (32 - net.segment_prefix)
            count = 2 ** (net.segment_prefix - net.supernet.prefixlen)
            self._base[name] = (int(net.supernet.network_address), size, count,
                                net.segment_prefix)

    def segment(self, network: str, index: int) -> Segment:
        base, size, count, prefix = self._get(network)
        if not 0 <= index < count:
            raise FieldError(
                self.build, f"networks.{network}.supernet",
                f"networks.{network}: segment {index} is past the {count} segments of "
                f"/{prefix} in {self.build.networks[network].supernet}; widen the supernet"
            )
        return Segment(network, index, IPv4Network((base + index * size, prefix)))

    def host(self, network: str, index: int, host: int) -> tuple[str, int]:
        """Address `host` of segment `index` and the segment's prefix length (inet_ntoa
        writes the same text as str(IPv4Address), ten times faster)."""
        base, size, count, prefix = self._get(network)
        if not 0 <= index < count:
            self.segment(network, index)
        if not 1 <= host <= size - 2:
            raise FieldError(
                self.build, f"networks.{network}.segment_prefix",
                f"networks.{network}.segment_prefix={prefix}: host {host} does not fit a "
                f"segment of {size - 2} hosts; shorten segment_prefix"
            )
        return socket.inet_ntoa((base + index * size + host).to_bytes(4, "big")), prefix

    def add(self, out: list[Address], device: str, interface: str, network: str,
            index: int, host: int) -> None:
        addr, prefix = self.host(network, index, host)
        out.append(Address(device, interface, network, addr, prefix))

    def hosts_per_segment(self, network: str) -> int:
        return self._get(network)[1] - 2

    def _get(self, network: str) -> tuple[int, int, int, int]:
        if network not in self._base:
            raise FieldError(
                self.build, "networks",
                f"networks: no network named {network!r}; declare networks.{network}.supernet"
            )
        return self._base[network]


def gpu_nodes(build: Build) -> list[tuple[int, int, int, str]]:
    """(SU, slot, node number, name) of every GPU node present (rscctl.names names them)."""
    c = build.compute
    out = []
    for su in range(1, c.scalable_units + 1):
        for slot in range(1, min(c.nodes_per_su, c.gpu_nodes - (su - 1) * c.nodes_per_su) + 1):
            out.append((su, slot, names.node_number(c.nodes_per_su, su, slot),
                        names.node_name(build.naming, c.nodes_per_su, su, slot)))
    return out


def plan_ipoib(build: Build, out: list[Address]) -> None:
    """IPoIB: node n's HCA of rail i gets host n of rail i's segment."""
    if "ipoib" not in build.networks:
        return
    ap = AddressPlan(build)
    hcas = sorted((p.rail or 0, p.name) for p in build.model(build.compute.node_model).ports_of(
        "compute"))
    for _su, _slot, n, name in gpu_nodes(build):
        for rail, port in hcas:
            ap.add(out, name, port, "ipoib", ipoib_segment(rail), n)


def nameservers(build: Build, devices: list[Device], addresses: list[Address]) -> list[str]:
    """The declared name servers, else the first two management hosts, bastions or other
    servers (else any in-band host): a zone always has a name server with an address."""
    declared = list(build.dns.nameservers)
    addressed = {a.device for a in addresses if a.network == "inband"}
    if not addressed:
        return declared   # no management network planned: nothing to resolve them with
    for i, name in enumerate(declared):
        if name not in addressed:
            hosts = [d.name for d in devices if d.role in ("management-host", "bastion")]
            raise FieldError(
                build, f"dns.nameservers[{i}]",
                f"dns.nameservers: {name!r} is not a planned host with an in-band address; "
                f"name one of: {', '.join(hosts[:6]) or 'a server declared under servers'}"
            )
    if declared:
        return declared
    for role in ("management-host", "bastion"):
        found = [d.name for d in devices if d.role == role and d.name in addressed][:2]
        if found:
            return found
    servers = [d.name for d in devices if d.name in addressed
               and build.model(d.model).kind == "server"]
    return servers[:2] or [d.name for d in devices if d.name in addressed][:1]


def plan_addresses(build: Build, compute: ComputeResult, servers: ServersResult,
                   storage: StorageResult, management: ManagementResult) -> AddressesResult:
    """The last addressing step, after every stage that places devices: IPoIB, and the
    declared networks and DNS (name servers among the addressed hosts) as facts."""
    earlier = (compute, servers, storage, management)
    own: list[Address] = []
    plan_ipoib(build, own)
    devices = list(devices_of(*earlier))
    addresses = [*addresses_of(*earlier), *own]
    networks = {
        name: NetworkFacts(supernet=str(net.supernet), segment_prefix=net.segment_prefix,
                           description=net.description, vlan_base=VLAN_BASE.get(name))
        for name, net in sorted(build.networks.items())
    }
    d = build.dns
    dns = DnsFacts(domain=d.domain, serial=d.serial,
                   nameservers=tuple(nameservers(build, devices, addresses)), ttl=d.ttl)
    return AddressesResult(addresses=tuple(own), networks=networks, dns=dns,
                           count=len(addresses))
