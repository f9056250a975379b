"""rscctl.gcpause.paused_gc, which `verify cabling` runs its work in: the collector is off
inside, back to exactly its previous state after (also after an error), and what was alive at
the end is frozen out of the collector's passes yet still freed when dropped."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from rscctl.gcpause import paused_gc


class _Record:
    """A weak-referenceable object, as the records the command builds."""


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    was = gc.isenabled()
    yield
    gc.unfreeze()
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_state_restored(enabled: bool) -> None:
    if enabled:
        gc.enable()
    else:
        gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled
    with pytest.raises(ValueError), paused_gc():
        raise ValueError("bad input")
    assert gc.isenabled() is enabled


def test_survivors_frozen_and_still_freed() -> None:
    gc.enable()
    frozen = gc.get_freeze_count()
    with paused_gc():
        kept = [_Record() for _ in range(1000)]
    assert gc.get_freeze_count() >= frozen + 1000  # the collector no longer walks them
    ref = weakref.ref(kept[0])
    del kept
    assert ref() is None  # reference counting freed them all the same
