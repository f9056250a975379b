"""Which hosts a lab runs and their addresses: a pure function of the build and its plan.

Every device of the plan whose model is a gpu-node, a server or a storage system becomes a lab
host, plus one host for each zone outside the cluster (the internet, the production
datacenters) so that isolation can be probed. Addresses come from the plan's address plan
(network `inband`) when it has one, else from the `inband` supernet in the order of the plan's
devices (positional, so deterministic). The controller gets the highest free address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from rscctl.declare.build import Build
from rscctl.errors import UserError
from rscctl.names import role_group
from rscctl.planjson import read_plan
from rscctl.planner.model import Plan

LAB_KINDS = ("gpu-node", "server", "storage")
LAB_NETWORK = "inband"
# Stands for "the internet" inside the lab: the benchmarking range (RFC 2544), never routed.
INTERNET = IPv4Network("198.18.0.0/15")
# Used when the build declares no external zone: the operator's production datacenters.
PRODUCTION = IPv4Network("10.128.0.0/10")
NETNS_PREFIX = "rscl"


@dataclass(frozen=True)
class LabHost:
    """One container of the lab: name, role, Ansible group, address on the lab segment."""

    name: str
    role: str
    group: str
    address: IPv4Address
    prefix_len: int
    zone_host: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "group": self.group,
                "address": str(self.address), "prefix_len": self.prefix_len,
                "zone_host": self.zone_host}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabHost:
        return cls(d["name"], d["role"], d["group"], IPv4Address(d["address"]),
                   int(d["prefix_len"]), bool(d.get("zone_host", False)))


@dataclass(frozen=True)
class LabLayout:
    """All hosts of one lab and the controller's address on the same segment."""

    build: str
    hosts: tuple[LabHost, ...]
    controller: IPv4Address
    controller_prefix_len: int

    def as_dict(self) -> dict[str, Any]:
        return {"build": self.build, "controller": str(self.controller),
                "controller_prefix_len": self.controller_prefix_len,
                "hosts": [h.as_dict() for h in self.hosts]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabLayout:
        return cls(d["build"], tuple(LabHost.from_dict(h) for h in d["hosts"]),
                   IPv4Address(d["controller"]), int(d["controller_prefix_len"]))


def read_lab_plan(build: Build, plan_file: Path) -> Plan:
    """The written plan of the build (out/BUILD/plan.json): the lab runs the hosts and
    addresses the inventory and rulesets of that plan were made for, never a plan of its own."""
    if not plan_file.exists():
        raise UserError(
            f"{plan_file}: no plan of build {build.name}; the lab runs the written plan: run "
            f"`rscctl plan {build.name}` first (or pass --out DIR of a plan of it)")
    plan = read_plan(plan_file)
    if plan.build != build.name:
        raise UserError(
            f"{plan_file}: a plan of build {plan.build!r}, not {build.name!r}; run "
            f"`rscctl plan {build.name}` first (or pass --out DIR of a plan of it)")
    return plan


def lab_id(state_dir: Path) -> str:
    """A short id of a lab, from its state directory: names its namespaces and containers."""
    return hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:6]


def _inband(build: Build) -> IPv4Network:
    net = build.networks.get(LAB_NETWORK)
    if net is None:
        raise UserError(
            f"build {build.name}: networks.{LAB_NETWORK} is missing; the lab puts its hosts on "
            f"the in-band network: declare e.g. `networks: {{{LAB_NETWORK}: {{supernet: "
            "10.16.0.0/16}}`")
    return net.supernet


def _planned(plan: Plan) -> dict[str, tuple[IPv4Address, int]]:
    """The first in-band address (by interface name) of each device in the address plan."""
    out: dict[str, tuple[IPv4Address, int]] = {}
    for a in sorted(plan.addresses, key=lambda a: (a.device, a.interface)):
        if a.network == LAB_NETWORK and a.device not in out:
            out[a.device] = (IPv4Address(a.address), a.prefix_len)
    return out


def _external_prefixes(build: Build) -> list[IPv4Network]:
    policy = getattr(build, "policy", None)
    if policy is None:
        return []
    return [IPv4Network(p) for z in policy.zones if z.kind == "external" for p in z.prefixes]


def _zone_hosts(build: Build, taken: set[IPv4Address]) -> list[LabHost]:
    prod = (_external_prefixes(build) or [PRODUCTION])[0]
    out = []
    for name, role, net in (("internet", "internet", INTERNET), ("proddc", "production", prod)):
        addr = _first_free(net.hosts(), taken, f"zone host {name} in {net}")
        taken.add(addr)
        out.append(LabHost(name, role, "lab_outside", addr, net.prefixlen, True))
    return out


def _first_free(candidates: Iterable[IPv4Address], taken: set[IPv4Address],
                what: str) -> IPv4Address:
    for addr in candidates:
        if addr not in taken:
            return addr
    raise UserError(f"no free address for {what}; declare a larger supernet")


def lab_layout(build: Build, plan: Plan) -> LabLayout:
    """The lab's hosts in plan order, then the zone hosts; the controller last."""
    inband = _inband(build)
    planned = _planned(plan)
    kinds = {name: m.kind for name, m in plan.models.items()}
    devices = [d for d in plan.devices if kinds.get(d.model) in LAB_KINDS]
    if not devices:
        raise UserError(f"build {build.name}: no gpu nodes, servers or storage hosts to run")
    taken = {IPv4Address(a.address) for a in plan.addresses if a.network == LAB_NETWORK}
    top = inband.broadcast_address - 1
    controller = _first_free((top - i for i in range(min(256, inband.num_addresses - 2))),
                             taken, f"the lab controller in {inband}")
    taken.add(controller)
    # Without an address plan, hosts are numbered from the bottom of the supernet; with one,
    # the few hosts it leaves out (e.g. storage systems: no in-band port) are numbered from
    # the top, below the controller, away from the plan's segments.
    pool = inband.hosts() if not planned else (top - i for i in range(inband.num_addresses - 2))
    hosts: list[LabHost] = []
    for d in devices:
        if d.name in planned:
            addr, plen = planned[d.name]
        else:
            addr, plen = _first_free(pool, taken, f"{d.name} in {inband}"), inband.prefixlen
            taken.add(addr)
        hosts.append(LabHost(d.name, d.role, role_group(d.role), addr, plen))
    hosts += _zone_hosts(build, taken)
    return LabLayout(build.name, tuple(hosts), controller, inband.prefixlen)
