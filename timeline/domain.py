"""The domain model: actors and developments as event-sourced aggregates, and their value objects.

Nothing here is edited in place. A development is recorded once; every later change (a
correction, a status change, a retraction) is a new event on its stream, so the log holds every
version that was ever known.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field, fields, replace
from datetime import date
from functools import cached_property, lru_cache
from typing import Any, NamedTuple
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from timeline.vocabulary import (
    STATUS_TRANSITIONS,
    ActorKind,
    Certainty,
    Dataset,
    Kind,
    Role,
    Status,
)

# Seeded and registered ids are uuid5 under this namespace, so they are the same on every machine.
TIMELINE_NAMESPACE = uuid5(NAMESPACE_URL, "https://timeline.invalid/ids")

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A BCP 47 language tag as sources give it: a language, then optional script, region or
# variant subtags (`en`, `zh-Hans`, `pt-BR`); `und` when the language cannot be told.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
# An ISO 8601 week date, YYYY-Www: the week-numbering year, then the week (Monday to Sunday).
WEEK_DATE = re.compile(r"^(\d{4})-W(\d{2})$")
DATE_FORMS = "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-Www"
# What a PartialDate's `precision` may say, from the coarsest.
PRECISIONS = ("year", "month", "week", "day")


class TimelineError(Exception):
    """A rule of the domain was broken; `field` names the input at fault, where there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(TimelineError):
    """A value is malformed or impossible (a 30 February, an empty summary)."""


class UnknownActor(TimelineError):
    """A development names an actor that was never registered."""


class NotFound(TimelineError):
    """No actor or development has that id."""


class Conflict(TimelineError):
    """The request is well-formed but the development's current state forbids it."""


class AlreadyExists(Conflict):
    """An actor or development with that id is already recorded."""


class Retracted(Conflict):
    """A retracted development cannot be corrected, changed or retracted again."""


class InvalidTransition(Conflict):
    """A status change that makes no sense, such as occurred -> planned."""


# --- value objects -------------------------------------------------------------------------


@dataclass(frozen=True, order=False)
class PartialDate:
    """A world date known to a day, an ISO week, a month or only a year.

    A week date (`2024-W19`) keeps its ISO week-numbering year in `year` and its week in
    `week`, and has no month or day: its week may straddle two months or two calendar years
    (2025-W01 runs from 30 December 2024). `week` comes last so that the other dates are built,
    compared and stored exactly as before it existed.

    `approximate` marks dates the source gives loosely ("about", "early May"); `derivation`
    says how the date was worked out when the source gives it relatively ("two years ago").
    """

    year: int
    month: int | None = None
    day: int | None = None
    approximate: bool = False
    derivation: str | None = None
    week: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9999:
            raise InvalidInput(f"year {self.year} is out of range", "date")
        if self.week is not None:
            if self.month is not None or self.day is not None:
                raise InvalidInput("a week date has no month or day", "date")
            weeks = weeks_in(self.year)
            if not 1 <= self.week <= weeks:
                raise InvalidInput(
                    f"{self.year:04d} has no week {self.week:02d}: its ISO weeks are W01 to"
                    f" W{weeks}", "date")
            if (self.year, self.week) == (9999, weeks):  # its Sunday is in the year 10000
                raise InvalidInput(f"9999-W{weeks} runs past the year 9999", "date")
            return
        if self.month is None and self.day is not None:
            raise InvalidInput("a day needs a month", "date")
        if self.month is not None and not 1 <= self.month <= 12:
            raise InvalidInput(f"month {self.month} does not exist", "date")
        if self.day is not None:
            last = calendar.monthrange(self.year, self.month)[1]  # type: ignore[arg-type]
            if not 1 <= self.day <= last:
                raise InvalidInput(
                    f"{self.year:04d}-{self.month:02d} has no day {self.day}", "date"
                )

    @classmethod
    def parse(
        cls, text: str, *, approximate: bool = False, derivation: str | None = None
    ) -> PartialDate:
        """Parse `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or `YYYY-Www`; anything else is an
        InvalidInput."""
        text = text.strip() if isinstance(text, str) else text
        match = PARTIAL_DATE.match(text) if isinstance(text, str) else None
        if match:
            year, month, day = (int(part) if part else None for part in match.groups())
            return cls(year, month, day, approximate, derivation)  # type: ignore[arg-type]
        week = WEEK_DATE.match(text) if isinstance(text, str) else None
        if week:
            return cls(int(week[1]), approximate=approximate, derivation=derivation,
                       week=int(week[2]))
        raise InvalidInput(f"{text!r} is not a date: use {DATE_FORMS}", "date")

    @classmethod
    def week_of(
        cls, day: date, *, approximate: bool = False, derivation: str | None = None
    ) -> PartialDate:
        """The ISO week containing `day` (whose year may be the next or the previous one)."""
        iso = day.isocalendar()
        return cls(iso.year, approximate=approximate, derivation=derivation, week=iso.week)

    @property
    def precision(self) -> str:
        if self.week:
            return "week"
        return "day" if self.day else "month" if self.month else "year"

    # Computed once per date: the relationship rules compare them many times per query.
    @cached_property
    def earliest(self) -> date:
        """The first day the date can mean (a week's Monday)."""
        if self.week:
            return date.fromisocalendar(self.year, self.week, 1)
        return date(self.year, self.month or 1, self.day or 1)

    @cached_property
    def latest(self) -> date:
        """The last day the date can mean (a week's Sunday): by then the development has
        certainly happened."""
        if self.week:
            return date.fromisocalendar(self.year, self.week, 7)
        month = self.month or 12
        return date(self.year, month, self.day or calendar.monthrange(self.year, month)[1])

    def __str__(self) -> str:
        return self.text

    @cached_property
    def text(self) -> str:
        """The date as ISO 8601 writes it (`2024`, `2024-04`, `2024-04-07`, `2024-W19`): made
        once, as each answer of a relationship query writes the dates of its developments."""
        text = f"{self.year:04d}"
        if self.week:
            return f"{text}-W{self.week:02d}"
        if self.month:
            text += f"-{self.month:02d}"
        if self.day:
            text += f"-{self.day:02d}"
        return text


def weeks_in(year: int) -> int:
    """How many ISO weeks a week-numbering year has, 52 or 53: 28 December is always in its
    last week."""
    return date(year, 12, 28).isocalendar().week


def stored_date(
    value: str, approximate: bool = False, derivation: str | None = None
) -> PartialDate:
    """A date read back from the store, which was checked when it was recorded: the same few
    thousand dates recur through the whole log, and a PartialDate is immutable, so each is
    parsed once (one cache entry however the caller passes the arguments)."""
    return _parsed_date(value, approximate, derivation)


@lru_cache(maxsize=65536)
def _parsed_date(value: str, approximate: bool, derivation: str | None) -> PartialDate:
    return PartialDate.parse(value, approximate=approximate, derivation=derivation)


@dataclass(frozen=True)
class Source:
    """Where a development was reported, by whom, and the passage it rests on.

    `language` is the BCP 47 tag of the passage's language (`en`, `zh`, `ru`); None when it
    was not recorded, as in every source recorded before sources had it (see
    upcast_sources_v1_v2).
    """

    publication: str
    attribution: str
    reported_on: PartialDate
    passage: str
    url: str | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        for name in ("publication", "attribution", "passage"):
            if not getattr(self, name).strip():
                raise InvalidInput(f"a source needs a {name}", f"sources.{name}")
        if self.language is not None and not LANGUAGE_TAG.match(self.language):
            raise InvalidInput(
                f"{self.language!r} is not a language tag: use BCP 47, such as en, zh or pt-BR",
                "sources.language",
            )


def upcast_sources_v1_v2(state: dict[str, Any]) -> None:
    """The upcast of every development event that carries sources, from version 1 (sources
    had no `language`) to version 2: each source of the event, wherever the event holds it,
    gets language None, "not recorded" (said here, not left to the field's default, so that
    old sources keep that meaning whatever default later ones get). The stored bytes are
    never changed (the hash chain covers them); the event is read in the new shape."""

    def upcast(source: Source | None) -> Source | None:
        return None if source is None else replace(source, language=None)

    if "source" in state:
        state["source"] = upcast(state["source"])
    content = state.get("content")
    if isinstance(content, Content):
        state["content"] = replace(content, sources=tuple(map(upcast, content.sources)))
    changes = state.get("changes")
    if isinstance(changes, dict) and "sources" in changes:
        state["changes"] = {**changes, "sources": tuple(map(upcast, changes["sources"]))}


def happened_by(when: PartialDate, reported: date | None) -> date:
    """The first day by which something dated `when` had certainly happened: the last day of
    its period, or, once its period had begun, the day a source reported it (a source of 7 April
    on a development of April 2024 proves it had happened by 7 April)."""
    if reported is None:
        return when.latest
    return min(when.latest, max(when.earliest, reported))


def reported_day(sources: tuple[Source, ...] | list[Source]) -> date:
    """The day by which the earliest of these sources had certainly been published."""
    return min(source.reported_on.latest for source in sources)


@dataclass(frozen=True)
class Provenance:
    """The dataset record an ingested development came from: the dataset, its own id for the
    record, the file (a name, or `archive.zip!member`) and line it was read from, and the
    dataset's own coding of it that has no place in the content (GDELT's GoldsteinScale,
    ACLED's fatalities), as the file states it."""

    dataset: Dataset
    record_id: str
    file: str
    line: int
    coding: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dataset in (Dataset.SEED, Dataset.MANUAL):
            raise InvalidInput(f"{self.dataset.value} data is not ingested", "provenance")
        if not self.record_id.strip():
            raise InvalidInput("provenance needs the dataset's record id", "provenance")


def dataset_of(provenance: Provenance | None, key: str | None) -> Dataset:
    """The dataset of a development: its provenance's; without one, the seed data when it has
    a key (seed entries have one) and recorded by hand when not. A development ingested before
    provenance was kept has the key `gdelt:ID` or `acled:ID`, which names its dataset."""
    if provenance is not None:
        return provenance.dataset
    if key is None:
        return Dataset.MANUAL
    prefix = key.partition(":")[0]
    return INGESTED.get(prefix, Dataset.SEED) if ":" in key else Dataset.SEED


INGESTED = {dataset.value: dataset for dataset in (Dataset.GDELT, Dataset.ACLED)}


class StatusSpan(NamedTuple):
    """A status a development had from a world day on (None: from its first version), with
    the development's date while it had it (a trip's announcement while planned, the trip
    once it occurred)."""

    status: Status
    since: date | None
    date: PartialDate


@dataclass(frozen=True)
class Participation:
    """One actor's role in a development."""

    actor: str
    role: Role


def actor_stream_id(actor_id: str) -> UUID:
    """The aggregate id (of the event stream) of the actor with this actor id."""
    return uuid5(TIMELINE_NAMESPACE, f"actor:{actor_id}")


def development_id(key: str) -> UUID:
    """The deterministic aggregate id of a development with this stable key (seeds use it)."""
    return uuid5(TIMELINE_NAMESPACE, f"development:{key}")


def as_uuid(ident: UUID | str) -> UUID:
    """A development or stream id given as a UUID or its text; anything else names none."""
    if isinstance(ident, UUID):
        return ident
    try:
        return UUID(ident)
    except (TypeError, ValueError):
        raise NotFound(f"{ident!r} is not a development id", "id") from None


# --- actors --------------------------------------------------------------------------------


class Actor(Aggregate):
    """A state, person, organisation, region or bloc.

    Its `actor_id` is a slug that never changes (`china`, `vladimir-putin`): the `id` of the
    wire, the seed files and the routes. Its `id`, as of every aggregate, is the UUID of its
    event stream, derived from the actor id (actor_stream_id).
    """

    class Registered(Aggregate.Created):
        """The actor's first event. Version 1 (before the actor id had one name in code and
        on the wire) stored the actor id as `slug`."""

        actor_id: str
        name: str
        kind: ActorKind
        aliases: tuple[str, ...]
        belongs_to: tuple[str, ...]
        recorded_by: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["actor_id"] = state.pop("slug")

    @staticmethod
    def create_id(actor_id: str, **_: Any) -> UUID:  # type: ignore[override]
        return actor_stream_id(actor_id)

    @event(Registered)
    def __init__(
        self,
        actor_id: str,
        name: str,
        kind: ActorKind,
        aliases: tuple[str, ...] = (),
        belongs_to: tuple[str, ...] = (),
        recorded_by: str = "timeline",
    ) -> None:
        self.actor_id = actor_id
        self.name = name
        self.kind = kind
        self.aliases = tuple(aliases)
        self.belongs_to = tuple(belongs_to)

    @event("Corrected")
    def correct(self, changes: dict[str, Any], reason: str, recorded_by: str) -> None:
        for name, value in changes.items():
            setattr(self, name, tuple(value) if isinstance(value, list) else value)


ACTOR_FIELDS = ("name", "kind", "aliases", "belongs_to")


def check_actor(
    actor_id: str, name: str, kind: ActorKind, belongs_to: tuple[str, ...]
) -> None:
    """Invariants of an actor that need no store."""
    if not SLUG.match(actor_id or ""):
        raise InvalidInput(
            f"{actor_id!r} is not an actor id: lower-case letters, digits and single hyphens",
            "id",
        )
    if not name.strip():
        raise InvalidInput("an actor needs a name", "name")
    if actor_id in belongs_to:
        raise InvalidInput("an actor cannot belong to itself", "belongs_to")
    if kind is ActorKind.STATE and belongs_to:
        raise InvalidInput("a state belongs to no other actor", "belongs_to")


# --- developments --------------------------------------------------------------------------


@dataclass(frozen=True)
class Content:
    """What a development says: every field a correction can change.

    Status is not here: it moves through its own lifecycle events.
    """

    kind: Kind
    summary: str
    actors: tuple[Participation, ...]
    date: PartialDate
    certainty: Certainty
    sources: tuple[Source, ...]
    planned_for: PartialDate | None = None
    place: str | None = None
    items: tuple[str, ...] = ()
    quote: str | None = None

    def __post_init__(self) -> None:
        # Events decode JSON arrays as lists; the domain keeps tuples so content is hashable.
        for name in ("actors", "sources", "items"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.summary.strip():
            raise InvalidInput("a development needs a summary", "summary")
        if not self.actors:
            raise InvalidInput("a development needs at least one actor", "actors")
        seen = set()
        for participation in self.actors:
            if (participation.actor, participation.role) in seen:
                raise InvalidInput(
                    f"actor {participation.actor!r} is listed twice as "
                    f"{participation.role.value}",
                    "actors",
                )
            seen.add((participation.actor, participation.role))
        if not self.sources:
            raise InvalidInput("a development needs at least one source", "sources")
        if any(not item.strip() for item in self.items):
            raise InvalidInput("an item cannot be empty", "items")

    def actor_ids(self, role: Role | None = None) -> tuple[str, ...]:
        return tuple(
            p.actor for p in self.actors if role is None or p.role is role
        )

    def changed(self, changes: dict[str, Any]) -> Content:
        return replace(self, **changes)


CONTENT_FIELDS = tuple(f.name for f in fields(Content))


def check_status(status: Status, planned_for: PartialDate | None) -> None:
    if status is Status.PLANNED and planned_for is None:
        raise InvalidInput("a planned development needs planned_for", "planned_for")


class Development(Aggregate):
    """One reported development: an invasion, a visit, a shipment, a declaration.

    Every event that carries sources is at version 2: version 1 sources had no `language`
    (see upcast_sources_v1_v2).
    """

    id: UUID  # given by the caller: uuid5 of a seed key, or a fresh uuid4

    class Recorded(Aggregate.Created):
        """The development's first event, with its content."""

        content: Content
        status: Status
        key: str | None
        recorded_by: str
        provenance: Provenance | None = None  # absent from events stored before it: None

        class_version = 2
        upcast_v1_v2 = staticmethod(upcast_sources_v1_v2)

    class Corrected(Aggregate.Event):
        """Some fields of the content changed, on a source."""

        changes: dict[str, Any]
        reason: str
        source: Source
        recorded_by: str
        provenance: Provenance | None = None  # absent from events stored before it: None

        class_version = 2
        upcast_v1_v2 = staticmethod(upcast_sources_v1_v2)

    class Retracted(Aggregate.Event):
        """The development withdrawn: it stays in the log but no longer counts."""

        reason: str
        source: Source | None
        recorded_by: str

        class_version = 2
        upcast_v1_v2 = staticmethod(upcast_sources_v1_v2)

    @event(Recorded)
    def __init__(
        self,
        content: Content,
        status: Status,
        key: str | None,
        recorded_by: str,
        provenance: Provenance | None = None,
    ) -> None:
        check_status(status, content.planned_for)
        self.content = content
        self.status = status
        self.key = key
        self.provenance = provenance  # None for seed data and developments recorded by hand
        self.ended: PartialDate | None = None  # when an ongoing development stopped
        # The status in force on each world day (see StatusSpan), for "status as of a date".
        self.statuses = [StatusSpan(status, None, content.date)]
        # The day this version was reported: for the first, by the earliest of its sources; for
        # a later one, by its own source (None: it had none, so the day it was recorded counts).
        self.reported_on: date | None = reported_day(content.sources)
        self.retracted = False
        self.retraction_reason: str | None = None

    def _check_open(self) -> None:
        if self.retracted:
            raise Retracted("the development is retracted and cannot change")

    @property
    def dataset(self) -> Dataset:
        return dataset_of(self.provenance, self.key)

    def correct(
        self, changes: dict[str, Any], reason: str, source: Source, recorded_by: str,
        provenance: Provenance | None = None,
    ) -> None:
        """Record a correction of some fields; only fields whose value changes are kept.
        `provenance`: the dataset record that revised it, when a dataset did."""
        self._check_open()
        unknown = set(changes) - set(CONTENT_FIELDS)
        if unknown:
            raise InvalidInput(f"cannot correct {', '.join(sorted(unknown))}", "changes")
        effective = {
            name: value
            for name, value in changes.items()
            if value != getattr(self.content, name)
        }
        if not effective:
            raise InvalidInput("the correction changes nothing", "changes")
        if not reason.strip():
            raise InvalidInput("a correction needs a reason", "reason")
        corrected = self.content.changed(effective)  # validates the result as a whole
        check_status(self.status, corrected.planned_for)
        if provenance is not None and provenance.dataset is not self.dataset:
            raise InvalidInput(f"a development of {self.dataset.value} cannot be revised by"
                               f" {provenance.dataset.value}", "provenance")
        self._corrected(changes=effective, reason=reason, source=source,
                        recorded_by=recorded_by, provenance=provenance)

    @event(Corrected)
    def _corrected(
        self, changes: dict[str, Any], reason: str, source: Source, recorded_by: str,
        provenance: Provenance | None = None,
    ) -> None:
        if provenance is not None:
            self.provenance = provenance
        content = self.content.changed(changes)
        if source not in content.sources:
            content = content.changed({"sources": (*content.sources, source)})
        self.content = content
        self.statuses[-1] = self.statuses[-1]._replace(date=content.date)
        self.reported_on = source.reported_on.latest

    def change_status(
        self,
        status: Status,
        reason: str,
        source: Source | None,
        recorded_by: str,
        date: PartialDate | None = None,
    ) -> None:
        """Move along the lifecycle.

        `date` says when a planned development happened (default: its planned date), or when
        an ongoing one ended (required: a tie it sustained ends then).
        """
        self._check_open()
        if status not in STATUS_TRANSITIONS[self.status]:
            raise InvalidTransition(
                f"a development that is {self.status.value} cannot become {status.value}",
                "status",
            )
        if not reason.strip():
            raise InvalidInput("a status change needs a reason", "reason")
        if self.status is Status.ONGOING and date is None:
            raise InvalidInput("say when the ongoing development ended", "date")
        self.trigger_event(
            self.StatusChanged,
            status=status, reason=reason, source=source, date=date, recorded_by=recorded_by,
        )

    class StatusChanged(Aggregate.Event):
        """A move along the lifecycle. Declared (not made by @event) because applying it needs
        the event's own timestamp: a change with no source counts from the day it was recorded."""

        status: Status
        reason: str
        source: Source | None
        date: PartialDate | None
        recorded_by: str

        class_version = 2
        upcast_v1_v2 = staticmethod(upcast_sources_v1_v2)

        def apply(self, aggregate: Any) -> None:
            aggregate._status_changed(self.status, self.source, self.date,
                                      self.timestamp.date())

    def _status_changed(
        self, status: Status, source: Source | None, date: PartialDate | None, recorded_on: Any
    ) -> None:
        changes: dict[str, Any] = {}
        when = date  # when the change happened, if known
        if self.status is Status.ONGOING:
            self.ended = date  # it keeps the date it began
        elif date is not None:
            changes["date"] = date
        elif self.status is Status.PLANNED and status is not Status.CANCELLED:
            # It happened when it was planned to, unless told otherwise.
            changes["date"] = when = self.content.planned_for
        if source is not None and source not in self.content.sources:
            changes["sources"] = (*self.content.sources, source)
        self.content = self.content.changed(changes)
        self.status = status
        self.reported_on = None if source is None else source.reported_on.latest
        # In force from the day the change had certainly happened: its date's, bounded by
        # when it was reported (or recorded, without a source); with no date, from then.
        reported = self.reported_on or recorded_on
        since = reported if when is None else happened_by(when, reported)
        self.statuses.append(StatusSpan(status, since, self.content.date))

    def retract(self, reason: str, recorded_by: str, source: Source | None = None) -> None:
        """Withdraw the development: it stays in the log but no longer counts."""
        self._check_open()
        if not reason.strip():
            raise InvalidInput("a retraction needs a reason", "reason")
        self._retracted(reason=reason, source=source, recorded_by=recorded_by)

    @event(Retracted)
    def _retracted(self, reason: str, source: Source | None, recorded_by: str) -> None:
        self.retracted = True
        self.retraction_reason = reason
        self.reported_on = None if source is None else source.reported_on.latest



def actors_named(event: Any) -> tuple[str, ...]:
    """The actors an event of a development names, each of which must be registered."""
    if isinstance(event, Development.Recorded):
        return event.content.actor_ids()
    if isinstance(event, Development.Corrected):
        return tuple(p.actor for p in event.changes.get("actors", ()))
    return ()
