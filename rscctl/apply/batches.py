"""Rolling batches: which hosts one `rscctl apply` run configures, and in what order.

Default (`--batch su`): a canary GPU node alone, then one SU per batch (the canary's SU
without it), then the service hosts (no SU: bastion, ingest, management) in a batch of their
own. `--batch N` or `--batch N%` cuts the same order into batches of N hosts (N% of them).
A batch whose failed and unreachable hosts exceed --max-fail percent stops the later batches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rscctl.errors import UserError

_SIZE = re.compile(r"^([1-9][0-9]{0,6})(%?)$")


@dataclass(frozen=True)
class Batch:
    name: str
    hosts: tuple[str, ...]


def _su(hv: Mapping[str, Any]) -> int | None:
    su = hv.get("rsc_su")
    return su if isinstance(su, int) else None


def make_batches(hosts: Sequence[str], hostvars: Mapping[str, Mapping[str, Any]],
                 spec: str = "su", canary: bool = True) -> list[Batch]:
    """The batches over `hosts` (already limited; in inventory order)."""
    if not hosts:
        return []
    sus: dict[int, list[str]] = {}
    services: list[str] = []
    for h in hosts:
        su = _su(hostvars.get(h, {}))
        if su is None:
            services.append(h)
        else:
            sus.setdefault(su, []).append(h)
    ordered = [h for su in sorted(sus) for h in sus[su]] + services
    out: list[Batch] = []
    if canary and len(ordered) > 1 and sus:
        first = ordered[0]
        out.append(Batch(f"canary {first}", (first,)))
        ordered = ordered[1:]
        sus[min(sus)] = sus[min(sus)][1:]
    if spec == "su":
        out += [Batch(f"SU {su:03d}", tuple(m)) for su, m in sorted(sus.items()) if m]
        if services:
            out.append(Batch("service hosts", tuple(services)))
        return out
    m = _SIZE.match(spec)
    if not m:
        raise UserError(f"--batch {spec!r}: use `su` (one SU per batch), a host count (20) or "
                        "a percentage of the hosts (10%)")
    n = int(m.group(1))
    if m.group(2):
        if n > 100:
            raise UserError(f"--batch {spec!r}: a percentage is at most 100%")
        n = max(1, len(ordered) * n // 100)
    for i in range(0, len(ordered), n):
        part = tuple(ordered[i:i + n])
        out.append(Batch(f"hosts {i + 1}-{i + len(part)}", part))
    return out


def failed_beyond(failed: int, size: int, max_fail_pct: float) -> bool:
    """True when `failed` of `size` hosts is more than max_fail_pct percent."""
    return size > 0 and failed * 100 > max_fail_pct * size
