"""Zone resolution moved to rscctl.planner.zones (the planner's checks need it, and the planner
must not import from the firewall package, which reads the plan); re-exported here."""

from rscctl.planner.zones import ResolvedZone as ResolvedZone
from rscctl.planner.zones import ZoneMap as ZoneMap
from rscctl.planner.zones import policy_facts as policy_facts
from rscctl.planner.zones import resolve_zones as resolve_zones

__all__ = ["ResolvedZone", "ZoneMap", "policy_facts", "resolve_zones"]
