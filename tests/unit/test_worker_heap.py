"""The worker moves what it loaded at start out of the garbage collector's sight and lets the
collector run less often (a full collection walked the model and the ORM's mappings again and
again under load); freeing still works for everything made afterwards."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from worker import run_worker


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_what_is_loaded_at_start_is_frozen_and_the_collector_runs_less_often(
    restored_collector: None,
) -> None:
    run_worker._settle_heap()
    assert gc.get_freeze_count() > 0
    youngest, middle, oldest = gc.get_threshold()
    assert youngest == run_worker._GC_YOUNGEST > 700
    assert (middle, oldest) == (10, 10)


def test_cycles_made_after_the_freeze_are_still_freed(restored_collector: None) -> None:
    run_worker._settle_heap()
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None
