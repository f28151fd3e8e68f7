"""The synthetic history's plan: the same for a seed, and small in memory at any size."""

import hashlib
import random
import tracemalloc

import pytest

from timeline.synth import Synthesizer, earliest_of, inserted, packed, unpacked


def digest(developments: int, actors: int, seed: int) -> str:
    found = hashlib.sha256()
    for operation in Synthesizer(developments, actors, seed).plan():
        found.update(repr(operation).encode())
    return found.hexdigest()


# Digests of plans made by the code before the plan kept its dates packed (commit 9bfe15f):
# the stores and figures of the benchmarks are made from these seeds.
@pytest.mark.parametrize(("developments", "actors", "seed", "expected"), [
    (1000, 12, 3, "e5c623a37ee347f4742dca124c49c8879058e587283d118e467ae8065fedc5ef"),
    (3000, 40, 7, "0d172f2ab7b51626695be84191c52b6fe6b0a0e53415962d84aa5460a8fb7d40"),
])
def test_a_seed_plans_the_history_it_always_planned(developments, actors, seed, expected):
    assert digest(developments, actors, seed) == expected


def test_late_developments_go_in_as_list_insert_puts_them():
    draw = random.Random(5)
    for _ in range(200):
        items = list(range(draw.randint(0, 30)))
        moved = [100 + i for i in range(draw.randint(0, 30))]
        at = [draw.randint(0, len(items) + i) for i in range(len(moved))]
        expected = list(items)
        for number, index in zip(moved, at, strict=True):
            expected.insert(index, number)
        assert list(inserted(items, moved, at)) == expected


def test_a_packed_date_is_the_date_and_orders_by_its_first_day():
    for year, month, day, approximate in [(1965, 0, 0, False), (2024, 12, 0, True),
                                          (1999, 2, 28, False), (2000, 1, 1, True)]:
        date = unpacked(packed(year, month, day, approximate))
        assert (date.year, date.month or 0, date.day or 0, date.approximate) == (
            year, month, day, approximate)
        assert earliest_of(packed(year, month, day, approximate)) == int(
            date.earliest.strftime("%Y%m%d"))


def test_the_plan_keeps_a_few_words_per_development_not_a_date_object():
    """At a million developments the plan held 580 MiB before its first operation (a date
    object and a list per development); a few dozen bytes each now."""
    synthesizer = Synthesizer(20_000, 300, 7)
    tracemalloc.start()
    try:
        plan = synthesizer.plan()
        next(plan)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held / 20_000 < 64
    assert peak / 20_000 < 200
