"""Synthetic timelines for benchmarks: a realistic history of any size, the same for a seed.

Actors of every kind; a heavy-tailed choice of pairs (a few very active, most quiet); dates over
six decades at every precision; about 10% of developments recorded late (out of date order),
5% corrected, 1% retracted; planned developments that later occur or are cancelled. Everything
goes through the aggregates' own commands, saved by the application a batch per transaction.
"""

from __future__ import annotations

import bisect
import itertools
import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from timeline.application import Timeline
from timeline.domain import (
    Content,
    Development,
    PartialDate,
    Participation,
    Source,
    development_id,
)
from timeline.progress import RECORDED, REGISTERED, Progress
from timeline.vocabulary import ActorKind, Certainty, Kind, Role, Status

# How many actors of each kind, out of every 20.
KIND_MIX = [ActorKind.STATE] * 8 + [ActorKind.PERSON] * 6 + [ActorKind.ORGANISATION] * 3 + [
    ActorKind.REGION] * 2 + [ActorKind.BLOC]
DEVELOPMENT_KINDS = list(Kind)
CERTAINTIES = list(Certainty)
FIRST_YEAR, LAST_YEAR = 1965, 2024


@dataclass
class SynthReport:
    actors: int = 0
    developments: int = 0
    corrections: int = 0
    retractions: int = 0
    status_changes: int = 0
    late: int = 0
    events: int = 0

    def __str__(self) -> str:
        return (
            f"{self.actors} actors, {self.developments} developments ({self.late} recorded late),"
            f" {self.corrections} corrections, {self.retractions} retractions,"
            f" {self.status_changes} status changes: {self.events} events"
        )


class Synthesizer:
    """Plans a history from a seed; `run` records it through the application."""

    def __init__(self, developments: int, actors: int, seed: int = 1) -> None:
        if actors < 2:
            raise ValueError("a timeline needs at least two actors")
        self.size = developments
        self.random = random.Random(seed)
        self.seed = seed
        self.actors = self._actors(actors)
        # Zipf-like activity: the actor of rank r takes part with weight 1 / r.
        weights = [1 / rank for rank in range(1, len(self.actors) + 1)]
        self.cumulative = list(itertools.accumulate(weights))

    def _actors(self, count: int) -> list[dict[str, Any]]:
        actors: list[dict[str, Any]] = []
        states: list[str] = []
        for number in range(count):
            kind = KIND_MIX[number % len(KIND_MIX)] if number >= 2 else ActorKind.STATE
            actor_id = f"{kind.value}-{number:06d}"
            belongs: tuple[str, ...] = ()
            if kind in (ActorKind.PERSON, ActorKind.ORGANISATION, ActorKind.REGION) and states:
                belongs = (self.random.choice(states),)
            if kind is ActorKind.STATE:
                states.append(actor_id)
            actors.append({"id": actor_id, "name": actor_id.replace("-", " ").title(), "kind": kind,
                           "belongs_to": belongs})
        self.random.shuffle(actors)  # activity rank does not follow the kind
        return actors

    def pair(self) -> tuple[str, str]:
        total = self.cumulative[-1]
        while True:
            a = bisect.bisect(self.cumulative, self.random.random() * total)
            b = bisect.bisect(self.cumulative, self.random.random() * total)
            if a != b:
                return self.actors[a]["id"], self.actors[b]["id"]

    def date(self, year_from: int = FIRST_YEAR) -> PartialDate:
        return unpacked(self._drawn(year_from))

    def _drawn(self, year_from: int = FIRST_YEAR) -> int:
        """A date drawn at a year, a month or a day, packed in an int (see packed): a plan
        keeps one for each development, a million of them at the largest sizes."""
        year = self.random.randint(year_from, LAST_YEAR)
        precision = self.random.random()
        # A month is drawn even for a date known to its year alone: each draw moves the seed's
        # sequence, and a seed must plan the history it always planned (see the tests).
        month = self.random.randint(1, 12)
        day = self.random.randint(1, 28) if precision >= 0.5 else 0
        return packed(year, month if precision >= 0.2 else 0, day, self.random.random() < 0.1)

    def content(self, number: int, pair: tuple[str, str], when: PartialDate) -> Content:
        kind = self.random.choice(DEVELOPMENT_KINDS)
        return Content(
            kind=kind,
            summary=f"Synthetic development {number}: {pair[0]} {kind.value} {pair[1]}.",
            actors=(Participation(pair[0], Role.SOURCE), Participation(pair[1], Role.TARGET)),
            date=when,
            certainty=self.random.choice(CERTAINTIES),
            sources=(Source("Synthetic Wire", "generated", when, f"Report {number}."),),
            items=("goods",) if kind in (Kind.MATERIAL_SUPPORT, Kind.ARMS_DEAL) else (),
        )

    def plan(self) -> Iterator[tuple[str, int, Any]]:
        """The operations in record order: ("record", n, (content, status)) and the follow-ups
        ("correct" | "retract" | "occur" | "cancel", n, ...) of earlier developments. Its
        memory is a few machine words per development (dates packed in arrays), not objects."""
        # World-date order first, then about 10% moved later: recorded late.
        dates = array("q", (self._drawn() for _ in range(self.size)))
        earliest = array("q", map(earliest_of, dates))
        order = sorted(range(self.size), key=earliest.__getitem__)  # stable: ties by number
        del earliest
        late = set(self.random.sample(range(self.size), self.size // 10))
        on_time = [n for n in order if n not in late]
        del order
        # Each late development goes in at a random place of the list as it then stands.
        moved = sorted(late)
        at = [self.random.randint(0, len(on_time) + i) for i in range(len(moved))]
        on_time = inserted(on_time, moved, at)
        follow_ups: dict[int, list[tuple[str, int, Any]]] = {}  # by position, while due
        for position, number in enumerate(on_time):
            pair = self.pair()
            when = unpacked(dates[number])
            roll = self.random.random()
            if roll < 0.05:
                status, planned = Status.PLANNED, self.date(min(when.year + 1, LAST_YEAR))
            elif roll < 0.15:
                status, planned = Status.ONGOING, None
            else:
                status, planned = Status.OCCURRED, None
            content = self.content(number, pair, when)
            if planned is not None:
                content = content.changed({"planned_for": planned})
            yield ("record", number, (content, status, number in late))
            later = min(self.size - 1, position + self.random.randint(1, 2000))
            roll = self.random.random()
            if status is Status.PLANNED:
                follow_ups.setdefault(later, []).append(
                    ("occur" if roll < 0.7 else "cancel", number, None))
            elif roll < 0.05:
                corrected = self.date()
                while corrected == when:  # a correction must change something
                    corrected = self.date()
                follow_ups.setdefault(later, []).append(("correct", number, corrected))
            elif roll < 0.06:
                follow_ups.setdefault(later, []).append(("retract", number, None))
            yield from follow_ups.pop(position, ())


def packed(year: int, month: int, day: int, approximate: bool) -> int:
    """A drawn date in an int: its year, month and day (0: none) and whether approximate."""
    return ((year * 13 + month) * 29 + day) * 2 + approximate


def fields_of(code: int) -> tuple[int, int, int, bool]:
    """The year, month, day (0: none) and approximate flag packed in `code` (see packed)."""
    rest, approximate = divmod(code, 2)
    rest, day = divmod(rest, 29)
    year, month = divmod(rest, 13)
    return year, month, day, bool(approximate)


def unpacked(code: int) -> PartialDate:
    """The date packed in `code` (see packed), parsed as a date of that precision is."""
    year, month, day, approximate = fields_of(code)
    text = (f"{year}" if not month else f"{year}-{month:02d}" if not day
            else f"{year}-{month:02d}-{day:02d}")
    return PartialDate.parse(text, approximate=approximate)


def earliest_of(code: int) -> int:
    """The first day a packed date can mean, as an int that orders as the days do."""
    year, month, day, _ = fields_of(code)
    return (year * 100 + (month or 1)) * 100 + (day or 1)


def inserted(items: list[int], moved: list[int], at: list[int]) -> array[int]:
    """`items` once each of `moved` has gone in, in turn, at its index `at` of the list as it
    then stands (list.insert), in O(n log n) rather than a copy of the list per insertion:
    the last one inserted keeps its index; each earlier one takes the free place of that
    rank once the later ones have theirs, found in a Fenwick tree of free places."""
    size = len(items) + len(moved)
    found = array("q", [-1]) * size
    # A Fenwick tree over the places, 1-based, every place free: node i counts lowbit(i).
    tree = array("q", (i & -i for i in range(size + 1)))
    top = 1 << size.bit_length() if size else 0
    for number, rank in zip(reversed(moved), reversed(at), strict=True):
        place, left = 0, rank + 1  # the rank-th free place, 0-based
        step = top
        while step:
            if place + step <= size and tree[place + step] < left:
                place += step
                left -= tree[place]
            step >>= 1
        found[place] = number  # place + 1, 1-based
        node = place + 1
        while node <= size:
            tree[node] -= 1
            node += node & -node
    rest = iter(items)
    for place in range(size):
        if found[place] < 0:
            found[place] = next(rest)
    return found


def run(
    app: Timeline, synthesizer: Synthesizer, batch: int = 1000, progress: Progress | None = None
) -> SynthReport:
    """Register the synthetic actors, then record their history (see record_history)."""
    report = SynthReport()
    register_actors(app, synthesizer, report, progress)
    record_history(app, synthesizer, batch, report, progress)
    return report


def register_actors(
    app: Timeline, synthesizer: Synthesizer, report: SynthReport,
    progress: Progress | None = None,
) -> None:
    """Register the actors not yet in the store, each through the application's command."""
    # States first: the others belong to them.
    actors = sorted(synthesizer.actors, key=lambda a: a["kind"] is not ActorKind.STATE)
    if progress is not None:
        progress(REGISTERED, 0, len(actors))
    for number, actor in enumerate(actors, 1):
        if not app.has_actor(actor["id"]):
            app.register_actor(actor["id"], actor["name"], actor["kind"],
                               belongs_to=actor["belongs_to"], recorded_by="synth")
            report.actors += 1
        if progress is not None:
            progress(REGISTERED, number, len(actors))


def record_history(
    app: Timeline, synthesizer: Synthesizer, batch: int, report: SynthReport,
    progress: Progress | None = None,
) -> None:
    """Record the planned history, `batch` developments a transaction (see record_batch)."""
    if progress is not None:
        progress(RECORDED, report.developments, synthesizer.size)
    for operations in batches(synthesizer, batch):
        record_batch(app, synthesizer.seed, operations, report)
        if progress is not None:
            progress(RECORDED, report.developments, synthesizer.size)
    report.events = app.audit.count()


Operation = tuple[str, int, Any]


def batches(synthesizer: Synthesizer, batch: int) -> Iterator[list[Operation]]:
    """The plan in runs of `batch` developments, each with the follow-ups due meanwhile."""
    operations: list[Operation] = []
    recorded = 0
    for operation in synthesizer.plan():
        operations.append(operation)
        recorded += operation[0] == "record"
        if recorded >= batch:
            yield operations
            operations, recorded = [], 0
    if operations:
        yield operations


LATER_SOURCE = Source("Synthetic Wire", "generated", PartialDate.parse("2025"), "A later report.")


def record_batch(
    app: Timeline, seed: int, operations: list[Operation], report: SynthReport
) -> None:
    """Apply a run of operations and save them in one transaction.

    The corrections, status changes and retractions go into the same transaction as the
    developments: each is the aggregate's own command, and the application saves the run's
    aggregates together (one commit, and one disk flush, per run).
    """
    unsaved: dict[UUID, Development] = {}  # the run's aggregates, with their new events
    for operation, number, payload in operations:
        key = f"synth-{seed}-{number}"
        ident = development_id(key)
        if operation == "record":
            content, status, late = payload
            unsaved[ident] = Development(
                id=ident, content=content, status=status, key=key, recorded_by="synth"
            )
            report.developments += 1
            report.late += late
            continue
        development = unsaved.get(ident) or app.development(ident)
        if operation == "correct":
            development.correct({"date": payload}, "a better date", LATER_SOURCE, "synth")
            report.corrections += 1
        elif operation == "retract":
            development.retract("not confirmed", "synth", None)
            report.retractions += 1
        elif operation == "occur":
            development.change_status(Status.OCCURRED, "as planned", None, "synth", None)
            report.status_changes += 1
        else:
            # Called off as reported on its planned date: with no source, a cancellation
            # would count from the day it was recorded, outside the history (and a seed's
            # history would change with the day it was made).
            planned = development.content.planned_for
            development.change_status(
                Status.CANCELLED, "called off",
                Source("Synthetic Wire", "generated", planned, "Called off."), "synth", None,
            )
            report.status_changes += 1
        unsaved[ident] = development
    if unsaved:
        app.save_prepared(*unsaved.values())
