"""The plan's facts as frozen, typed records: what consumers need beyond devices and cables.

Each stage of the planner returns its own record (compute, storage, management, networks,
DNS, firewall); `Facts` gathers them. plan.json holds them under "facts" in this field order,
and `facts_from_json` decodes them back into the same records, so a consumer reads
`plan.facts.storage.nfs.mount_options`, never `plan.facts["storage"]["nfs"]`.

Defaults live in the declaration (e.g. the DNS domain, rscctl.declare.storage.Dns): every
record here is filled by the planner, so none repeats a default.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from rscctl.declare.policy import Policy


@dataclass(frozen=True, slots=True)
class ComputeFacts:
    """The Clos as declared and derived: what checks and drawings compare the cables with."""

    gpu_nodes: int
    gpus: int
    scalable_units: int
    nodes_per_su: int
    rails: int
    spines: int
    links_per_spine: int
    max_sus: int
    port_speed_gbps: float


@dataclass(frozen=True, slots=True)
class NfsFacts:
    """Where tlshd finds its keys on a node, and the NFS-over-TLS mount options."""

    ca_path: str
    cert_path: str
    key_path: str
    mount_options: tuple[str, ...]
    cert_days: int
    ca_days: int


@dataclass(frozen=True, slots=True)
class StorageGroupFacts:
    """One group of storage systems: its members, data ports and the export nodes mount."""

    model: str
    count: int
    reserve: int
    systems: tuple[str, ...]
    data_ports: tuple[str, ...]
    export: str | None
    mount_point: str | None
    capacity_pb: float
    throughput_tbytes_s: float


@dataclass(frozen=True, slots=True)
class StorageFacts:
    """The storage fabric's proven figures and its system groups, by group name."""

    target_tbytes_s: float
    deliverable_tbytes_s: float
    headroom_pct: float
    max_oversubscription: float
    leaf_oversubscription: float
    designed_leaf_down_gbps: float
    capacity_pb: float
    leaves_per_su: int
    spines: int
    systems: Mapping[str, StorageGroupFacts]
    nfs: NfsFacts


@dataclass(frozen=True, slots=True)
class ManagementFacts:
    segments: int
    access_switches: int
    cores: int
    pdus_per_rack: int


@dataclass(frozen=True, slots=True)
class NetworkFacts:
    """One declared supernet and how it is cut (the VLAN base where it has one)."""

    supernet: str
    segment_prefix: int
    description: str
    vlan_base: int | None


@dataclass(frozen=True, slots=True)
class DnsFacts:
    domain: str
    serial: int
    nameservers: tuple[str, ...]
    ttl: int


@dataclass(frozen=True, slots=True)
class FirewallFacts:
    """The isolation policy as declared, with the supernets of the networks it names."""

    policy: Policy
    networks: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """Everything in plan.json's "facts"; optional sections are absent when not declared.

    Keyword-only, so the field order (plan.json's) can mix required and optional fields."""

    compute: ComputeFacts
    counts: Mapping[str, int]
    site: str
    guids: Mapping[str, str] = field(default_factory=dict)
    storage: StorageFacts | None = None
    management: ManagementFacts | None = None
    networks: Mapping[str, NetworkFacts]
    dns: DnsFacts
    addresses: int
    firewall: FirewallFacts | None = None
    # The in-enclave package sources (build `mirrors:`), by kind: apt, pypi.
    mirrors: Mapping[str, str] = field(default_factory=dict)


# -- JSON: records <-> plain data, driven by the type hints ---------------------------------

_WORDS: dict[type, str] = {int: "an integer", str: "a string", bool: "true or false"}


def pydantic_problem(exc: ValidationError, where: str) -> str:
    """The first error of a pydantic model decoded from a plan, as `where.field: message`."""
    err = exc.errors()[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
    return f"{where}{loc}: {err['msg']}"

# Sections written only when present (so plan.json keeps its shape for builds without them).
_OMIT_WHEN_EMPTY = frozenset({"guids", "storage", "management", "firewall", "mirrors"})


def to_plain(value: Any) -> Any:
    """JSON-ready data of a record, in field order."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.name in _OMIT_WHEN_EMPTY and not v:
                continue
            out[f.name] = to_plain(v)
        return out
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    return value


def facts_to_json(facts: Facts) -> dict[str, Any]:
    """plan.json's "facts" object (sections not declared are left out)."""
    plain: dict[str, Any] = to_plain(facts)
    return plain


def facts_from_json(data: Any) -> Facts:
    """The typed facts of plain data; a shape that does not fit raises ValueError naming the
    field (`facts.storage.nfs.cert_days: '30' is not an integer`)."""
    facts: Facts = _decode(Facts, data, "facts")
    return facts


@functools.cache
def _hints(tp: type) -> dict[str, Any]:
    """A record's field types, resolved once (get_type_hints is most of a decode's time)."""
    return typing.get_type_hints(tp)


def _decode(tp: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _decode(inner, data, where)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        try:
            return tp.model_validate(data)
        except ValidationError as exc:
            raise ValueError(pydantic_problem(exc, where)) from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object")
        hints = _hints(tp)
        known = {f.name for f in dataclasses.fields(tp)}
        extra = sorted(set(data) - known)
        if extra:
            raise ValueError(f"{where}: unknown field {extra[0]!r}")
        missing = [f.name for f in dataclasses.fields(tp) if f.name not in data
                   and f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING]
        if missing:
            raise ValueError(f"{where}: field {missing[0]!r} is missing")
        kwargs = {
            f.name: _decode(hints[f.name], data[f.name], f"{where}.{f.name}")
            for f in dataclasses.fields(tp) if f.name in data
        }
        return tp(**kwargs)
    if origin is tuple:
        (item, _) = typing.get_args(tp)
        if not isinstance(data, list):
            raise ValueError(f"{where}: expected a list")
        return tuple(_decode(item, v, f"{where}[{i}]") for i, v in enumerate(data))
    if origin in (Mapping, dict) or origin is typing.get_origin(Mapping[str, int]):
        _, item = typing.get_args(tp)
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object")
        return {str(k): _decode(item, v, f"{where}.{k}") for k, v in data.items()}
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise ValueError(f"{where}: {data!r} is not a number")
        return float(data)
    if tp in (int, str, bool):
        if not isinstance(data, tp) or (tp is int and isinstance(data, bool)):
            raise ValueError(f"{where}: {data!r} is not {_WORDS[tp]}")
        return data
    raise ValueError(f"{where}: cannot decode {tp!r}")  # pragma: no cover


__all__ = [
    "ComputeFacts",
    "DnsFacts",
    "Facts",
    "FirewallFacts",
    "ManagementFacts",
    "NetworkFacts",
    "NfsFacts",
    "StorageFacts",
    "StorageGroupFacts",
    "facts_from_json",
    "facts_to_json",
    "pydantic_problem",
    "to_plain",
]
