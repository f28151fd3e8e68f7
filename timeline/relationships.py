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
* **Counting.** As of a date D, a development counts when it occurred or is ongoing and the
  last day of its date's period is on or before D (a development dated 2024-05 counts from
  31 May 2024). An ongoing development that ended stops sustaining its ties once the last day
  of its end date has passed. Retracted and cancelled developments do not count. A planned
  development creates no tie: it is listed under `expected` from its announcement on.
* **Ties.** A development whose kind opens a tie (see vocabulary) opens or joins the tie of
  that kind between its two actors, directed from source to target except for mutual ties
  (partnership, diplomatic channel). A tie is `since` its earliest development and `until` the
  latest end once every development behind it has ended; its items are theirs combined and its
  certainty the strongest of theirs.
* **Stance**, from the ties in force: any war tie → war; else sanctions → hostility; else a
  partnership together with military supply → alliance; else a partnership → partnership; else
  any supply, arms deal, evasion route or diplomatic channel → cooperation; else by score:
  ≥ 2 cooperation, ≤ -2 tension, otherwise neutral.
* **Score**: the mean of the kinds' weights over the counted developments whose kind has a
  non-zero weight, each weighted by its certainty (confirmed 1, reported 0.75, alleged 0.5,
  assessment 0.25); 0 when there are none. It stays within -10…+10 by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from typing import Any, NamedTuple

from timeline.domain import PartialDate, stored_date
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


def pair_of(a: str, b: str) -> tuple[str, str]:
    """The unordered pair, as the store keys it: the two ids in alphabetical order."""
    return (a, b) if a <= b else (b, a)


class StoredDate(NamedTuple):
    """A partial date as a stored fact keeps it."""

    text: str
    approximate: bool


class FactRow(NamedTuple):
    """A fact as the read model keeps it on each link: what the rules and a reference need,
    and nothing else, so that a query decodes little. It is stored as a JSON array (a tuple
    dumps as one), its fields in this order."""

    id: str
    kind: str
    status: str
    certainty: str
    date: StoredDate
    ended: StoredDate | None
    planned_for: StoredDate | None
    sources: Sequence[str]
    targets: Sequence[str]
    participants: Sequence[str]
    items: Sequence[str]
    summary: str
    reported_by: Sequence[Sequence[str]]


def stored(when: PartialDate) -> StoredDate:
    return StoredDate(str(when), when.approximate)


def read_back(when: Sequence[Any] | None) -> PartialDate | None:
    """A stored date (a StoredDate, or the array it was stored as) as a PartialDate."""
    return None if when is None else stored_date(*when)


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

    @classmethod
    def of(cls, development: Any) -> Fact:
        """From a version of a development aggregate (what the read model writes)."""
        content = development.content
        return cls(
            id=str(development.id),
            kind=content.kind,
            status=development.status,
            certainty=content.certainty,
            date=content.date,
            ended=development.ended,
            planned_for=content.planned_for,
            sources=content.actor_ids(Role.SOURCE),
            targets=content.actor_ids(Role.TARGET),
            participants=content.actor_ids(Role.PARTICIPANT),
            items=tuple(content.items),
            summary=content.summary,
            reported_by=tuple((s.publication, s.attribution) for s in content.sources),
        )

    def row(self) -> FactRow:
        """The fact as the read model keeps it on each link (see FactRow)."""
        return FactRow(
            id=self.id,
            kind=self.kind.value,
            status=self.status.value,
            certainty=self.certainty.value,
            date=stored(self.date),
            ended=None if self.ended is None else stored(self.ended),
            planned_for=None if self.planned_for is None else stored(self.planned_for),
            sources=self.sources,
            targets=self.targets,
            participants=self.participants,
            items=self.items,
            summary=self.summary,
            reported_by=self.reported_by,
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Fact:
        """A fact from its row (see row), or from the JSON array it was stored as."""
        stored_row = FactRow._make(row)
        return cls(
            id=stored_row.id,
            kind=KIND_OF[stored_row.kind],
            status=STATUS_OF[stored_row.status],
            certainty=CERTAINTY_OF[stored_row.certainty],
            date=stored_date(*stored_row.date),
            ended=read_back(stored_row.ended),
            planned_for=read_back(stored_row.planned_for),
            sources=tuple(stored_row.sources),
            targets=tuple(stored_row.targets),
            participants=tuple(stored_row.participants),
            items=tuple(stored_row.items),
            summary=stored_row.summary,
            reported_by=tuple(map(tuple, stored_row.reported_by)),
        )

    def counts(self, as_of: date | None) -> bool:
        return self.status in COUNTING and (as_of is None or self.date.latest <= as_of)

    def has_ended(self, as_of: date | None) -> bool:
        return self.ended is not None and (as_of is None or self.ended.latest <= as_of)

    def is_expected(self, as_of: date | None) -> bool:
        return self.status is Status.PLANNED and (as_of is None or self.date.latest <= as_of)

    def reference(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "date": str(self.date),
            "summary": self.summary,
            "sources": [
                {"publication": publication, "attribution": attribution}
                for publication, attribution in self.reported_by
            ],
        }


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
    developments: list[str] = field(default_factory=list)
    ended: dict[str, PartialDate] = field(default_factory=dict)  # development id -> its end

    @property
    def until(self) -> PartialDate | None:
        """The latest end, once every development behind the tie has ended."""
        if len(self.ended) < len(self.developments):
            return None
        return max(self.ended.values(), key=lambda d: d.latest)

    def as_dict(self) -> dict[str, Any]:
        until = self.until
        return {
            "kind": self.kind.value,
            "from": self.source,
            "to": self.target,
            "mutual": self.mutual,
            "since": str(self.since),
            "until": None if until is None else str(until),
            "active": until is None,
            "items": list(self.items),
            "certainty": self.certainty.value,
            "developments": list(self.developments),
        }


class Relationship:
    """The state of one pair, built one development at a time."""

    def __init__(self, pair: tuple[str, str]) -> None:
        self.pair = pair
        self.ties: dict[tuple[TieKind, str, str], Tie] = {}
        self.weights: list[tuple[float, float]] = []  # (weight, certainty factor)
        self.developments: list[Fact] = []
        self.counted: set[str] = set()  # the ids in `developments`, for constant-time checks
        self.expected: list[Fact] = []

    # --- folding ---------------------------------------------------------------------------

    def count(self, fact: Fact, source: str, target: str) -> None:
        """The development counts from now on (as of the last day of its date)."""
        spec = KINDS[fact.kind]
        if fact.id not in self.counted:
            # A development linking the pair twice (both ways) still counts once.
            self.counted.add(fact.id)
            self.developments.append(fact)
            if spec.weight:
                self.weights.append((spec.weight, CERTAINTY_FACTORS[fact.certainty]))
        if spec.tie is None:
            return
        mutual = spec.tie in MUTUAL_TIES
        if mutual:
            source, target = self.pair
        key = (spec.tie, source, target)
        tie = self.ties.get(key)
        if tie is None:
            tie = self.ties[key] = Tie(spec.tie, source, target, mutual, fact.date)
        elif fact.date.earliest < tie.since.earliest:
            tie.since = fact.date
        tie.developments.append(fact.id)
        tie.items.extend(item for item in fact.items if item not in tie.items)
        tie.certainty = min(tie.certainty, fact.certainty, key=CERTAINTY_RANK.index)

    def end(self, fact: Fact, source: str, target: str) -> None:
        """An ongoing development has ended: it no longer sustains its tie."""
        spec = KINDS[fact.kind]
        if spec.tie is None or fact.ended is None:
            return
        if spec.tie in MUTUAL_TIES:
            source, target = self.pair
        tie = self.ties.get((spec.tie, source, target))
        if tie is not None:
            tie.ended[fact.id] = fact.ended

    def expect(self, fact: Fact) -> None:
        self.expected.append(fact)

    # --- reading ---------------------------------------------------------------------------

    @property
    def score(self) -> float:
        total = sum(factor for _, factor in self.weights)
        if not total:
            return 0.0
        return round(sum(weight * factor for weight, factor in self.weights) / total, 2)

    def active_ties(self) -> set[TieKind]:
        return {tie.kind for tie in self.ties.values() if tie.until is None}

    @property
    def stance(self) -> Stance:
        active = self.active_ties()
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
        if self.score >= 2:
            return Stance.COOPERATION
        if self.score <= -2:
            return Stance.TENSION
        return Stance.NEUTRAL

    def summary(self) -> dict[str, Any]:
        """What a replay step compares: stance, score and the ties in force."""
        return {
            "stance": self.stance.value,
            "score": self.score,
            "ties": {
                (tie.kind.value, tie.source, tie.target)
                for tie in self.ties.values()
                if tie.until is None
            },
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "pair": list(self.pair),
            "stance": self.stance.value,
            "score": self.score,
            "ties": [tie.as_dict() for tie in self.ties.values()],
            "developments": [fact.reference() for fact in self.developments],
            "expected": [
                {**fact.reference(), "planned_for": str(fact.planned_for)}
                for fact in self.expected
            ],
        }


@dataclass(frozen=True)
class Linked:
    """A development with one of the directed links it makes."""

    fact: Fact
    source: str
    target: str

    @property
    def pair(self) -> tuple[str, str]:
        return pair_of(self.source, self.target)


class Step(IntEnum):
    """What a moment does to its pair; on the same day, in this order."""

    COUNTS = 0  # the development counts from now on (Relationship.count)
    ENDS = 1  # an ongoing development has ended (Relationship.end)
    EXPECTED = 2  # a planned development is listed as expected (Relationship.expect)

    @property
    def event(self) -> str:
        """The step as a replay names it."""
        return self.name.lower()


class Moment(NamedTuple):
    """A day on which a development, through one of its links, changes its pair."""

    day: date
    step: Step
    link: Linked


def timeline_of(linked: Iterable[Linked], as_of: date | None) -> list[Moment]:
    """The moments at which developments start or stop counting, in the order they happen.

    Ties are broken by the step, then the development's earliest day and id, so the order is
    total and the same on every run.
    """
    moments = []
    for link in linked:
        fact = link.fact
        if fact.counts(as_of):
            moments.append(Moment(fact.date.latest, Step.COUNTS, link))
            if fact.has_ended(as_of):
                moments.append(Moment(fact.ended.latest, Step.ENDS, link))  # type: ignore[union-attr]
        elif fact.is_expected(as_of):
            moments.append(Moment(fact.date.latest, Step.EXPECTED, link))
    moments.sort(key=lambda m: (m.day, m.step, m.link.fact.date.earliest, m.link.fact.id,
                                m.link.pair))
    return moments


def apply(relationship: Relationship, step: Step, link: Linked) -> None:
    if step is Step.COUNTS:
        relationship.count(link.fact, link.source, link.target)
    elif step is Step.ENDS:
        relationship.end(link.fact, link.source, link.target)
    else:
        relationship.expect(link.fact)


def fold(linked: Iterable[Linked], as_of: date | None = None) -> dict[tuple[str, str], Relationship]:
    """The state of every pair the developments touch, as of a world date (None: all)."""
    relationships: dict[tuple[str, str], Relationship] = {}
    for moment in timeline_of(linked, as_of):
        pair = moment.link.pair
        relationship = relationships.setdefault(pair, Relationship(pair))
        apply(relationship, moment.step, moment.link)
    return relationships


def replay(
    linked: Iterable[Linked], until: date | None = None, start: date | None = None
) -> list[dict[str, Any]]:
    """The steps that built the state up to `until`: which development changed which pair, and
    what changed. Steps before `start` are applied silently, so the first step shown starts
    from the state as of the day before `start`."""
    relationships: dict[tuple[str, str], Relationship] = {}
    steps = []
    for day, step, link in timeline_of(linked, until):
        relationship = relationships.setdefault(link.pair, Relationship(link.pair))
        before = relationship.summary()
        apply(relationship, step, link)
        if start is not None and day < start:
            continue
        after = relationship.summary()
        change: dict[str, Any] = {
            "date": day.isoformat(),
            "pair": list(link.pair),
            "event": step.event,
            "development": link.fact.reference(),
            "ties_opened": [list(t) for t in sorted(after["ties"] - before["ties"])],
            "ties_closed": [list(t) for t in sorted(before["ties"] - after["ties"])],
            "stance": {"from": before["stance"], "to": after["stance"]},
            "score": {"from": before["score"], "to": after["score"]},
        }
        steps.append(change)
    return steps
