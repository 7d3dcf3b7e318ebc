"""The collector settings ``sellerhub`` processes start with (``sellerhub.memory``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from sellerhub.memory import YOUNG_GENERATION_THRESHOLD, freeze_startup_objects


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_objects_are_frozen_and_the_young_generation_collected_less_often() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    alive_at_start_up = ["a container the collector tracks"]

    freeze_startup_objects()

    assert gc.get_freeze_count() > 0
    tracked = gc.get_objects()  # the three generations, not the frozen objects
    assert not any(found is alive_at_start_up for found in tracked)
    assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, 10, 10)


@pytest.mark.usefixtures("restored_collector")
def test_cyclic_garbage_made_after_start_up_is_still_collected() -> None:
    freeze_startup_objects()

    class Node:
        partner: object = None

    first, second = Node(), Node()
    first.partner, second.partner = second, first
    del first, second

    assert gc.collect() >= 2
