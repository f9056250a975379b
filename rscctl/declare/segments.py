"""The segment layout of the address plan: which segment of each network a position takes.

One set of functions, used by the declaration check (do the supernets hold every segment,
growth included? rscctl.declare.rules) and by the planner that allocates the addresses
(rscctl.planner.addressing, management, storage_fabric), so the two cannot disagree.

| network      | segment                                                        |
|--------------|----------------------------------------------------------------|
| inband, oob  | 0 spare; SU slot s at s; the r-th row without pods at 1+max_sus+r |
| storage      | leaf (s, l) at (s-1)*leaves_per_su + l-1; spine k after every SU slot's leaves |
| ipoib        | rail i at i-1                                                  |

Hosts inside a segment: .1-.4 the gateways (management cores, or the storage leaf/spine at .1),
.5-.9 a segment's oob access switches, endpoints from HOST_BASE (.10).
"""

from __future__ import annotations

CORE_HOST_BASE = 1
SWITCH_HOST_BASE = 5
HOST_BASE = 10


def su_segment(su: int) -> int:
    """inband/oob segment of SU slot `su` (segment 0 stays spare)."""
    return su


def row_segment(max_sus: int, row_ordinal: int) -> int:
    """inband/oob segment of the `row_ordinal`-th row without pods (0-based, declaration
    order; a later phase appends rows, so earlier ordinals stay), after every SU slot."""
    return 1 + max_sus + row_ordinal


def storage_leaf_segment(leaves_per_su: int, su: int, leaf: int) -> int:
    """storage segment of leaf `leaf` (1-based) of SU `su`."""
    return (su - 1) * leaves_per_su + (leaf - 1)


def storage_spine_segment(max_sus: int, leaves_per_su: int, spine: int) -> int:
    """storage segment of spine `spine` (1-based), after the leaves of every SU slot."""
    return max_sus * leaves_per_su + (spine - 1)


def ipoib_segment(rail: int) -> int:
    """ipoib segment of rail `rail` (1-based)."""
    return rail - 1


def segments_needed(network: str, *, max_sus: int, rows_without_pods: int, rails: int,
                    storage: tuple[int, int] | None) -> int:
    """How many segments a network's layout takes, growth included: one past its last
    segment. `storage` is (leaves_per_su, spines) when the build has a storage fabric."""
    if network in ("inband", "oob"):
        return row_segment(max_sus, rows_without_pods - 1) + 1
    if network == "storage":
        if storage is None:
            return 0
        leaves_per_su, spines = storage
        return storage_spine_segment(max_sus, leaves_per_su, spines) + 1
    if network == "ipoib":
        return ipoib_segment(rails) + 1
    return 0
