"""The isolation policy: zones of addresses and the flows allowed between them.

Anything not declared is denied. The cluster takes nothing from the internet and sends nothing
to it; the operator's production datacenters (zones of kind `external`) may open connections to
the ingest gateways only. A declaration that would open the internet or lock the operators out
(no way to the bastion, no SSH from it, no path to the BMCs) is refused here, before anything is
rendered, with the field and the fix.
"""

from __future__ import annotations

import re
from collections import Counter
from ipaddress import IPv4Network, collapse_addresses
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from rscctl.declare.catalog import Strict
from rscctl.declare.fields import Identifier, Label, Text

ZoneKind = Literal[
    "internet", "external", "management", "bastion", "compute", "storage", "ingest", "oob"
]
# Kinds that live inside the enclave and get a ruleset of their own.
INTERNAL_KINDS = ("management", "bastion", "compute", "storage", "ingest", "oob")
# At most one zone of these kinds: the properties name "the" bastion, management, BMC zone.
SINGLE_KINDS = ("internet", "bastion", "management", "oob")
SSH_PORT = 22
# Broader than this an external prefix stops being "the production datacenters"; the union
# of every external prefix is bounded by the same size (many /24s are no narrower than a /8).
WIDEST_EXTERNAL_PREFIX = 8
MAX_EXTERNAL_ADDRESSES = 2 ** (32 - WIDEST_EXTERNAL_PREFIX)
_ROLE_PATTERN = re.compile(r"[a-z0-9*?-]{1,40}")


def _check_role_pattern(value: str) -> str:
    """A shell pattern over device roles (storage-*): lowercase, '-', '*' and '?' only."""
    if not _ROLE_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a role pattern; use lowercase letters, digits, '-', '*' and "
            "'?', e.g. storage-*"
        )
    return value


RolePattern = Annotated[str, AfterValidator(_check_role_pattern)]


class Zone(Strict):
    """A set of addresses with one ruleset: a kind, and either prefixes or roles in networks.

    Internal zones take their addresses from the address plan: the addresses, in `networks`,
    of the devices whose role matches one of `roles` (shell patterns; the first zone that
    matches an address owns it). External zones declare `prefixes`. The internet zone is
    everything that is neither.
    """

    name: Identifier
    kind: ZoneKind
    description: Text = ""
    prefixes: tuple[IPv4Network, ...] = Field(default=(), max_length=4096)
    roles: tuple[RolePattern, ...] = Field(default=(), max_length=64)
    networks: tuple[str, ...] = Field(default=(), max_length=64)
    ruleset: Label | None = Field(
        default=None,
        description="file stem of the zone's ruleset (out/BUILD/firewall/RULESET.nft)",
    )

    @property
    def internal(self) -> bool:
        return self.kind in INTERNAL_KINDS

    @property
    def ruleset_name(self) -> str:
        return self.ruleset or self.name

    @model_validator(mode="after")
    def _shape_fits_kind(self) -> Zone:
        """Internal zones select roles in networks; external ones list prefixes."""
        where = f"zone {self.name!r}"
        if self.kind == "internet" and (self.prefixes or self.roles or self.networks):
            raise ValueError(
                f"{where}: the internet zone is everything outside the declared zones; "
                "remove its prefixes, roles and networks"
            )
        if self.kind == "external":
            if not self.prefixes:
                raise ValueError(
                    f"{where}: an external zone needs `prefixes`, e.g. [10.128.0.0/10]"
                )
            if self.roles or self.networks:
                raise ValueError(f"{where}: an external zone has no roles or networks; remove them")
        if self.internal:
            if not self.roles or not self.networks:
                raise ValueError(
                    f"{where}: zone of kind {self.kind} needs `roles` and `networks`, e.g. "
                    "roles: [gpu-node], networks: [inband]"
                )
            if self.prefixes:
                raise ValueError(
                    f"{where}: an internal zone takes its addresses from the address plan; "
                    "remove `prefixes`"
                )
        return self


class Flow(Strict):
    """Connections `from` zones may open to `to` zones: one protocol, some ports.

    Replies of an allowed connection pass (established/related); nothing else does.
    """

    name: Label = Field(max_length=40)
    from_: tuple[str, ...] = Field(alias="from", min_length=1, max_length=64)
    to: tuple[str, ...] = Field(min_length=1, max_length=64)
    proto: Literal["tcp", "udp"]
    ports: tuple[int | str, ...] = Field(min_length=1, max_length=256)
    description: Text = ""

    model_config = Strict.model_config | {"populate_by_name": True}

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        """`from: bastion` is short for `from: [bastion]`."""
        return (value,) if isinstance(value, str) else value

    @field_validator("ports")
    @classmethod
    def _ports_valid(cls, value: tuple[int | str, ...]) -> tuple[int | str, ...]:
        """A port is 1-65535; a range is "LOW-HIGH" with LOW <= HIGH."""
        for port in value:
            _parse_port(port)
        return value

    @property
    def port_ranges(self) -> tuple[tuple[int, int], ...]:
        """The ports as sorted, disjoint ranges: duplicates and overlaps merged (nft refuses a
        set whose elements repeat or whose intervals overlap)."""
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(_parse_port(p) for p in self.ports):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return tuple(merged)


def _parse_port(port: int | str) -> tuple[int, int]:
    text = str(port)
    lo_s, sep, hi_s = text.partition("-")
    try:
        lo = int(lo_s)
        hi = int(hi_s) if sep else lo
    except ValueError:
        raise ValueError(f"port {port!r}: give a number or a range like \"60000-60100\"") from None
    if not 1 <= lo <= hi <= 65535:
        raise ValueError(f"port {port!r}: ports are 1-65535 and a range goes low-high")
    return lo, hi


class DropLog(Strict):
    """Rate-limited logging of dropped packets (so a flood cannot fill the journal)."""

    rate_per_minute: int = Field(default=30, gt=0, le=1_000_000)
    burst: int = Field(default=10, gt=0, le=1_000_000)
    prefix: str = Field(default="rscctl-drop", pattern=r"^[a-z0-9-]{1,16}$")


class Policy(Strict):
    zones: tuple[Zone, ...] = Field(min_length=1)
    flows: tuple[Flow, ...] = ()
    drop_log: DropLog = DropLog()
    border_ruleset: Label = "border"

    def zone(self, name: str) -> Zone:
        return next(z for z in self.zones if z.name == name)

    def of_kind(self, kind: str) -> list[Zone]:
        return [z for z in self.zones if z.kind == kind]

    @model_validator(mode="after")
    def _names_unique(self) -> Policy:
        """Zone names, flow names and ruleset names are unique."""
        for what, names in (
            ("zones", [z.name for z in self.zones]),
            ("flows", [f.name for f in self.flows]),
            ("zones[].ruleset", [z.ruleset_name for z in self.zones if z.internal]
             + [self.border_ruleset]),
        ):
            for name, n in Counter(names).items():
                if n > 1:
                    raise ValueError(f"{what}: {name!r} is declared {n} times; rename one")
        return self

    @model_validator(mode="after")
    def _kinds_present(self) -> Policy:
        """Exactly one internet, bastion and management zone; at most one BMC zone."""
        for kind in SINGLE_KINDS:
            n = len(self.of_kind(kind))
            if n > 1 or (n == 0 and kind != "oob"):
                raise ValueError(
                    f"zones: {n} zones of kind {kind!r}; declare exactly one"
                )
        return self

    @model_validator(mode="after")
    def _flows_name_zones(self) -> Policy:
        """Every zone a flow names is declared."""
        known = {z.name for z in self.zones}
        for flow in self.flows:
            for field, names in (("from", flow.from_), ("to", flow.to)):
                for name in names:
                    if name not in known:
                        raise ValueError(
                            f"flows[{flow.name}].{field}: unknown zone {name!r}; "
                            f"use one of: {', '.join(sorted(known))}"
                        )
        return self

    @model_validator(mode="after")
    def _internet_closed(self) -> Policy:
        """No flow to or from the internet; nothing leaves for the external zones."""
        for flow in self.flows:
            for name in flow.from_:
                if self.zone(name).kind == "internet":
                    raise ValueError(
                        f"flows[{flow.name}].from: {name!r} is the internet; the cluster "
                        "takes no connection from it. Remove the flow, or declare the sender's "
                        "prefixes as a zone of kind external"
                    )
            for name in flow.to:
                kind = self.zone(name).kind
                if kind in ("internet", "external"):
                    raise ValueError(
                        f"flows[{flow.name}].to: {name!r} is outside the enclave "
                        f"({kind}); the cluster opens no connection out. Let {name} connect "
                        "in to an ingest zone instead"
                    )
            for src in (self.zone(n) for n in flow.from_):
                if src.kind != "external":
                    continue
                bad = [n for n in flow.to if self.zone(n).kind != "ingest"]
                if bad:
                    raise ValueError(
                        f"flows[{flow.name}].to: external zone {src.name!r} may reach "
                        f"only ingest zones, not {bad[0]!r}; point the flow at an ingest zone"
                    )
        for zone in self.of_kind("external"):
            for net in zone.prefixes:
                if net.prefixlen < WIDEST_EXTERNAL_PREFIX:
                    raise ValueError(
                        f"zones[{zone.name}].prefixes: {net} covers {net.num_addresses:,} "
                        f"addresses and would open the cluster to the internet; list the "
                        f"production datacenters' own prefixes (/{WIDEST_EXTERNAL_PREFIX} or "
                        "narrower)"
                    )
        return self

    @model_validator(mode="after")
    def _externals_together_narrow(self) -> Policy:
        """All external prefixes together stay within what one /8 holds: many narrow prefixes
        must not add up to the internet."""
        externals = [(z, p) for z in self.of_kind("external") for p in z.prefixes]
        union = list(collapse_addresses(p for _z, p in externals))
        total = sum(n.num_addresses for n in union)
        if total > MAX_EXTERNAL_ADDRESSES:
            zones = sorted({z.name for z, _p in externals})
            widest = max(union, key=lambda n: n.num_addresses)
            raise ValueError(
                f"zones[{zones[0]}].prefixes: the external prefixes of zone"
                f"{'s' * (len(zones) > 1)} {', '.join(zones)} together cover {total:,} "
                f"addresses ({len(union)} blocks, the widest {widest}), more than a "
                f"/{WIDEST_EXTERNAL_PREFIX} ({MAX_EXTERNAL_ADDRESSES:,}); they would open the "
                "cluster to the internet. List only the production datacenters' own prefixes"
            )
        return self

    @model_validator(mode="after")
    def _admin_paths_closed(self) -> Policy:
        """SSH is opened only by the bastion (to it, only by management); BMCs are reached
        only from management: the properties `verify firewall` proves, refused here first."""
        for f in self.flows:
            ssh = f.proto == "tcp" and any(lo <= SSH_PORT <= hi for lo, hi in f.port_ranges)
            for src in (self.zone(n) for n in f.from_):
                for dst in (self.zone(n) for n in f.to):
                    if ssh and src.kind != "bastion" and not (
                        src.kind == "management" and dst.kind == "bastion"
                    ):
                        raise ValueError(
                            f"flows[{f.name}]: opens tcp/22 from {src.name!r} to {dst.name!r}; "
                            "SSH comes only from the bastion (and to it only from management). "
                            "Remove 22 from the ports or go through the bastion"
                        )
                    if dst.kind == "oob" and src.kind != "management":
                        raise ValueError(
                            f"flows[{f.name}]: lets {src.name!r} reach the BMCs in "
                            f"{dst.name!r}; only the management zone may. Remove "
                            f"{dst.name} from `to`"
                        )
        return self

    @model_validator(mode="after")
    def _operators_not_locked_out(self) -> Policy:
        """Management reaches the bastion and the BMCs; the bastion reaches every host by SSH."""
        bastion = self.of_kind("bastion")[0]
        mgmt = self.of_kind("management")[0]

        def opens(src: str, dst: str, proto: str | None = None, port: int | None = None) -> bool:
            return any(
                src in f.from_ and dst in f.to
                and (proto is None or f.proto == proto)
                and (port is None or any(lo <= port <= hi for lo, hi in f.port_ranges))
                for f in self.flows
            )

        if not opens(mgmt.name, bastion.name, "tcp", SSH_PORT):
            raise ValueError(
                f"flows: no flow lets {mgmt.name!r} open tcp/22 to the bastion "
                f"{bastion.name!r}: the operators would be locked out; add "
                f"{{name: operator-ssh, from: {mgmt.name}, to: {bastion.name}, proto: tcp, "
                "ports: [22]}"
            )
        for zone in self.zones:
            if zone.kind in ("bastion", "oob") or not zone.internal:
                continue
            if not opens(bastion.name, zone.name, "tcp", SSH_PORT):
                raise ValueError(
                    f"flows: no flow lets the bastion {bastion.name!r} open tcp/22 to "
                    f"zone {zone.name!r}: its hosts could not be managed; add {zone.name} to "
                    "the `to` of the bastion's SSH flow"
                )
        for oob in self.of_kind("oob"):
            if not opens(mgmt.name, oob.name):
                raise ValueError(
                    f"flows: no flow lets {mgmt.name!r} reach the BMCs in {oob.name!r}: "
                    "a hung node could not be power-cycled; add e.g. {name: bmc-redfish, "
                    f"from: {mgmt.name}, to: {oob.name}, proto: tcp, ports: [443]}}"
                )
        return self


def check_against_networks(policy: Policy, networks: dict[str, IPv4Network]) -> None:
    """Zones name declared networks; external prefixes overlap none of the cluster's."""
    for zone in policy.zones:
        for net in zone.networks:
            if net not in networks:
                raise ValueError(
                    f"policy.zones[{zone.name}].networks: unknown network {net!r}; declare it "
                    f"under `networks` or use one of: {', '.join(sorted(networks)) or 'none'}"
                )
    externals = [(z, p) for z in policy.of_kind("external") for p in z.prefixes]
    for zone, prefix in externals:
        for name, supernet in networks.items():
            if prefix.overlaps(supernet):
                raise ValueError(
                    f"policy.zones[{zone.name}].prefixes: {prefix} overlaps network {name} "
                    f"({supernet}); external prefixes must lie outside the cluster"
                )
    for i, (za, pa) in enumerate(externals):
        for zb, pb in externals[i + 1:]:
            if za.name != zb.name and pa.overlaps(pb):
                raise ValueError(
                    f"policy.zones[{zb.name}].prefixes: {pb} overlaps {pa} of zone {za.name}; "
                    "an address belongs to one zone"
                )
