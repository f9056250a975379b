"""rscctl.gcpause.paused_gc, which `verify cabling` runs its work in: the collector is off
inside, back to exactly its previous state after (also after an error), and what was alive at
the end is handed to the oldest generation (out of the young collections' passes) yet still
freed when dropped."""

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


def test_survivors_in_the_oldest_generation_and_still_freed() -> None:
    gc.enable()
    with paused_gc():
        kept = [_Record() for _ in range(1000)]
    ids = {id(r) for r in kept}
    assert not ids & {id(o) for o in gc.get_objects(generation=0)}  # young passes skip them
    assert ids <= {id(o) for o in gc.get_objects(generation=2)}
    assert gc.get_freeze_count() == 0  # nothing kept out of a full collection
    ref = weakref.ref(kept[0])
    del kept
    assert ref() is None  # reference counting freed them all the same
