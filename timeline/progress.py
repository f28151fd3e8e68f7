"""How long operations report their progress: a callback the core calls, and nothing else.

The core counts what it commits (events projected, pairs outlined, view tables reindexed,
developments recorded, entries seeded,
events verified, exported or imported) and passes the counts to a `Progress` callback when
one is given. The command line turns them into a bar on a terminal, and the benchmarks count
with the same calls. No callback, no cost: the core checks for None and calls nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")

# The steps the core reports: what is counted, in the words a bar shows.
PROJECTED = "events projected"
OUTLINED = "pairs outlined"
REINDEXED = "view tables reindexed"
RECORDED = "developments recorded"
REGISTERED = "actors registered"
SEEDED = "entries seeded"
VERIFIED = "events verified"
EXPORTED = "events exported"
IMPORTED = "events imported"

# Iterated work reports once per this many items: a call per event would cost a share of a
# verify or an export (a hash or a line each), a call per thousand costs nothing measurable.
EVERY = 1000


class Progress(Protocol):
    """Called as work advances: `step` names what is counted (one of the constants above),
    `done` how many so far in this step, `total` how many the step expects (None when that
    is not known beforehand, as for a file being imported)."""

    def __call__(self, step: str, done: int, total: int | None) -> None: ...


def counted(
    items: Iterable[T], progress: Progress | None, step: str, total: int | None
) -> Iterable[T]:
    """The items unchanged, reporting every EVERY of them (and the last) as they are taken."""
    if progress is None:
        return items
    return _counting(items, progress, step, total)


def _counting(items: Iterable[T], progress: Progress, step: str, total: int | None) -> Iterator[T]:
    done = 0
    progress(step, done, total)
    for item in items:
        yield item
        # Counted once the consumer asks for the next: the item has been dealt with.
        done += 1
        if done % EVERY == 0:
            progress(step, done, total)
    progress(step, done, total)
