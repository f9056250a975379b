"""Parse `nft -j list ruleset` output: a pure function over captured text, no host needed.

Each rule becomes a RuleView: the addresses, protocols, ports and connection states it can
match and its verdict. Anything the view does not understand is kept in `unknown` and widens
the match (a rule is assumed to match more, never less), so the proofs stay sound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from socket import inet_aton
from typing import Any

from rscctl.firewall import intervals as iv

VERDICTS = ("accept", "drop", "reject", "jump", "goto", "return", "queue")
NON_MATCHING = ("counter", "log", "limit", "meta", "mangle", "notrack")


class NftParseError(ValueError):
    """The text is not nft JSON output."""


@dataclass(frozen=True)
class Chain:
    table: str
    family: str
    name: str
    hook: str | None
    policy: str | None
    type: str | None


@dataclass(frozen=True)
class RuleView:
    """What one rule can match, in the terms the isolation proofs need. None means any."""

    table: str
    family: str
    chain: str
    handle: int
    comment: str
    text: str
    verdict: str | None
    saddr: iv.Spans | None = None
    daddr: iv.Spans | None = None
    protos: frozenset[str] | None = None
    dports: iv.Spans | None = None
    states: frozenset[str] | None = None
    loopback: bool = False
    unknown: tuple[str, ...] = field(default=())

    @property
    def admits_new(self) -> bool:
        """Accepts a packet that opens a connection (not a reply, not loopback)."""
        if self.verdict != "accept" or self.loopback:
            return False
        return self.states is None or bool(self.states & {"new", "untracked"})

    def can_match(self, proto: str, port: int) -> bool:
        return (self.protos is None or proto in self.protos) and (
            self.dports is None or iv.contains(self.dports, port)
        )

    def label(self) -> str:
        what = f'"{self.comment}"' if self.comment else self.text
        return f"chain {self.chain}, rule handle {self.handle}: {what}"


@dataclass(frozen=True)
class NftRuleset:
    chains: tuple[Chain, ...]
    rules: tuple[RuleView, ...]
    sets: dict[tuple[str, str], tuple[Any, ...]]

    def rules_of(self, chain: Chain) -> list[RuleView]:
        return [r for r in self.rules if (r.table, r.family, r.chain) ==
                (chain.table, chain.family, chain.name)]


def parse_nft_json(text: str) -> NftRuleset:
    """Chains, sets and rule views of one `nft -j list ruleset` document."""
    try:
        doc = json.loads(text)
        items = doc["nftables"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise NftParseError(f"not nft JSON output ({exc})") from None
    chains: list[Chain] = []
    sets: dict[tuple[str, str], tuple[Any, ...]] = {}
    raw_rules: list[dict[str, Any]] = []
    for item in items:
        if "chain" in item:
            c = item["chain"]
            chains.append(Chain(c["table"], c["family"], c["name"], c.get("hook"),
                                c.get("policy"), c.get("type")))
        elif "set" in item:
            s = item["set"]
            elem = s.get("elem", [])
            sets[(s["table"], s["name"])] = tuple(elem if isinstance(elem, list) else [elem])
        elif "rule" in item:
            raw_rules.append(item["rule"])
    cache: dict[tuple[str, str], iv.Spans | None] = {}  # a named set is parsed once
    rules = tuple(_view(r, sets, cache) for r in raw_rules)
    return NftRuleset(tuple(chains), rules, sets)


def _view(
    rule: dict[str, Any], sets: dict[tuple[str, str], tuple[Any, ...]],
    cache: dict[tuple[str, str], iv.Spans | None],
) -> RuleView:
    kw: dict[str, Any] = {}
    unknown: list[str] = []
    verdict: str | None = None
    texts: list[str] = []
    for stmt in rule.get("expr", []):
        (kind, body), = stmt.items()
        if kind == "match":
            texts.append(_match_text(body))
            _apply_match(body, rule["table"], sets, cache, kw, unknown)
        elif kind in VERDICTS:
            verdict = kind
            target = body.get("target") if isinstance(body, dict) else None
            texts.append(f"{kind} {target}" if target else kind)
        elif kind not in NON_MATCHING:
            unknown.append(kind)
            texts.append(kind)
        else:
            texts.append(kind)
    return RuleView(
        table=rule["table"], family=rule["family"], chain=rule["chain"],
        handle=int(rule.get("handle", 0)), comment=rule.get("comment", ""),
        text=" ".join(texts), verdict=verdict, unknown=tuple(unknown), **kw,
    )


def _left_key(left: Any) -> str:
    if isinstance(left, dict):
        if "payload" in left:
            p = left["payload"]
            return f"{p.get('protocol', '?')} {p.get('field', '?')}"
        if "meta" in left:
            return f"meta {left['meta'].get('key')}"
        if "ct" in left:
            return f"ct {left['ct'].get('key')}"
    return json.dumps(left, sort_keys=True)


def _show(v: Any) -> str:
    """nft's own notation for a JSON value: 10.0.0.0/8, 1-9, { a, b }."""
    if isinstance(v, dict):
        if "prefix" in v:
            return f"{v['prefix']['addr']}/{v['prefix']['len']}"
        if "range" in v:
            return f"{_show(v['range'][0])}-{_show(v['range'][1])}"
        if "set" in v:
            return "{ " + ", ".join(_show(x) for x in v["set"]) + " }"
        if "elem" in v:
            return _show(v["elem"].get("val"))
        return json.dumps(v, separators=(",", ":"), sort_keys=True)
    if isinstance(v, list):
        return ",".join(_show(x) for x in v)
    return str(v)


def _match_text(body: dict[str, Any]) -> str:
    op = body.get("op", "==")
    shown = _show(body.get("right"))
    return f"{_left_key(body.get('left'))} {'' if op in ('==', 'in') else op + ' '}{shown}"


def _values(right: Any, table: str, sets: dict[tuple[str, str], tuple[Any, ...]]) -> list[Any]:
    """The elements a match's right side denotes (named sets resolved)."""
    if isinstance(right, str) and right.startswith("@"):
        return list(sets.get((table, right[1:]), ()))
    if isinstance(right, dict) and "set" in right:
        return list(right["set"])
    if isinstance(right, list):
        return list(right)
    return [right]


def _ip(text: str) -> int:
    """An IPv4 address as an integer (inet_aton: fast, and it refuses IPv6)."""
    try:
        if text.count(".") != 3:
            raise OSError
        return int.from_bytes(inet_aton(text), "big")
    except OSError:
        raise ValueError(f"not an IPv4 address: {text!r}") from None


def _net(addr: str, length: int) -> iv.Span:
    lo = _ip(addr)
    host = (1 << (32 - length)) - 1
    return lo & ~host, lo | host


def _addr_spans(values: list[Any]) -> iv.Spans | None:
    spans: list[iv.Span] = []
    for v in values:
        if isinstance(v, dict) and "elem" in v:
            v = v["elem"]["val"]
        if isinstance(v, dict) and "prefix" in v:
            spans.append(_net(v["prefix"]["addr"], int(v["prefix"]["len"])))
        elif isinstance(v, dict) and "range" in v:
            lo, hi = v["range"]
            spans.append((_ip(lo), _ip(hi)))
        elif isinstance(v, str):
            addr, _, length = v.partition("/")
            spans.append(_net(addr, int(length or 32)))
        else:
            return None
    return iv.normalize(spans)


def _port_spans(values: list[Any]) -> iv.Spans | None:
    spans: list[iv.Span] = []
    for v in values:
        if isinstance(v, dict) and "elem" in v:
            v = v["elem"]["val"]
        if isinstance(v, int):
            spans.append((v, v))
        elif isinstance(v, dict) and "range" in v:
            spans.append((int(v["range"][0]), int(v["range"][1])))
        else:
            return None
    return iv.normalize(spans)


def _narrow(kw: dict[str, Any], key: str, spans: iv.Spans | None, top: int, neg: bool) -> None:
    if spans is None:
        return
    if neg:
        spans = iv.complement(spans, top)
    kw[key] = spans if kw.get(key) is None else iv.intersection(kw[key], spans)


def _apply_match(
    body: dict[str, Any], table: str, sets: dict[tuple[str, str], tuple[Any, ...]],
    cache: dict[tuple[str, str], iv.Spans | None], kw: dict[str, Any], unknown: list[str],
) -> None:
    key = _left_key(body.get("left"))
    op = body.get("op", "==")
    neg = op == "!="
    if op not in ("==", "in", "!="):
        unknown.append(f"{key} {op}")
        return
    values = _values(body.get("right"), table, sets)
    proto, _, fieldname = key.partition(" ")
    try:
        if key in ("ip saddr", "ip daddr"):
            target = "saddr" if fieldname == "saddr" else "daddr"
            right = body.get("right")
            if isinstance(right, str) and right.startswith("@"):
                if (table, right) not in cache:
                    cache[(table, right)] = _addr_spans(values)
                spans = cache[(table, right)]
            else:
                spans = _addr_spans(values)
            _narrow(kw, target, spans, iv.ADDRESS_MAX, neg)
        elif fieldname == "dport" and proto in ("tcp", "udp", "th", "sctp", "dccp", "udplite"):
            _narrow(kw, "dports", _port_spans(values), iv.PORT_MAX, neg)
            if proto != "th" and not neg:
                kw["protos"] = frozenset({proto})
        elif key in ("meta l4proto", "ip protocol") and not neg:
            kw["protos"] = frozenset(str(v) for v in values)
        elif key == "ct state" and not neg:
            kw["states"] = frozenset(str(v) for v in values)
        elif key in ("meta iifname", "meta oifname", "meta iif", "meta oif"):
            kw["loopback"] = not neg and values == ["lo"]
        else:
            unknown.append(key)
    except ValueError:
        # An IPv6 address, a map, a concatenation: widen rather than guess.
        unknown.append(key)
