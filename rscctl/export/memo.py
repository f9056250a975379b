"""Keep the last plan's result of an expensive derivation that several exporters share.

`rscctl plan` renders every kind from one Plan: work orders (xlsx, labels, html) and drawings
(drawings, html) are derived once. A Plan is immutable, so the key is the object itself (held
weakly); a different plan recomputes. Results must be treated as read-only.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from rscctl.planner.model import Plan

T = TypeVar("T")


def last_plan(fn: Callable[[Plan], T]) -> Callable[[Plan], T]:
    last: list[tuple[weakref.ref[Plan], T]] = []

    @wraps(fn)
    def wrapper(plan: Plan) -> T:
        if last and last[0][0]() is plan:
            return last[0][1]
        value = fn(plan)
        # The result goes when its plan goes (the callback runs when the plan is collected).
        last[:] = [(weakref.ref(plan, lambda _: last.clear()), value)]
        return value

    return wrapper


__all__ = ["last_plan"]
