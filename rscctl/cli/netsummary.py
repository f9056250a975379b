"""Summary lines for the storage fabric, management networks and address plan (from facts)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from rscctl.planner.model import Plan


def network_summary(plan: Plan) -> Iterator[str]:
    """What `rscctl plan` prints under its tables: storage numbers, then addresses."""
    s = plan.facts.storage
    if s is not None:
        systems = sum(g.count for g in s.systems.values())
        yield (
            f"storage: {s.capacity_pb:,.0f} PB in {systems} systems; delivers "
            f"{s.deliverable_tbytes_s:g} TB/s to the GPUs for a target of "
            f"{s.target_tbytes_s:g} TB/s (headroom {s.headroom_pct:+.1f}%); "
            f"leaf oversubscription {s.leaf_oversubscription:g}:1 "
            f"(max {s.max_oversubscription:g}:1)"
        )
    m = plan.facts.management
    if m is not None:
        yield (f"management: {m.access_switches} access switches in {m.segments} "
               f"segments, {m.cores} core switches, {m.pdus_per_rack} PDUs per rack")
    if plan.addresses:
        per = Counter(a.network for a in plan.addresses)
        yield f"addresses: {len(plan.addresses):,} (" + ", ".join(
            f"{n} {k:,}" for n, k in sorted(per.items())) + ")"
