"""Which addresses each zone holds, from the plan's address plan (or, before it exists, slices).

An internal zone owns the addresses, in its networks, of the devices whose role matches its
roles; zones are tried in declaration order and the first match wins, so every address has one
zone. A network the address plan has not filled yet is split evenly between the zones that use
it, in declaration order (marked provisional), so zones never overlap either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from ipaddress import IPv4Address, IPv4Network
from math import ceil, log2
from socket import inet_aton

from rscctl.declare.policy import Policy
from rscctl.errors import UserError
from rscctl.planner import intervals as iv
from rscctl.planner.facts import FirewallFacts
from rscctl.planner.model import Plan


@dataclass(frozen=True)
class ResolvedZone:
    """A zone with its addresses: prefixes (collapsed), and whether they are provisional."""

    name: str
    kind: str
    ruleset: str | None
    prefixes: tuple[IPv4Network, ...]
    provisional: bool

    @property
    def spans(self) -> iv.Spans:
        return iv.of_networks(self.prefixes)

    def hosts(self, n: int) -> list[IPv4Address]:
        """The first n usable addresses of the zone (for test hosts and the lab)."""
        out: list[IPv4Address] = []
        for net in self.prefixes:
            # A provisional slice is a subnet (skip its network and broadcast addresses); a
            # prefix collapsed from the address plan holds only real host addresses.
            edge = 1 if self.provisional and net.prefixlen < 31 else 0
            first, last = edge, net.num_addresses - edge
            for i in range(first, min(last, first + n - len(out))):
                out.append(net.network_address + i)
            if len(out) == n:
                break
        return out


@dataclass(frozen=True)
class ZoneMap:
    """Every zone of a plan's policy, and the address spaces the proofs speak about."""

    policy: Policy
    networks: dict[str, IPv4Network]
    zones: tuple[ResolvedZone, ...]
    unzoned: int

    def zone(self, name: str) -> ResolvedZone:
        return next(z for z in self.zones if z.name == name)

    def of_kind(self, kind: str) -> list[ResolvedZone]:
        return [z for z in self.zones if z.kind == kind]

    def spans_of_kind(self, kind: str) -> iv.Spans:
        return iv.union(*(z.spans for z in self.of_kind(kind)))

    @property
    def cluster(self) -> iv.Spans:
        """Every address of the enclave: the declared supernets and the internal zones."""
        internal = [z.spans for z in self.zones if z.ruleset is not None]
        return iv.union(iv.of_networks(self.networks.values()), *internal)

    @property
    def external(self) -> iv.Spans:
        return self.spans_of_kind("external")

    @property
    def internet(self) -> iv.Spans:
        return iv.complement(iv.union(self.cluster, self.external))


def policy_facts(plan: Plan) -> FirewallFacts:
    """The plan's policy; a plan without one is the user's mistake (rendering, verifying)."""
    fw = plan.facts.firewall
    if fw is None:
        raise UserError(
            f"plan {plan.build!r} has no firewall policy; add a `policy:` section to the "
            "declaration (see topology/phase1.yaml) and plan again"
        )
    return fw


def resolve_zones(plan: Plan) -> ZoneMap:
    """Zones of the plan's policy with their prefixes. Pure: reads only the plan."""
    fw = policy_facts(plan)
    policy = fw.policy
    networks = {k: IPv4Network(v) for k, v in fw.networks.items()}
    internal = [z for z in policy.zones if z.internal]
    hosts: dict[str, list[int]] = {z.name: [] for z in internal}
    roles = {d.name: d.role for d in plan.devices}
    owner: dict[tuple[str, str], str | None] = {}
    filled: set[str] = set()
    unzoned = 0
    for a in plan.addresses:
        filled.add(a.network)
        role = roles.get(a.device, "")
        key = (a.network, role)
        if key not in owner:
            owner[key] = next(
                (z.name for z in internal
                 if a.network in z.networks and any(fnmatchcase(role, p) for p in z.roles)),
                None,
            )
        zone = owner[key]
        if zone is None:
            unzoned += 1
        else:
            # inet_aton: ~20x faster than ipaddress on phase 2's 35,000 addresses
            hosts[zone].append(int.from_bytes(inet_aton(a.address), "big"))
    slices = _provisional_slices(policy, networks, filled)
    out: list[ResolvedZone] = []
    for z in policy.zones:
        if z.kind == "external":
            nets = tuple(iv.to_networks(iv.of_networks(z.prefixes)))
            out.append(ResolvedZone(z.name, z.kind, None, nets, False))
        elif z.kind == "internet":
            out.append(ResolvedZone(z.name, z.kind, None, (), False))
        else:
            parts = slices.get(z.name, [])
            spans = iv.union(iv.normalize((h, h) for h in hosts[z.name]), iv.of_networks(parts))
            nets = tuple(iv.to_networks(spans))
            out.append(ResolvedZone(z.name, z.kind, z.ruleset_name, nets, bool(parts)))
    return ZoneMap(policy, networks, tuple(out), unzoned)


def _provisional_slices(
    policy: Policy, networks: dict[str, IPv4Network], filled: set[str]
) -> dict[str, list[IPv4Network]]:
    """Split each network without addresses evenly between the zones that use it."""
    out: dict[str, list[IPv4Network]] = {}
    for name, supernet in networks.items():
        if name in filled:
            continue
        users = [z.name for z in policy.zones if z.internal and name in z.networks]
        if not users:
            continue
        bits = ceil(log2(len(users))) if len(users) > 1 else 0
        parts = list(supernet.subnets(prefixlen_diff=bits))
        for zone, part in zip(users, parts, strict=False):
            out.setdefault(zone, []).append(part)
    return out

