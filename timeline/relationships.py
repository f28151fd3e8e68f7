"""Pure rules that fold developments into the state of the relationship between two actors.

Nothing here reads a store: the read model hands over the developments of a pair (as known at
some moment) and these rules decide what they add up to as of a world date. The same builder
serves a state query and a replay, so a replay's last step always agrees with the state.

The rules, as the README documents them:

* **Pairs.** A development links each of its sources to each of its targets (with no targets,
  its sources to its participants; with no sources, its participants to its targets). A link
  between two actors that belong to states also links those states: Lavrov (Russia) meeting
  Wang Yi (China) shapes lavrov–wang-yi and russia–china. An actor that belongs to no state
  stands for itself.
* **Counting, as of a date D** (world time). The status of a development as of D is the one in
  force on D: each status change counts from the day it had certainly happened (see below), so
  a trip announced on 7 April and made on 8 April is planned as of 7 April and occurred as of
  10 April. A development that occurred or is ongoing on D **counts** when its period has ended
  by D, or when its period has begun by D and one of its sources had reported it by D (the
  supplies of "April 2024" in a report of 7 April count from 7 April). One whose period has
  begun but which is not yet certain by D is **possible**: listed, neither counted nor hidden.
  A planned development is **expected** from its announcement on, by the same rule, with its
  `planned_for`. An ongoing development that ended stops sustaining its ties once the last day
  of its end date has passed. Retracted and cancelled developments do not count. Without D,
  everything counts as it stands now.
* **Ties.** A development whose kind opens a tie (see vocabulary) opens or joins the tie of
  that kind between its two actors, directed from source to target except for mutual ties
  (partnership, diplomatic channel). A tie is `since` its earliest development and `until` the
  latest end once every development behind it has ended; its items are theirs combined and its
  certainty the strongest of theirs.
* **Stance**, from the ties in force: any war tie → war; else sanctions → hostility; else a
  partnership together with military supply → alliance; else a partnership → partnership; else
  any supply, arms deal, evasion route or diplomatic channel → cooperation; else by score:
  ≥ 2 cooperation, ≤ -2 tension, otherwise neutral.
* **Score**, a saturating sum in the Goldstein tradition. Each counted development contributes
  its kind's weight times its certainty factor (confirmed 1, reported 0.75, alleged 0.5,
  assessment 0.25); the score is 10 · tanh(Σ contributions / 20), rounded to 0.01. It stays
  within -10…+10, and it is monotone: a development with a positive weight never lowers it, one
  with a negative weight never raises it (a mean, which it replaced, let a consultation lower a
  partnership's score). Many small acts add up, and a few large ones cannot push it past the
  scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from enum import IntEnum
from functools import cached_property
from operator import mul
from typing import Any, NamedTuple

from timeline.domain import PartialDate, StatusSpan, happened_by, reported_day, stored_date
from timeline.vocabulary import (
    CERTAINTY_FACTORS,
    KINDS,
    MUTUAL_TIES,
    Certainty,
    Kind,
    Role,
    Stance,
    Status,
    TieKind,
    by_value,
)

KIND_OF, STATUS_OF, CERTAINTY_OF = by_value(Kind), by_value(Status), by_value(Certainty)


COUNTING = frozenset({Status.OCCURRED, Status.ONGOING})
CERTAINTY_RANK = list(CERTAINTY_FACTORS)  # strongest first
BOUND = 10.0  # the score stays within ±BOUND
SPREAD = 20.0  # the sum at which the score reaches tanh(1) of its bound (7.62): one agreement
# (+8) gives 3.80, the seeded China–Russia partnership with its supplies (+23.5) 8.26


def pair_of(a: str, b: str) -> tuple[str, str]:
    """The unordered pair, as the store keys it: the two ids in alphabetical order."""
    return (a, b) if a <= b else (b, a)


def total_of(weights: Mapping[float, int]) -> float:
    """The sum of contributions counted by amount, exactly rounded: the same float whatever
    order they were counted in."""
    return math.fsum(map(mul, weights, weights.values()))  # a replay sums at every step


def saturated(total: float) -> float:
    """The score for a sum of contributions (see the rules above)."""
    return round(BOUND * math.tanh(total / SPREAD), 2)


class StoredDate(NamedTuple):
    """A partial date as a stored fact keeps it."""

    text: str
    approximate: bool


class StoredFact(NamedTuple):
    """A fact as the read model keeps it beside its version's columns (which hold its
    development's id, version, kind, status, certainty, retraction and knowledge-time day):
    what the rules and a reference need, in a compact JSON array (a tuple dumps as one), its
    fields in this order, so that a relationship query reads a version's fact without
    inflating or parsing its document. `statuses` is empty when the fact has the one status
    span its status and date make (a development whose status never changed), and None when
    it has none."""

    date: StoredDate
    ended: StoredDate | None
    planned_for: StoredDate | None
    sources: Sequence[str]
    targets: Sequence[str]
    participants: Sequence[str]
    items: Sequence[str]
    summary: str
    reported_by: Sequence[Sequence[str]]
    reported: str  # ISO day by which the earliest of its sources was published; "" if none
    statuses: Sequence[tuple[str, str | None, StoredDate]] | None  # (status, since, date)


def stored(when: PartialDate) -> StoredDate:
    return StoredDate(str(when), when.approximate)


class Standing(IntEnum):
    """Where a development stands in its pairs on a day (see the counting rule)."""

    COUNTS = 0
    EXPECTED = 1
    POSSIBLE = 2

    @property
    def label(self) -> str:
        return self.name.lower()


def label_of(standing: Standing | None) -> str | None:
    return None if standing is None else standing.label


@dataclass(frozen=True)
class Fact:
    """One version of a development, as the relationship rules need it."""

    id: str
    kind: Kind
    status: Status
    certainty: Certainty
    date: PartialDate
    ended: PartialDate | None
    planned_for: PartialDate | None
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    participants: tuple[str, ...]
    items: tuple[str, ...]
    summary: str
    reported_by: tuple[tuple[str, str], ...] = ()  # (publication, attribution) of its sources
    reported: date | None = None  # when the earliest of its sources was published
    statuses: tuple[StatusSpan, ...] = ()  # the status in force on each day; () = `status`
    version: int = 1
    reported_from: date | None = None  # knowledge time: from when this version was known
    retracted: bool = False

    @classmethod
    def of(cls, development: Any, reported_from: date | None = None) -> Fact:
        """From a version of a development aggregate (what the read model writes): built as
        from_stored builds one, as the read model builds one for every event it applies."""
        content = development.content
        named: tuple[list[str], list[str], list[str]] = ([], [], [])  # by ROLE_INDEX
        for participation in content.actors:
            named[ROLE_INDEX[participation.role]].append(participation.actor)
        made = object.__new__(cls)
        made.__dict__.update(zip(FACT_FIELDS, (
            str(development.id),
            content.kind,
            development.status,
            content.certainty,
            content.date,
            development.ended,
            content.planned_for,
            tuple(named[0]),
            tuple(named[1]),
            tuple(named[2]),
            tuple(content.items),
            content.summary,
            tuple((s.publication, s.attribution) for s in content.sources),
            reported_day(content.sources),
            tuple(development.statuses),
            development.version,
            reported_from,
            development.retracted,
        ), strict=True))
        return made

    def stored_statuses(self) -> list[tuple[str, str | None, StoredDate]]:
        """Its status spans as `stored` keeps them: (status, since, date)."""
        return [
            (span.status.value, None if span.since is None else span.since.isoformat(),
             stored(span.date))
            for span in self.statuses
        ]

    def stored(self) -> StoredFact:
        """The fact as the read model keeps it beside its version's columns (see StoredFact):
        its status spans left out when they are the one span its status and date make."""
        statuses: list[Any] | None = []
        if self.statuses != (StatusSpan(self.status, None, self.date),):
            statuses = self.stored_statuses() if self.statuses else None
        return StoredFact(
            date=stored(self.date),
            ended=None if self.ended is None else stored(self.ended),
            planned_for=None if self.planned_for is None else stored(self.planned_for),
            sources=self.sources,
            targets=self.targets,
            participants=self.participants,
            items=self.items,
            summary=self.summary,
            reported_by=self.reported_by,
            reported="" if self.reported is None else self.reported.isoformat(),
            statuses=statuses,
        )

    @classmethod
    def from_stored(cls, ident: str, version: int, kind: str, status: str, certainty: str,
                    retracted: Any, reported_from: str, fact: Sequence[Any]) -> Fact:
        """A version's fact from its row in the read model: the columns it has (its
        development's id, ...; reported_from as an ISO day, "" when unknown) and its stored
        fact (see `stored`), or the JSON array it was stored as; built with as little work as
        it can be, as a relationship query builds one for each version it folds."""
        (when, ended, planned_for, sources, targets, participants, items, summary,
         reported_by, reported, statuses) = fact
        day = stored_date(*when)
        in_force = STATUS_OF[status]
        made = object.__new__(cls)
        # Its fields set at once (it has no __post_init__): a frozen dataclass's __init__ sets
        # each of its 18 through object.__setattr__, a quarter of building a fact.
        made.__dict__.update(zip(FACT_FIELDS, (
            ident,
            KIND_OF[kind],
            in_force,
            CERTAINTY_OF[certainty],
            day,
            ended and stored_date(*ended),
            planned_for and stored_date(*planned_for),
            tuple(sources),
            tuple(targets),
            tuple(participants),
            tuple(items),
            summary,
            tuple(map(tuple, reported_by)),
            date.fromisoformat(reported) if reported else None,
            tuple(
                StatusSpan(STATUS_OF[span], since and date.fromisoformat(since),
                           stored_date(*dated))
                for span, since, dated in statuses
            ) if statuses else () if statuses is None else (StatusSpan(in_force, None, day),),
            version,
            date.fromisoformat(reported_from) if reported_from else None,
            bool(retracted),
        ), strict=True))
        # What folding asks of its kind and certainty, found at once by their stored text (see
        # contribution and tie): a fold asks for each fact's several times.
        made.__dict__["contribution"], made.__dict__["tie"] = RULES_OF[kind, certainty]
        return made

    # --- world time -------------------------------------------------------------------------

    def spans(self) -> tuple[StatusSpan, ...]:
        return self.statuses or (StatusSpan(self.status, None, self.date),)

    @property
    def begins(self) -> date:
        """The first day it can stand anywhere: no world-time query before it needs it."""
        return min(span.date.earliest for span in self.spans())

    def span_on(self, day: date | None) -> StatusSpan:
        """The status in force on `day` (None: now), with the date it went with."""
        spans = self.spans()
        if day is None:
            return spans[-1]
        found = spans[0]
        for span in spans[1:]:
            if span.since is not None and span.since <= day:
                found = span
        return found

    def standing(self, as_of: date | None) -> Standing | None:
        """Where the development stands as of a world date (see the counting rule)."""
        span = self.span_on(as_of)
        status = span.status
        counting = status in COUNTING
        if self.retracted or (not counting and status is not Status.PLANNED):
            return None  # retracted or cancelled
        if as_of is None:
            return Standing.COUNTS if counting else Standing.EXPECTED
        if span.date.earliest > as_of:
            return None  # not begun
        if happened_by(span.date, self.reported) <= as_of:
            return Standing.COUNTS if counting else Standing.EXPECTED
        # Begun, not yet certain: possible if it is said to have happened; a plan is not
        # listed before its announcement is certain.
        return Standing.POSSIBLE if counting else None

    def on(self, as_of: date) -> dict[str, Any]:
        """What a development's document says of it as of a world date: the status in force
        then, and where it stood (counts, expected, possible; None when cancelled)."""
        return {"status": self.span_on(as_of).status.value,
                "standing": label_of(self.standing(as_of))}

    def changes(self) -> list[tuple[date, Standing | None]]:
        """The days on which its standing changes, each with the standing from then on: the
        steps of a replay in world time (see changes_day_by_day)."""
        spans = self.spans()
        if len(spans) != 1:
            return self.changes_day_by_day()
        # One status (most developments): where it stands changes when its period begins and
        # when it has certainly happened (never before it began), worked out at once rather
        # than by asking for its standing on each of those days; the same answer.
        span = spans[0]
        status = span.status
        counting = status in COUNTING
        if self.retracted or not (counting or status is Status.PLANNED):
            return []
        began, certain = span.date.earliest, happened_by(span.date, self.reported)
        settled = Standing.COUNTS if counting else Standing.EXPECTED
        if certain == began:
            return [(began, settled)]
        if counting:
            return [(began, Standing.POSSIBLE), (certain, settled)]
        return [(certain, settled)]  # a plan is not listed before it is certain

    def changes_day_by_day(self) -> list[tuple[date, Standing | None]]:
        """What `changes` gives, by its definition: the standing on each day on which it may
        change (a status's first day, its period's first day, the day it had certainly
        happened), kept where it differs from the day before."""
        days: set[date] = set()
        for span in self.spans():
            if span.since is not None:
                days.add(span.since)
            days.add(span.date.earliest)
            days.add(happened_by(span.date, self.reported))
        found: list[tuple[date, Standing | None]] = []
        before: Standing | None = None
        for day in sorted(days):
            now = self.standing(day)
            if now != before:
                found.append((day, now))
                before = now
        return found

    def has_ended(self, as_of: date | None) -> bool:
        return self.ended is not None and (as_of is None or self.ended.latest <= as_of)

    @cached_property
    def contribution(self) -> float:
        """What the development adds to the sum behind its pairs' scores."""
        return contribution_of(self.kind, self.certainty)

    @cached_property
    def tie(self) -> TieKind | None:
        """The tie its kind opens, if any."""
        return KINDS[self.kind].tie

    def reference(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind._value_,  # not .value: a Python-level property in Python 3.11
            "date": str(self.date),
            "summary": self.summary,
            "sources": [
                {"publication": publication, "attribution": attribution}
                for publication, attribution in self.reported_by
            ],
        }


# Fact's fields in the order Fact.from_stored gives their values.
FACT_FIELDS = tuple(f.name for f in fields(Fact))
# Where Fact.of puts an actor of each role: sources, targets, participants.
ROLE_INDEX = {Role.SOURCE: 0, Role.TARGET: 1, Role.PARTICIPANT: 2}


def contribution_of(kind: Kind, certainty: Certainty) -> float:
    return KINDS[kind].weight * CERTAINTY_FACTORS[certainty]


# A stored fact's contribution and tie (Fact.contribution, Fact.tie) by the text of its kind and
# certainty, as its row holds them.
RULES_OF = {(kind.value, certainty.value): (contribution_of(kind, certainty), KINDS[kind].tie)
            for kind in Kind for certainty in Certainty}


def links(fact: Fact, states_of: Mapping[str, Iterable[str]]) -> set[tuple[str, str]]:
    """The directed (from, to) links a development makes, lifted to states (see the rules)."""
    if fact.sources and fact.targets:
        direct = [(s, t) for s in fact.sources for t in fact.targets]
    elif fact.sources:
        direct = [(s, p) for s in fact.sources for p in fact.participants]
    else:
        direct = [(p, t) for p in fact.participants for t in fact.targets]

    def lifted(actor: str) -> set[str]:
        return set(states_of.get(actor, ())) or {actor}

    found = set()
    for a, b in direct:
        if a != b:
            found.add((a, b))
        found |= {(x, y) for x in lifted(a) for y in lifted(b) if x != y}
    return found


@dataclass
class Tie:
    kind: TieKind
    source: str  # `from` on the wire; for a mutual tie the pair's first actor
    target: str
    mutual: bool
    since: PartialDate
    items: list[str] = field(default_factory=list)
    certainty: Certainty = Certainty.ASSESSMENT
    # The ids of the developments behind it, in the order they joined, each once (a dict:
    # a busy tie is asked whether it holds a development at each of them).
    developments: dict[str, None] = field(default_factory=dict)
    ended: dict[str, PartialDate] = field(default_factory=dict)  # development id -> its end

    @property
    def until(self) -> PartialDate | None:
        """The latest end, once every development behind the tie has ended."""
        if len(self.ended) < len(self.developments):
            return None
        return max(self.ended.values(), key=lambda d: d.latest)

    def outline(self) -> dict[str, Any]:
        """The tie as a list of relationships shows it: without its items and the
        developments behind it, which grow with the pair's history (the pair's own query has
        them, see as_dict). A kind's value read as in Fact.reference."""
        until = self.until
        return {"kind": self.kind._value_, "from": self.source, "to": self.target,
                "mutual": self.mutual, "since": str(self.since),
                "until": None if until is None else str(until), "active": until is None,
                "certainty": self.certainty._value_}

    def as_dict(self) -> dict[str, Any]:
        return {**self.outline(), "items": list(self.items),
                "developments": list(self.developments)}


class Relationship:
    """The state of one pair, built one development at a time."""

    def __init__(self, pair: tuple[str, str]) -> None:
        self.pair = pair
        self.ties: dict[tuple[TieKind, str, str], Tie] = {}
        self.counted: dict[str, Fact] = {}  # in the order they came to count
        self.expected: dict[str, Fact] = {}
        self.possible: dict[str, Fact] = {}
        # How many counted developments contribute each amount: their sum (`total`) is then
        # the same whatever order they came to count in, so that a state resumed from a
        # chapter (see Tally) scores as the fold from the start does, to the last bit.
        self.weights: dict[float, int] = {}

    # --- folding ---------------------------------------------------------------------------

    def count(self, fact: Fact, source: str, target: str) -> None:
        """The development counts from now on."""
        self.expected.pop(fact.id, None)
        self.possible.pop(fact.id, None)
        if fact.id not in self.counted:
            # A development linking the pair twice (both ways) still counts once.
            self.counted[fact.id] = fact
            weight = fact.contribution
            self.weights[weight] = self.weights.get(weight, 0) + 1
        kind = fact.tie
        if kind is None:
            return
        key = self._tie_key(kind, source, target)
        tie = self.ties.get(key)
        if tie is None:
            tie = self.ties[key] = Tie(kind, key[1], key[2], kind in MUTUAL_TIES, fact.date)
        elif fact.date.earliest < tie.since.earliest:
            tie.since = fact.date
        tie.developments[fact.id] = None  # where it first joined, if it had
        tie.items.extend(item for item in fact.items if item not in tie.items)
        tie.certainty = min(tie.certainty, fact.certainty, key=CERTAINTY_RANK.index)

    def end(self, fact: Fact, source: str, target: str) -> None:
        """An ongoing development has ended: it no longer sustains its tie."""
        if fact.tie is None or fact.ended is None:
            return
        tie = self.ties.get(self._tie_key(fact.tie, source, target))
        # Only a development behind the tie ends its part in it: one withdrawn meanwhile
        # (cancelled after it counted) is no longer among them.
        if tie is not None and fact.id in tie.developments:
            tie.ended[fact.id] = fact.ended

    def list_as(self, fact: Fact, standing: Standing) -> None:
        """The development is expected, or possible, from now on."""
        self.withdraw(fact)
        (self.expected if standing is Standing.EXPECTED else self.possible)[fact.id] = fact

    def withdraw(self, fact: Fact) -> None:
        """The development no longer stands in the pair (an ongoing one was cancelled, say)."""
        self.expected.pop(fact.id, None)
        self.possible.pop(fact.id, None)
        if self.counted.pop(fact.id, None) is None:
            return
        weight = fact.contribution
        if self.weights[weight] == 1:
            del self.weights[weight]
        else:
            self.weights[weight] -= 1
        for key, tie in list(self.ties.items()):
            if fact.id in tie.developments:
                del tie.developments[fact.id]
                tie.ended.pop(fact.id, None)
                if not tie.developments:
                    del self.ties[key]

    def _tie_key(self, kind: TieKind, source: str, target: str) -> tuple[TieKind, str, str]:
        if kind in MUTUAL_TIES:
            source, target = self.pair
        return (kind, source, target)

    # --- reading ---------------------------------------------------------------------------

    @property
    def total(self) -> float:
        """The sum of the counted developments' contributions."""
        return total_of(self.weights)

    @property
    def score(self) -> float:
        return saturated(self.total)

    def active_ties(self) -> set[TieKind]:
        return {tie.kind for tie in self.ties.values() if tie.until is None}

    @property
    def stance(self) -> Stance:
        return stance_of(self.active_ties(), self.score)

    def standing_of(self, fact_id: str) -> Standing | None:
        if fact_id in self.counted:
            return Standing.COUNTS
        if fact_id in self.expected:
            return Standing.EXPECTED
        if fact_id in self.possible:
            return Standing.POSSIBLE
        return None

    def summary(self) -> dict[str, Any]:
        """What a replay step compares: stance, score and the ties in force (its Tally's, so
        that a state resumed from a chapter compares by the same rule)."""
        return Tally.of(self).summary()

    def outline(self) -> dict[str, Any]:
        """The pair as a list of relationships shows it: its stance, score and ties, and how
        many developments count, are expected and possible, in a size that does not grow with
        the pair's history (as_dict has each development; the read model keeps the outline of
        each pair as it stands now, see ReadModel.outline_pairs)."""
        return {
            "pair": list(self.pair),
            "stance": self.stance._value_,
            "score": self.score,
            "ties": [tie.outline() for tie in self.ties.values()],
            "counts": {"developments": len(self.counted), "expected": len(self.expected),
                       "possible": len(self.possible)},
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "pair": list(self.pair),
            "stance": self.stance._value_,
            "score": self.score,
            "ties": [tie.as_dict() for tie in self.ties.values()],
            "developments": [
                {**fact.reference(), "contribution": round(fact.contribution, 2)}
                for fact in self.counted.values()
            ],
            "expected": [
                {**fact.reference(), "planned_for": str(fact.planned_for)}
                for fact in self.expected.values()
            ],
            "possible": [fact.reference() for fact in self.possible.values()],
        }


def stance_of(active: Collection[TieKind], score: float) -> Stance:
    """The stance from the ties in force, then from the score (see the rules)."""
    if TieKind.WAR in active:
        return Stance.WAR
    if TieKind.SANCTIONS in active:
        return Stance.HOSTILITY
    if TieKind.PARTNERSHIP in active:
        if TieKind.MILITARY_SUPPLY in active:
            return Stance.ALLIANCE
        return Stance.PARTNERSHIP
    if active:
        return Stance.COOPERATION
    if score >= 2:
        return Stance.COOPERATION
    if score <= -2:
        return Stance.TENSION
    return Stance.NEUTRAL


@dataclass(frozen=True)
class Linked:
    """A development with one of the directed links it makes."""

    fact: Fact
    source: str
    target: str
    # Where its version is in the log, when read from the view (0 otherwise): how a chapter
    # names the links it needs (see Chapter).
    position: int = field(default=0, compare=False)

    @cached_property
    def pair(self) -> tuple[str, str]:
        """Computed once: a fold asks each link for it at each of its moments."""
        return pair_of(self.source, self.target)

    @classmethod
    def of_pair(cls, fact: Fact, source: str, target: str, pair: tuple[str, str],
                position: int = 0) -> Linked:
        """A link whose pair is already known (a query reads it from the link's row), its
        fields set at once as Fact.from_stored sets a fact's: a query makes one per row."""
        made = object.__new__(cls)
        made.__dict__.update(fact=fact, source=source, target=target, position=position,
                             pair=pair)
        return made


class Step(IntEnum):
    """What a moment does to its pair; on the same day, in this order."""

    COUNTS = 0  # the development counts from now on (Relationship.count)
    ENDS = 1  # an ongoing development has ended (Relationship.end)
    EXPECTED = 2  # a planned development is listed as expected (Relationship.list_as)
    POSSIBLE = 3  # begun, not yet certain: listed as possible (Relationship.list_as)
    WITHDRAWN = 4  # it no longer stands in the pair, a cancellation (Relationship.withdraw)

    @property
    def event(self) -> str:
        """The step as a replay names it."""
        return self.name.lower()


STEP_OF = {Standing.COUNTS: Step.COUNTS, Standing.EXPECTED: Step.EXPECTED,
           Standing.POSSIBLE: Step.POSSIBLE, None: Step.WITHDRAWN}


class Moment(NamedTuple):
    """A day on which a development, through one of its links, changes its pair."""

    day: date
    step: Step
    link: Linked

    def key(self) -> HappenedKey:
        """Where the moment stands in a replay in world time (see timeline_of), as a cursor
        holds it: the same order as `order`."""
        link = self.link
        return (self.day.isoformat(), int(self.step), link.fact.date.earliest.isoformat(),
                link.fact.id, *link.pair, link.source, link.target)

    def order(self) -> tuple[Any, ...]:
        """The moment's key with its days as dates: quicker to sort by."""
        link = self.link
        return (self.day, self.step, link.fact.date.earliest, link.fact.id, link.pair,
                link.source, link.target)

    def after(self, key: HappenedKey) -> bool:
        """Whether the moment comes after the key (its full key made only on the same day)."""
        day = self.day.isoformat()
        return day > key[0] or (day == key[0] and self.key() > key)


# The order of a replay in world time, total: the day, the step, the development's earliest
# day and id, then the pair and the link's direction (a development may link a pair both ways).
# Days are ISO text, so that a key travels in a cursor and compares like the dates.
HappenedKey = tuple[str, int, str, str, str, str, str, str]
# The order of a replay as the news arrived: the report's day, the development and its version,
# then the pair.
ReportedKey = tuple[str, str, int, str, str]


class FactMoment(NamedTuple):
    """A day on which a development changes where it stands, in all its links (see moments_of).
    `now_only` marks the last step of a replay to now, which one up to a date never shows."""

    day: date
    step: Step
    now_only: bool


def moments_of(fact: Fact, as_of: date | None = None) -> list[FactMoment]:
    """The days on which a development changes where it stands, up to `as_of` (None: all, then
    each ends as it stands now), each with its step.

    Those up to a date are those to now that are not `now_only`, up to that date: the read model
    keeps the moments to now, so that a replay's page is found in an index (see
    ViewQueries.select_moments)."""
    found = fact.changes()
    moments = []
    counted_on = None
    for day, standing in found:
        if as_of is not None and day > as_of:
            break
        moments.append(FactMoment(day, STEP_OF[standing], False))
        if standing is Standing.COUNTS and counted_on is None:
            counted_on = day
    if as_of is None and found and found[-1][1] is not fact.standing(None):
        moments.append(FactMoment(found[-1][0], STEP_OF[fact.standing(None)], True))
    if counted_on is not None and fact.has_ended(as_of):
        ended = max(fact.ended.latest, counted_on)  # type: ignore[union-attr]
        moments.append(FactMoment(ended, Step.ENDS, False))
    return moments


def timeline_of(linked: Iterable[Linked], as_of: date | None,
                per_fact: dict[int, list[FactMoment]] | None = None) -> list[Moment]:
    """The moments at which developments change where they stand, in the order they happen,
    up to `as_of` (None: all, then each ends as it stands now).

    Ties are broken by the step, then the development's earliest day and id, then the pair and
    the link's direction (Moment.key), so the order is total and the same on every run.
    `per_fact` keeps each fact's moments (by the fact's id(), for the same `as_of`) for a
    caller that folds the same facts again.
    """
    moments = []
    if per_fact is None:
        per_fact = {}  # per fact, not per link
    for link in linked:
        found = per_fact.get(id(link.fact))
        if found is None:
            found = per_fact[id(link.fact)] = moments_of(link.fact, as_of)
        moments += [Moment(day, step, link) for day, step, _ in found]
    moments.sort(key=Moment.order)
    return moments


def apply(relationship: Relationship, step: Step, link: Linked) -> None:
    if step is Step.COUNTS:
        relationship.count(link.fact, link.source, link.target)
    elif step is Step.ENDS:
        relationship.end(link.fact, link.source, link.target)
    elif step is Step.WITHDRAWN:
        relationship.withdraw(link.fact)
    else:
        relationship.list_as(link.fact, Standing.EXPECTED if step is Step.EXPECTED
                             else Standing.POSSIBLE)


def fold(linked: Iterable[Linked], as_of: date | None = None,
         per_fact: dict[int, list[FactMoment]] | None = None,
         ) -> dict[tuple[str, str], Relationship]:
    """The state of every pair the developments touch, as of a world date (None: now).
    `per_fact` as timeline_of takes it."""
    relationships: dict[tuple[str, str], Relationship] = {}
    for moment in timeline_of(linked, as_of, per_fact):
        pair = moment.link.pair
        relationship = relationships.get(pair)
        if relationship is None:  # not setdefault: it would build one at every moment
            relationship = relationships[pair] = Relationship(pair)
        apply(relationship, moment.step, moment.link)
    return relationships


# --- chapters: a busy pair's replay resumed from a kept state --------------------------------

# Where a chapter begins: the (day, step, earliest day, development id) of its first moment.
# A chapter never begins between the two directions of one development's moment, so these
# four order it among a pair's moments (see Moment.key).
ChapterKey = tuple[str, int, str, str]
TieKey = tuple[TieKind, str, str]


def chapter_key(moment: Moment) -> ChapterKey:
    link = moment.link
    return (moment.day.isoformat(), int(moment.step), link.fact.date.earliest.isoformat(),
            link.fact.id)


def chapter_order(moment: Moment) -> tuple[date, Step, date, str]:
    """chapter_key with its days as dates (Moment.order's first four): quicker to make, and
    compared with a key made so (ordered_key) as chapter keys compare (ISO days order as
    dates do)."""
    link = moment.link
    return (moment.day, moment.step, link.fact.date.earliest, link.fact.id)


def ordered_key(key: ChapterKey) -> tuple[date, int, date, str]:
    """A chapter key with its days as dates, to compare with chapter_order."""
    day, step, earliest, ident = key
    return (date.fromisoformat(day), step, date.fromisoformat(earliest), ident)


class Share(NamedTuple):
    """One development's part in a pair's state: the amount it adds (None: it does not count),
    the ties it is behind and those of them it has ended in."""

    weight: float | None
    ties: frozenset[TieKey]
    ended: frozenset[TieKey]


NO_SHARE = Share(None, frozenset(), frozenset())


def share_of(relationship: Relationship, fact_id: str) -> Share:
    """One development's part in a pair's state (NO_SHARE: none): what shares_of gives it,
    found without the others' (a development folded alone, most often)."""
    counted = relationship.counted.get(fact_id)
    ties = frozenset(key for key, tie in relationship.ties.items()
                     if fact_id in tie.developments)
    if counted is None and not ties:
        return NO_SHARE
    return Share(None if counted is None else counted.contribution, ties,
                 frozenset(key for key, tie in relationship.ties.items() if fact_id in tie.ended))


class Tally:
    """A pair's state as a replay step compares it (Relationship.summary), kept as counts: how
    many counted developments add each amount, and for each tie how many developments are
    behind it and how many of those have ended.

    Each development's part in a pair's state depends on its own moments alone (see
    Relationship: it counts or not, is behind a tie or not, has ended in it or not), so the
    state before a moment is the state kept at an earlier moment (a chapter, see
    fold_chapters) moved by each development's part before and after each moment between
    (see Resumed): a page of a busy pair's replay folds a chapter, not the pair's history."""

    def __init__(self, pair: tuple[str, str], weights: Mapping[float, int] | None = None,
                 ties: Mapping[TieKey, Sequence[int]] | None = None) -> None:
        self.pair = pair
        self.weights = dict(weights or {})
        self.ties = {key: list(counts) for key, counts in (ties or {}).items()}
        # The ties in force (as a summary names them) and how many of each kind, kept as the
        # counts move: a busy pair has many ties, and a replay asks for a summary at each
        # step, which would otherwise go through them all.
        active = [key for key, (behind, ended) in self.ties.items() if ended < behind]
        self._active = {(kind._value_, source, target) for kind, source, target in active}
        self._kinds: dict[TieKind, int] = {}
        for kind, _, _ in active:
            self._kinds[kind] = self._kinds.get(kind, 0) + 1
        self._summary: dict[str, Any] | None = None  # until it moves (see summary)

    @classmethod
    def of(cls, relationship: Relationship) -> Tally:
        return cls(relationship.pair, relationship.weights,
                   {key: (len(tie.developments), len(tie.ended))
                    for key, tie in relationship.ties.items()})

    def copy(self) -> Tally:
        return Tally(self.pair, self.weights, self.ties)

    def move(self, before: Share, after: Share) -> None:
        """One development's part changed from `before` to `after`."""
        if before == after:
            return
        self._summary = None
        if before.weight != after.weight:
            if before.weight is not None:
                self.weights[before.weight] -= 1
                if not self.weights[before.weight]:
                    del self.weights[before.weight]
            if after.weight is not None:
                self.weights[after.weight] = self.weights.get(after.weight, 0) + 1
        touched = set()
        for keys, at, sign in ((before.ties - after.ties, 0, -1),
                               (after.ties - before.ties, 0, 1),
                               (before.ended - after.ended, 1, -1),
                               (after.ended - before.ended, 1, 1)):
            for key in keys:
                self._count(key, at, sign)
                touched.add(key)
        for key in touched:  # only a tie moved here can have lost its last development
            if not self.ties[key][0]:
                del self.ties[key]  # as Relationship.withdraw drops a tie no one is behind

    def _count(self, key: TieKey, at: int, more: int) -> None:
        """Add `more` to a tie's developments behind it (`at` 0) or ended in it (1)."""
        counts = self.ties.get(key)
        if counts is None:
            counts = self.ties[key] = [0, 0]
        was = counts[1] < counts[0]
        counts[at] += more
        if was != (counts[1] < counts[0]):
            self._flip(key, not was)

    def _flip(self, key: TieKey, active: bool) -> None:
        """A tie comes into force (`active`) or leaves it."""
        kind, source, target = key
        if active:
            self._active.add((kind._value_, source, target))
            self._kinds[kind] = self._kinds.get(kind, 0) + 1
        else:
            self._active.discard((kind._value_, source, target))
            self._kinds[kind] -= 1
            if not self._kinds[kind]:
                del self._kinds[kind]

    def summary(self) -> dict[str, Any]:
        """What Relationship.summary gives for the same state (kept until the state moves: a
        replay step compares the summary after one moment with the one before the next)."""
        if self._summary is None:
            score = saturated(total_of(self.weights))
            self._summary = {
                "stance": stance_of(self._kinds.keys(), score)._value_,
                "score": score,
                "ties": frozenset(self._active),  # as it stands: the set moves on
            }
        return self._summary

    def dumped(self) -> list[Any]:
        """As a chapter keeps it (compact JSON): each amount and how many add it, in one
        list; each tie as its kind, 1 if it runs from the pair's first actor (or is mutual)
        else 0, how many developments are behind it and how many of them have ended."""
        first = self.pair[0]
        return [[value for item in sorted(self.weights.items()) for value in item],
                sorted([kind._value_, int(source == first), *counts]
                       for (kind, source, target), counts in self.ties.items())]

    @classmethod
    def loaded(cls, pair: tuple[str, str], dumped: Sequence[Any]) -> Tally:
        weights, ties = dumped
        a, b = pair
        return cls(pair, dict(zip(weights[::2], weights[1::2], strict=True)),
                   {(TIE_OF[kind], *((a, b) if from_a else (b, a))): (behind, ended)
                    for kind, from_a, behind, ended in ties})

    def change_to(self, other: Tally) -> list[Any]:
        """What moves this state to `other`, dumped as `dumped` is but with differences of
        counts, none zero: a few moments apart, far shorter than the state (see
        pair_chapters)."""
        first = self.pair[0]
        weights = sorted((amount, other.weights.get(amount, 0) - self.weights.get(amount, 0))
                         for amount in self.weights.keys() | other.weights.keys())
        ties = []
        for key in self.ties.keys() | other.ties.keys():
            (behind, ended), (was_behind, was_ended) = (other.ties.get(key, (0, 0)),
                                                        self.ties.get(key, (0, 0)))
            if (behind, ended) != (was_behind, was_ended):
                kind, source, _ = key
                ties.append([kind._value_, int(source == first), behind - was_behind,
                             ended - was_ended])
        return [[value for amount, more in weights if more for value in (amount, more)],
                sorted(ties)]

    def changed(self, change: Sequence[Any]) -> Tally:
        """This state moved by `change` (see change_to)."""
        tally = self.copy()
        tally.change(change)
        return tally

    def change(self, change: Sequence[Any]) -> None:
        """Move this state by `change` (see change_to), in place."""
        weights, ties = change
        self._summary = None
        for amount, more in zip(weights[::2], weights[1::2], strict=True):
            count = self.weights.get(amount, 0) + more
            if count:
                self.weights[amount] = count
            else:
                del self.weights[amount]
        a, b = self.pair
        for kind, from_a, behind, ended in ties:
            key = (TIE_OF[kind], *((a, b) if from_a else (b, a)))
            self._count(key, 0, behind)
            self._count(key, 1, ended)
            if not self.ties[key][0]:
                del self.ties[key]  # no development behind it: no tie (see move)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Tally) and (self.pair, self.weights, self.ties)
                == (other.pair, other.weights, other.ties))

    __hash__ = None  # type: ignore[assignment]  # mutable


TIE_OF = by_value(TieKind)


class Chapter(NamedTuple):
    """A run of a busy pair's moments (in world-time order): where it begins, the pair's state
    just before it (as a replay to now folds it, and as a replay up to a date does, where that
    differs: `until`, None when the same), and the positions of the links with a moment in it,
    each once."""

    key: ChapterKey
    now: Tally | None  # None: read without it (see ViewQueries.read_chapters)
    until: Tally | None
    positions: list[int]

    @property
    def cost(self) -> int:
        """The links a page reads for it, at most (a page's budget, see SCAN_LINKS)."""
        return len(self.positions)


def own_fold(pair: tuple[str, str], links: Sequence[Linked], since: ChapterKey | None = None,
             to_a_date: bool = False, per_fact: dict[int, list[FactMoment]] | None = None
             ) -> Relationship:
    """One development's part in a pair (given its links of the pair) folded alone, from its
    moments before `since` (None: all of them): those of a replay to now, or (`to_a_date`)
    those of a replay up to a date later than them (without the `now_only` ones, see
    moments_of). `per_fact` keeps each fact's moments to now, as timeline_of does."""
    per_fact = {} if per_fact is None else per_fact
    for link in links:
        if id(link.fact) not in per_fact:
            per_fact[id(link.fact)] = moments_of(link.fact)
    alone = Relationship(pair)
    begins = None if since is None else ordered_key(since)
    if begins is not None and all(day > begins[0] for link in links
                                  for day, _, _ in per_fact[id(link.fact)]):
        return alone  # every moment after the chapter's day: most developments of a page
    moments = sorted((Moment(day, step, link) for link in links
                      for day, step, now_only in per_fact[id(link.fact)]
                      if not (to_a_date and now_only)), key=Moment.order)
    for moment in moments:
        if begins is not None and chapter_order(moment) >= begins:
            break
        apply(alone, moment.step, moment.link)
    return alone


class Folded(NamedTuple):
    """What fold_chapters gives: each pair's state to now, each busy pair's chapters (or what
    its `keep` made of each run of them), and each busy pair's part of each development in
    it now, by the development's id, with its version's position."""

    states: dict[tuple[str, str], Relationship]
    chapters: dict[tuple[str, str], list[Any]]
    shares: dict[tuple[str, str], dict[str, tuple[int, Share]]]


def fold_chapters(linked: Iterable[Linked], every: int, run: int | None = None,
                  keep: Callable[[list[Chapter]], Any] | None = None) -> Folded:
    """What fold gives (to now), and the chapters of each pair with more than `every` moments:
    a chapter at its first moment, then one at the first moment after each `every` of them
    that begins a development's moment (not its second direction). With `keep`, each `run`
    of a pair's chapters is given to it as soon as they are made, and what it returns is kept
    in their place (the outliner packs them: a busy pair's chapters, held as Tallies until
    the end, were most of a rebuild's peak memory)."""
    linked = list(linked)
    per_fact: dict[int, list[FactMoment]] = {}
    timeline = timeline_of(linked, None, per_fact)
    sizes: dict[tuple[str, str], int] = {}
    for moment in timeline:
        sizes[moment.link.pair] = sizes.get(moment.link.pair, 0) + 1
    busy = {pair for pair, size in sizes.items() if size > every}
    links_of: dict[tuple[tuple[str, str], str], list[Linked]] = {}
    for link in linked:
        if link.pair in busy:
            links_of.setdefault((link.pair, link.fact.id), []).append(link)
    # The facts with a now_only moment (few), and its day and step.
    now_only = {key: {(day, step) for day, step, last in moments if last}
                for key, moments in per_fact.items() if any(last for *_, last in moments)}
    relationships: dict[tuple[str, str], Relationship] = {}
    kept: dict[tuple[str, str], list[Any]] = {}
    chapters: dict[tuple[str, str], list[Chapter]] = {}  # the pair's chapters not kept yet

    def close(pair: tuple[str, str], full: bool) -> None:
        """The pair's last chapter ends; its run goes to `keep` if the run is `full`."""
        found = chapters[pair]
        found[-1].positions[:] = dict.fromkeys(found[-1].positions)
        if keep is not None and (full or len(found) == run):
            kept.setdefault(pair, []).append(keep(found))
            chapters[pair] = []

    counted: dict[tuple[str, str], int] = {}  # moments of the pair's last chapter
    previous: dict[tuple[str, str], Moment] = {}  # the pair's last moment
    # Per busy pair, the developments a replay up to a date folds otherwise (a now_only
    # moment behind): few, each folded alone at each chapter after it.
    unlike: dict[tuple[str, str], set[str]] = {}
    for moment in timeline:
        day, step, link = moment
        pair = link.pair
        relationship = relationships.get(pair)
        if relationship is None:
            relationship = relationships[pair] = Relationship(pair)
        if pair in busy:
            if pair not in counted or (counted[pair] >= every
                                       and not same_moment(moment, previous[pair])):
                if pair in counted:
                    close(pair, False)
                key = chapter_key(moment)
                chapters.setdefault(pair, []).append(Chapter(
                    key, Tally.of(relationship),
                    until_tally(relationship, unlike.get(pair), links_of, key), []))
                counted[pair] = 0
            counted[pair] += 1
            previous[pair] = moment
            chapters[pair][-1].positions.append(link.position)
            if id(link.fact) in now_only and (day, step) in now_only[id(link.fact)]:
                unlike.setdefault(pair, set()).add(link.fact.id)
        apply(relationship, step, link)
    for pair in chapters:
        close(pair, True)
    if keep is None:
        kept = chapters  # type: ignore[assignment]
    # Each development's part now is its part in the pair's state now (see Tally).
    shares: dict[tuple[str, str], dict[str, tuple[int, Share]]] = {pair: {} for pair in busy}
    parts = {pair: shares_of(relationships[pair]) for pair in busy}
    for (pair, ident), made in links_of.items():
        shares[pair][ident] = (made[0].position, parts[pair].get(ident, NO_SHARE))
    return Folded(relationships, kept, shares)


def shares_of(relationship: Relationship) -> dict[str, Share]:
    """Each development's part in a pair's state, in one pass over its ties; none for a
    development with no part."""
    ties: dict[str, set[TieKey]] = {}
    ended: dict[str, set[TieKey]] = {}
    for key, tie in relationship.ties.items():
        for ident in tie.developments:
            ties.setdefault(ident, set()).add(key)
        for ident in tie.ended:
            ended.setdefault(ident, set()).add(key)
    return {ident: Share(relationship.counted[ident].contribution
                         if ident in relationship.counted else None,
                         frozenset(ties.get(ident, ())), frozenset(ended.get(ident, ())))
            for ident in relationship.counted.keys() | ties.keys()}


def same_moment(moment: Moment, other: Moment) -> bool:
    """Whether two moments are one development's on one day (its two directions)."""
    return (moment.link.fact is other.link.fact and moment.day == other.day
            and moment.step is other.step)


def until_tally(relationship: Relationship, unlike: set[str] | None,
                links_of: Mapping[tuple[tuple[str, str], str], Sequence[Linked]],
                key: ChapterKey) -> Tally | None:
    """The state before `key` as a replay up to a date folds it, where it differs from the
    fold to now: each development with a now_only moment before it, folded alone both ways."""
    if not unlike:
        return None
    tally = Tally.of(relationship)
    pair = relationship.pair
    for ident in sorted(unlike):
        links = links_of[(pair, ident)]
        tally.move(share_of(own_fold(pair, links, key, False), ident),
                   share_of(own_fold(pair, links, key, True), ident))
    return tally


class Resumed:
    """A pair's state resumed from a chapter (its Tally then), moved along by the moments
    after it as a Relationship is (count, end, list_as, withdraw; see Tally): each
    development's part before its first moment here is folded from its own moments before
    the chapter (its links of the pair in `links_of`, by its id)."""

    def __init__(self, tally: Tally, since: ChapterKey,
                 links_of: Mapping[str, Sequence[Linked]], to_a_date: bool) -> None:
        self.pair = tally.pair
        self.tally, self.since, self.links_of, self.to_a_date = tally, since, links_of, to_a_date
        self.alone: dict[str, Relationship] = {}
        # Each fact's moments to now, shared with the replay's timeline where it has them.
        self.per_fact: dict[int, list[FactMoment]] = {}

    def _move(self, fact: Fact, change: Any) -> None:
        alone = self.alone.get(fact.id)
        if alone is None:
            alone = self.alone[fact.id] = own_fold(self.pair, self.links_of[fact.id],
                                                   self.since, self.to_a_date, self.per_fact)
        before = share_of(alone, fact.id)
        change(alone)
        self.tally.move(before, share_of(alone, fact.id))

    def count(self, fact: Fact, source: str, target: str) -> None:
        self._move(fact, lambda alone: alone.count(fact, source, target))

    def end(self, fact: Fact, source: str, target: str) -> None:
        self._move(fact, lambda alone: alone.end(fact, source, target))

    def list_as(self, fact: Fact, standing: Standing) -> None:
        self._move(fact, lambda alone: alone.list_as(fact, standing))

    def withdraw(self, fact: Fact) -> None:
        self._move(fact, lambda alone: alone.withdraw(fact))

    def summary(self) -> dict[str, Any]:
        return self.tally.summary()


def change_of(relationship: Relationship, before: dict[str, Any]) -> dict[str, Any]:
    """What changed in a pair since `before` (its summary then)."""
    after = relationship.summary()
    return {
        "pair": list(relationship.pair),
        "ties_opened": [list(t) for t in sorted(after["ties"] - before["ties"])],
        "ties_closed": [list(t) for t in sorted(before["ties"] - after["ties"])],
        "stance": {"from": before["stance"], "to": after["stance"]},
        "score": {"from": before["score"], "to": after["score"]},
    }


def replay(
    linked: Iterable[Linked], until: date | None = None, start: date | None = None
) -> list[dict[str, Any]]:
    """The steps that built the state up to `until`, in world-date order: which development
    changed which pair, and what changed. Steps before `start` are applied silently, so the
    first step shown starts from the state as of the day before `start`."""
    return [step for _, step in replay_steps(linked, until, start)]


def replay_steps(
    linked: Iterable[Linked], until: date | None = None, start: date | None = None,
    after: HappenedKey | None = None, limit: int | None = None,
    resumed: Mapping[tuple[str, str], Resumed] | None = None, bound: ChapterKey | None = None,
) -> list[tuple[HappenedKey, dict[str, Any]]]:
    """The steps of `replay`, each with its key: only those after the key `after` (the steps
    before it applied silently, as before `start`), and at most `limit` of them. Folding stops
    at the last step shown.

    A pair in `resumed` starts from its chapter's state: its moments before the chapter are
    in it already, and the links given need not hold them (see Chapter). With a `bound`,
    the replay stops before the first moment at or after that key (where the links given
    end)."""
    relationships: dict[tuple[str, str], Any] = dict(resumed or {})
    since = {pair: ordered_key(state.since) for pair, state in (resumed or {}).items()}
    ends = None if bound is None else ordered_key(bound)
    steps: list[tuple[HappenedKey, dict[str, Any]]] = []
    per_fact: dict[int, list[FactMoment]] = {}
    if until is None:  # the timeline's moments are those to now: the resumed pairs' too
        for state in (resumed or {}).values():
            state.per_fact = per_fact
    for moment in timeline_of(linked, until, per_fact):
        if limit is not None and len(steps) >= limit:
            break
        day, step, link = moment
        pair = link.pair
        if pair in since and chapter_order(moment) < since[pair]:
            continue  # in the chapter's state already
        if ends is not None and chapter_order(moment) >= ends:
            break
        relationship = relationships.get(pair)
        if relationship is None:
            relationship = relationships[pair] = Relationship(pair)
        if (start is not None and day < start) or (after is not None and not moment.after(after)):
            apply(relationship, step, link)  # silently: only a step shown needs its summaries
            continue
        before = relationship.summary()
        apply(relationship, step, link)
        steps.append((moment.key(), {
            "date": day.isoformat(),
            "event": step.event,
            "development": link.fact.reference(),
            **change_of(relationship, before),
        }))
    return steps


def replay_reported(
    linked: Iterable[Linked], until: date | None = None, start: date | None = None
) -> list[dict[str, Any]]:
    """The steps as the news arrived: each version of a development (given with the links of
    every version), in the order it was reported up to `until`, with what that report changed
    in each pair it touches. The world is taken as it stands now; a report that changes
    nothing (an older version reported late) is no step.

    Cost: each step refolds the pairs it touches, O(developments of those pairs).
    """
    return [step for _, step in reported_steps(linked, until, start)]


class Report(NamedTuple):
    """A version of a development as the news brought it, in a replay by report: the version
    it replaces (None: the first), and the pairs whose state it may change, in pair order."""

    day: str  # ISO day from which it counts in knowledge time ("" when unknown)
    ident: str
    version: int
    previous: int | None
    touched: list[tuple[str, str]]

    def step_keys(self) -> list[ReportedKey]:
        """The keys of its steps, one per pair touched."""
        return [(self.day, self.ident, self.version, *pair) for pair in self.touched]


def reports_of(by_version: Mapping[tuple[str, int], list[Linked]]) -> list[Report]:
    """The versions (given with their links) in the order they were reported, each with the
    version in force before it. One reported after a later version changes nothing: no report."""
    order = sorted(by_version, key=lambda key: (by_version[key][0].fact.reported_from
                                                or date.max, key))
    in_force: dict[str, int] = {}  # development id -> the version in force
    found = []
    for ident, version in order:
        previous = in_force.get(ident)
        if previous is not None and previous > version:
            continue
        touched = {link.pair for link in by_version[(ident, version)]}
        if previous is not None:
            touched |= {link.pair for link in by_version[(ident, previous)]}
        reported_from = by_version[(ident, version)][0].fact.reported_from
        found.append(Report(reported_from.isoformat() if reported_from else "", ident, version,
                            previous, sorted(touched)))
        in_force[ident] = version
    return found


def by_version_of(linked: Iterable[Linked]) -> dict[tuple[str, int], list[Linked]]:
    """Links grouped by the (development id, version) that makes them."""
    by_version: dict[tuple[str, int], list[Linked]] = {}
    for link in linked:
        by_version.setdefault((link.fact.id, link.fact.version), []).append(link)
    return by_version


def reported_steps(
    linked: Iterable[Linked], until: date | None = None, start: date | None = None,
    after: ReportedKey | None = None, limit: int | None = None,
    pairs: Collection[tuple[str, str]] | None = None,
) -> list[tuple[ReportedKey, dict[str, Any]]]:
    """The steps of `replay_reported`, each with its key: only those after the key `after`, of
    the `pairs` given (None: all), and at most `limit` of them. A pair's state is folded only
    for a step shown; the others only move the versions in force along."""
    by_version = by_version_of(linked)
    in_force: dict[str, int] = {}  # development id -> the version in force
    members: dict[tuple[str, str], set[str]] = {}  # pair -> ids of developments linking it
    states = PairStates(by_version, in_force, members)
    steps: list[tuple[ReportedKey, dict[str, Any]]] = []
    for report in reports_of(by_version):
        if limit is not None and len(steps) >= limit:
            break
        ident, version, previous = report.ident, report.version, report.previous
        fact = by_version[(ident, version)][0].fact
        if until is not None and report.day and report.day > until.isoformat():
            break
        shown: list[tuple[ReportedKey, tuple[str, str]]] = []
        if start is None or not report.day or report.day >= start.isoformat():
            shown = [(key, pair) for key, pair in zip(report.step_keys(), report.touched, strict=True)
                     if (pairs is None or pair in pairs) and (after is None or key > after)]
        before = {pair: states.of(pair) for _, pair in shown}
        if previous is not None:
            for link in by_version[(ident, previous)]:
                members[link.pair].discard(ident)
        in_force[ident] = version
        for link in by_version[(ident, version)]:
            members.setdefault(link.pair, set()).add(ident)
        for key, pair in shown[:None if limit is None else limit - len(steps)]:
            after_state = states.of(pair)
            standing = (before[pair].standing_of(ident), after_state.standing_of(ident))
            steps.append((key, {
                "date": report.day or None,
                "event": "reported",
                "version": version,
                "standing": {"from": label_of(standing[0]), "to": label_of(standing[1])},
                "development": fact.reference(),
                **change_of(after_state, before[pair].summary()),
            }))
    return steps


# --- chapters of a replay as the news arrived ------------------------------------------------

# A version as a replay by report orders it: its report's day (ISO), development id, version;
# where it begins a chapter, the chapter's key.
ReportKey = tuple[str, str, int]


class VersionRef(NamedTuple):
    """A version with a link (any pair's) of a development that linked a pair: a report of the
    pair's replay by report (see reports_of), and where it is in the log."""

    day: str
    ident: str
    version: int
    position: int


class ReportChapter(NamedTuple):
    """A run of a busy pair's reports (in the order of a replay as the news arrived): where it
    begins, the pair's state just before it (the world as it stands now, with the versions
    reported before it), the positions of its reports (every version with a link of a
    development that linked the pair, some of them linking other pairs only), and of the
    versions in force just before it of the developments reported in it."""

    key: ReportKey
    tally: Tally | None  # None: read without it (see ViewQueries.read_chapters)
    reports: list[int]
    before: list[int]

    @property
    def cost(self) -> int:
        """The versions a page reads for it (a page's budget, see SCAN_LINKS)."""
        return len(self.reports) + len(self.before)


def report_order(ref: VersionRef) -> tuple[str, str, int]:
    """As reports_of orders versions (a day unknown, last)."""
    return (ref.day or "9999-12-31", ref.ident, ref.version)


def report_chapters(pair: tuple[str, str], versions: Iterable[VersionRef],
                    shares: Mapping[int, Share], every: int, run: int | None = None,
                    keep: Callable[[list[ReportChapter]], Any] | None = None) -> list[Any]:
    """The chapters of a pair's replay by report, one every `every` reports, from the
    versions of the developments that linked it and each version's part in the pair as it
    stands now (by position; none, for one that links other pairs only). With `keep`, what
    it makes of each `run` of them, as soon as they are made (see fold_chapters)."""
    tally = Tally(pair)
    in_force: dict[str, VersionRef] = {}
    kept: list[Any] = []
    chapters: list[ReportChapter] = []
    reported: set[str] = set()  # the developments reported in the last chapter
    for ref in sorted(versions, key=report_order):
        previous = in_force.get(ref.ident)
        if previous is not None and previous.version > ref.version:
            continue  # reported after a later version: no report (see reports_of)
        if not chapters or len(chapters[-1].reports) >= every:
            if keep is not None and len(chapters) == run:
                kept.append(keep(chapters))
                chapters = []
            chapters.append(ReportChapter((ref.day, ref.ident, ref.version), tally.copy(), [],
                                          []))
            reported = set()
        chapter = chapters[-1]
        chapter.reports.append(ref.position)
        if ref.ident not in reported:
            reported.add(ref.ident)
            if previous is not None:
                chapter.before.append(previous.position)
        tally.move(NO_SHARE if previous is None else shares.get(previous.position, NO_SHARE),
                   shares.get(ref.position, NO_SHARE))
        in_force[ref.ident] = ref
    if keep is None:
        return chapters
    return [*kept, keep(chapters)] if chapters else kept


def own_version(pair: tuple[str, str], position: int,
                links_of: Mapping[int, Sequence[Linked]], alone: dict[int, Relationship]
                ) -> Relationship:
    """A version's part in the pair as it stands now, folded once (for its standing too)."""
    found = alone.get(position)
    if found is None:
        found = alone[position] = own_fold(pair, links_of.get(position, ()))
    return found


def resumed_reports(pair: tuple[str, str], chapters: Sequence[ReportChapter],
                    refs: Mapping[int, tuple[VersionRef, Fact]],
                    links_of: Mapping[int, Sequence[Linked]], until: date | None = None,
                    start: date | None = None, after: ReportedKey | None = None,
                    limit: int | None = None, bound: ReportKey | None = None
                    ) -> list[tuple[ReportedKey, dict[str, Any]]]:
    """The steps of one pair's replay by report (as reported_steps gives them) from the first
    of its `chapters` on, through the reports of those given: each version's reference and
    fact by position (`refs`), its links of the pair (`links_of`). Stops before `bound` (the
    key of the chapter after them), past `until`, or at `limit` steps."""
    tally = chapters[0].tally.copy()
    in_force: dict[str, VersionRef] = {}
    alone: dict[int, Relationship] = {}
    steps: list[tuple[ReportedKey, dict[str, Any]]] = []
    last_day = None if until is None else until.isoformat()
    first_day = None if start is None else start.isoformat()
    for chapter in chapters:
        for position in chapter.before:  # in force from before the first chapter read
            ref = refs[position][0]
            in_force.setdefault(ref.ident, ref)
        for position in chapter.reports:
            ref, fact = refs[position]
            if limit is not None and len(steps) >= limit:
                return steps
            if bound is not None and (ref.day, ref.ident, ref.version) >= bound:
                return steps
            if last_day is not None and ref.day and ref.day > last_day:
                return steps
            previous = in_force.get(ref.ident)
            if previous is not None and previous.version > ref.version:
                continue
            before = None if previous is None else own_version(pair, previous.position,
                                                               links_of, alone)
            now = own_version(pair, position, links_of, alone)
            key = (ref.day, ref.ident, ref.version, *pair)
            touched = bool(links_of.get(position)) or bool(
                previous is not None and links_of.get(previous.position))
            shown = (touched and (first_day is None or not ref.day or ref.day >= first_day)
                     and (after is None or key > after))
            summary = tally.summary() if shown else None
            tally.move(NO_SHARE if before is None else share_of(before, ref.ident),
                       share_of(now, ref.ident))
            in_force[ref.ident] = ref
            if summary is not None:
                standing = (None if before is None else before.standing_of(ref.ident),
                            now.standing_of(ref.ident))
                steps.append((key, {  # type: ignore[arg-type]
                    "date": ref.day or None,
                    "event": "reported",
                    "version": ref.version,
                    "standing": {"from": label_of(standing[0]), "to": label_of(standing[1])},
                    "development": fact.reference(),
                    **change_of(tally, summary),  # type: ignore[arg-type]
                }))
    return steps


class PairStates:
    """The state of a pair from the versions in force of the developments linking it, each
    folded once: a pair's state after one report is its state before its next, and each
    fact's moments are worked out once."""

    def __init__(self, by_version: Mapping[tuple[str, int], list[Linked]],
                 in_force: Mapping[str, int], members: Mapping[tuple[str, str], set[str]]
                 ) -> None:
        self.by_version, self.in_force, self.members = by_version, in_force, members
        self.per_fact: dict[int, list[FactMoment]] = {}
        self.folded: dict[tuple[Any, ...], Relationship] = {}

    def of(self, pair: tuple[str, str]) -> Relationship:
        versions = tuple(sorted((ident, self.in_force[ident])
                                for ident in self.members.get(pair, ())))
        found = self.folded.get((pair, versions))
        if found is None:
            linked = [link for version in versions for link in self.by_version[version]
                      if link.pair == pair]
            found = fold(linked, None, self.per_fact).get(pair, Relationship(pair))
            self.folded[(pair, versions)] = found
        return found
