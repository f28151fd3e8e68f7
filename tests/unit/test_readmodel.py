"""The read model's process-wide settings for bulk work leave the process as they found it."""

from __future__ import annotations

import gc

from timeline.readmodel import fewer_collections


def test_fewer_collections_restores_the_collector_and_keeps_what_the_process_froze():
    threshold = gc.get_threshold()
    gc.freeze()  # as a server that forks its workers may have done
    frozen = gc.get_freeze_count()
    try:
        with fewer_collections():
            assert gc.get_threshold()[0] == 50_000
            assert gc.get_freeze_count() == frozen
        assert gc.get_threshold() == threshold
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_fewer_collections_sets_aside_what_lived_before_and_gives_it_back():
    assert gc.get_freeze_count() == 0
    with fewer_collections():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_overlapping_bulk_loads_restore_the_collector_when_the_last_one_ends():
    threshold = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert gc.get_threshold()[0] == 50_000 and gc.get_freeze_count() > 0
    second.__exit__(None, None, None)
    assert gc.get_threshold() == threshold and gc.get_freeze_count() == 0
