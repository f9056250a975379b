"""The isolation properties, proved on rulesets as nft parsed them back (not on the intent).

For every rule that accepts a new connection (not a reply, not loopback) the sets of sources,
destinations, protocols and ports it can match are compared with the zones' address spaces.
Rules are taken as matching more than they may (unknown matches widen, earlier drops are
ignored), so a property that passes holds; one that fails names the rule that breaks it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rscctl.errors import Finding
from rscctl.firewall import intervals as iv
from rscctl.firewall.nftjson import NftRuleset, RuleView
from rscctl.firewall.rules import CHAINS, TABLE
from rscctl.firewall.zones import ZoneMap

SSH = 22
PROPERTIES = (
    "default-drop",
    "no-internet-inbound",
    "no-outbound",
    "production-only-to-ingest",
    "bmc-only-from-management",
    "ssh-only-from-bastion",
    "declared-flows-open",
)


@dataclass(frozen=True)
class Spaces:
    """The address spaces the properties speak about, computed once."""

    internet: iv.Spans
    external: iv.Spans
    outside: iv.Spans
    cluster: iv.Spans
    bastion: iv.Spans
    management: iv.Spans
    oob: iv.Spans
    ingest: dict[str, iv.Spans]
    declared_in: dict[str, dict[str, iv.Spans]]  # ingest zone -> proto -> ports from outside

    @classmethod
    def of(cls, zm: ZoneMap) -> Spaces:
        declared: dict[str, dict[str, iv.Spans]] = {}
        for f in zm.policy.flows:
            if not any(zm.zone(n).kind == "external" for n in f.from_):
                continue
            for dst in f.to:
                per = declared.setdefault(dst, {})
                per[f.proto] = iv.union(per.get(f.proto, ()), iv.normalize(f.port_ranges))
        return cls(
            internet=zm.internet, external=zm.external,
            outside=iv.union(zm.internet, zm.external), cluster=zm.cluster,
            bastion=zm.spans_of_kind("bastion"), management=zm.spans_of_kind("management"),
            oob=zm.spans_of_kind("oob"),
            ingest={z.name: z.spans for z in zm.of_kind("ingest")},
            declared_in=declared,
        )


@dataclass(frozen=True)
class Target:
    """Where a ruleset runs: the hosts of one zone, or the border."""

    ruleset: str
    zone: str | None
    kind: str  # zone kind, or "border"
    own: iv.Spans  # the addresses of the hosts that run it (empty for the border)


Check = Callable[[Target, str, RuleView, Spaces], str | None]


def _src(r: RuleView) -> iv.Spans:
    return iv.ALL_ADDRESSES if r.saddr is None else r.saddr


def _dst(r: RuleView, t: Target, chain: str) -> iv.Spans:
    if r.daddr is not None:
        return r.daddr
    return t.own if chain == "input" and t.own else iv.ALL_ADDRESSES


def _from(r: RuleView, t: Target, chain: str) -> iv.Spans:
    if chain == "output" and r.saddr is None and t.own:
        return t.own
    return _src(r)


def no_internet_inbound(t: Target, chain: str, r: RuleView, s: Spaces) -> str | None:
    if chain in ("input", "forward") and iv.meets(_src(r), s.internet):
        hit = iv.show_addresses(iv.intersection(_src(r), s.internet))
        return f"accepts new connections from the internet ({hit})"
    return None


def no_outbound(t: Target, chain: str, r: RuleView, s: Spaces) -> str | None:
    if chain == "output" or (chain == "forward" and iv.meets(_from(r, t, chain), s.cluster)):
        hit = iv.intersection(_dst(r, t, chain), s.outside)
        if hit:
            return f"lets the cluster open connections out to {iv.show_addresses(hit)}"
    return None


def production_only_to_ingest(t: Target, chain: str, r: RuleView, s: Spaces) -> str | None:
    if chain == "output" or not iv.meets(_src(r), s.external):
        return None
    dst = _dst(r, t, chain)
    zone = next((z for z, sp in s.ingest.items() if dst and iv.within(dst, sp)), None)
    if zone is None:
        return f"lets the production datacenters reach {iv.show_addresses(dst)}, not an ingest zone"
    allowed = s.declared_in.get(zone, {})
    protos = r.protos if r.protos is not None else frozenset({"any protocol"})
    for proto in sorted(protos):
        ports = iv.ALL_PORTS if r.dports is None else r.dports
        if proto not in allowed or not iv.within(ports, allowed[proto]):
            return (f"lets the production datacenters reach ingest zone {zone} on "
                    f"{proto} ports not declared for it")
    return None


def bmc_only_from_management(t: Target, chain: str, r: RuleView, s: Spaces) -> str | None:
    if chain == "output":
        if t.kind not in ("management", "oob") and iv.meets(_dst(r, t, chain), s.oob):
            return f"lets zone {t.zone or t.ruleset} open connections to the BMCs"
        return None
    to_bmc = t.kind == "oob" if chain == "input" else iv.meets(_dst(r, t, chain), s.oob)
    if to_bmc and not iv.within(_src(r), s.management):
        return "lets sources outside the management zone reach the BMCs"
    return None


def ssh_only_from_bastion(t: Target, chain: str, r: RuleView, s: Spaces) -> str | None:
    """SSH comes only from the bastion; the bastion itself only from management."""
    if not r.can_match("tcp", SSH):
        return None
    if chain == "output":
        if t.kind == "bastion":
            return None
        if t.kind == "management" and r.daddr is not None and iv.within(r.daddr, s.bastion):
            return None
        return f"lets zone {t.zone or t.ruleset} open SSH connections"
    src, dst = _src(r), _dst(r, t, chain)
    if (chain == "input" and t.kind == "bastion") or (
        chain == "forward" and iv.within(dst, s.bastion)
    ):
        allowed = s.management
    else:
        allowed = s.bastion
    if chain == "forward" and not iv.meets(dst, s.cluster):
        return None
    if not iv.within(src, allowed):
        return "accepts SSH from sources outside the bastion"
    return None


CHECKS: dict[str, Check] = {
    "no-internet-inbound": no_internet_inbound,
    "no-outbound": no_outbound,
    "production-only-to-ingest": production_only_to_ingest,
    "bmc-only-from-management": bmc_only_from_management,
    "ssh-only-from-bastion": ssh_only_from_bastion,
}
FIXES = {
    "default-drop": "every base chain of table inet rscctl needs `policy drop`; render again",
    "no-internet-inbound": "accept new connections only from declared zones (ip saddr @zone_X)",
    "no-outbound": "the cluster opens no connection out; remove the rule",
    "production-only-to-ingest": "declare the flow to an ingest zone in `policy.flows`",
    "bmc-only-from-management": "only the management zone may reach the BMCs",
    "ssh-only-from-bastion": "accept tcp/22 only from @zone_bastion",
    "declared-flows-open": "render the rulesets again from the declaration",
}


def default_drop(name: str, rs: NftRuleset) -> list[Finding]:
    out = []
    for hook in CHAINS:
        base = [c for c in rs.chains if c.table == TABLE and c.family == "inet" and c.hook == hook]
        if not base:
            out.append(Finding("default-drop", (f"{name}.nft",),
                               f"{name}.nft: table inet {TABLE} has no {hook} chain",
                               FIXES["default-drop"]))
    for c in rs.chains:
        if c.hook is not None and c.policy != "drop":
            out.append(Finding("default-drop", (f"{name}.nft",),
                               f"{name}.nft: chain {c.name} (hook {c.hook}) has policy {c.policy}",
                               FIXES["default-drop"]))
    return out


def prove(target: Target, rs: NftRuleset, spaces: Spaces) -> dict[str, list[Finding]]:
    """Findings per property for one parsed ruleset (empty lists where it holds)."""
    found: dict[str, list[Finding]] = {p: [] for p in PROPERTIES}
    found["default-drop"] = default_drop(target.ruleset, rs)
    hooks = {(c.table, c.family, c.name): c.hook for c in rs.chains}
    for r in rs.rules:
        hook = hooks.get((r.table, r.family, r.chain))
        if r.verdict in ("jump", "goto"):
            found["default-drop"].append(Finding(
                "default-drop", (f"{target.ruleset}.nft",),
                f"{target.ruleset}.nft {r.label()}: jumps to another chain, which this proof "
                "does not follow", "keep the rendered rulesets flat"))
            continue
        if hook not in CHAINS or not r.admits_new:
            continue
        for prop, check in CHECKS.items():
            why = check(target, hook, r, spaces)
            if why:
                found[prop].append(Finding(
                    prop, (f"{target.ruleset}.nft",),
                    f"{target.ruleset}.nft {r.label()} {why}", FIXES[prop]))
    return found


def targets(zm: ZoneMap) -> list[Target]:
    out = [Target(z.ruleset, z.name, z.kind, z.spans) for z in zm.zones if z.ruleset]
    out.append(Target(zm.policy.border_ruleset, None, "border", ()))
    return out


def _covers(r: RuleView, src: iv.Spans, dst: iv.Spans, proto: str, ports: iv.Spans) -> bool:
    """The rule surely accepts every new connection of this flow (no unknown matches)."""
    return (
        r.admits_new and not r.unknown
        and (r.saddr is None or iv.within(src, r.saddr))
        and (r.daddr is None or iv.within(dst, r.daddr))
        and (r.protos is None or proto in r.protos)
        and (r.dports is None or iv.within(ports, r.dports))
    )


def _may_stop(r: RuleView) -> bool:
    """A rule that might drop a new connection before a later accept sees it."""
    return r.verdict in ("drop", "reject", "return", "jump", "goto") and (
        r.states is None or bool(r.states & {"new", "untracked"}))


def _may_hit(r: RuleView, src: iv.Spans, dst: iv.Spans, proto: str, ports: iv.Spans) -> bool:
    """The rule can match some connection of the flow."""
    return (
        (r.saddr is None or iv.meets(src, r.saddr))
        and (r.daddr is None or iv.meets(dst, r.daddr))
        and (r.protos is None or proto in r.protos)
        and (r.dports is None or iv.meets(ports, r.dports))
    )


def _blocker(rs: NftRuleset, hook: str, src: iv.Spans, dst: iv.Spans, proto: str,
             ports: iv.Spans) -> str | None:
    """None when the chain accepts the flow; else why not (naming the rule in the way)."""
    for chain in (c for c in rs.chains if c.table == TABLE and c.hook == hook):
        for r in rs.rules_of(chain):
            if _covers(r, src, dst, proto, ports):
                return None
            if _may_stop(r) and _may_hit(r, src, dst, proto, ports):
                return f"{r.label()} may stop it first"
        return "no rule accepts it"
    return f"there is no {hook} chain"


def declared_flows_open(zm: ZoneMap, parsed: dict[str, NftRuleset]) -> list[Finding]:
    """Every declared flow is accepted where it must pass: the destination's input, the
    source's output and, from outside, the border's forward chain (the operators' SSH and
    BMC paths among them: a ruleset that loses them locks the operators out)."""
    out = []
    for f in zm.policy.flows:
        ports = iv.normalize(f.port_ranges)
        for a in f.from_:
            for b in f.to:
                za, zb = zm.zone(a), zm.zone(b)
                src, dst = za.spans, zb.spans
                if not src or not dst:
                    continue
                where = [(zb.ruleset, "input"), (za.ruleset, "output")]
                if za.ruleset is None:
                    where.append((zm.policy.border_ruleset, "forward"))
                for name, hook in where:
                    rs = parsed.get(name) if name else None
                    why = _blocker(rs, hook, src, dst, f.proto, ports) if rs else None
                    if why:
                        out.append(Finding(
                            "declared-flows-open", (f"{name}.nft",),
                            f"{name}.nft chain {hook} does not accept declared flow {f.name}: "
                            f"{a} -> {b} {f.proto}/{','.join(map(str, f.ports))}: {why}",
                            FIXES["declared-flows-open"]))
    return out


def prove_all(zm: ZoneMap, parsed: dict[str, NftRuleset]) -> dict[str, list[Finding]]:
    """Every property over every expected ruleset; a missing ruleset fails default-drop."""
    spaces = Spaces.of(zm)
    found: dict[str, list[Finding]] = {p: [] for p in PROPERTIES}
    for target in targets(zm):
        rs = parsed.get(target.ruleset)
        if rs is None:
            found["default-drop"].append(Finding(
                "default-drop", (f"{target.ruleset}.nft",),
                f"{target.ruleset}.nft is missing: its hosts would run without a firewall",
                "render the rulesets again (rscctl export BUILD --only firewall)"))
            continue
        for prop, findings in prove(target, rs, spaces).items():
            found[prop].extend(findings)
    found["declared-flows-open"] = declared_flows_open(zm, parsed)
    return found
