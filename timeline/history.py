"""The event types of the log, each registered once: its name, what a history shows of it, and
how a seed file states it.

A development's history is the list of its versions, one per event. Everything that handles an
event by its type reads it from here: the history served by the application and its schema,
the seed files' later events and the counts of a seed report. (The read model needs no entry:
it projects the aggregate as each event leaves it, whatever the event.) Adding an event type is
one registration here, plus the schema that states it in a seed file or request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from marshmallow import Schema, fields, validate

from timeline.axes import Axes
from timeline.domain import Actor, Development, NotFound
from timeline.relationships import Fact
from timeline.schemas import (
    AxesOut,
    CorrectionSchema,
    DevelopmentAsOfOut,
    PartialDateOut,
    RetractionSchema,
    SourceOut,
    StatusChangeSchema,
    dump_content,
    dump_date,
    dump_development,
    dump_source,
)
from timeline.vocabulary import Status


@dataclass(frozen=True)
class EventType:
    """One type of event, as everything but the aggregate that emits it sees it."""

    event_class: type
    name: str  # as people read it in a history: "status_changed"
    details: Callable[[Any], dict[str, Any]]  # what a history shows of it beyond who and when
    # A later event of a development, as a seed file states it: its schema, the aggregate's
    # command that makes it from the loaded values, and what a seed report counts it as.
    schema: type[Schema] | None = None
    make: Callable[[Development, dict[str, Any], str], None] | None = None
    counter: str | None = None


EVENT_TYPES: dict[type, EventType] = {}


def register(event_type: EventType) -> EventType:
    EVENT_TYPES[event_type.event_class] = event_type
    return event_type


def later_event_types() -> dict[str, EventType]:
    """The types a seed entry may list in its history, by name, in registration order."""
    return {t.name: t for t in EVENT_TYPES.values() if t.schema is not None}


def history_entry(event: Any, reported_from: date | None = None) -> dict[str, Any]:
    """One version of a development: what changed, when it was recorded, by whom and why, and
    from when it counts in knowledge time (see timeline.axes): by its source, or, recorded
    without one, by the day it was recorded here."""
    event_type = EVENT_TYPES[type(event)]
    entry = {
        "version": event.originator_version,
        "type": event_type.name,
        "recorded_at": event.timestamp.isoformat(),
        "recorded_by": event.recorded_by,
        **event_type.details(event),
    }
    if reported_from is not None:
        entry["reported_from"] = reported_from.isoformat()
        entry["reported_basis"] = "source" if _has_source(event) else "recorded"
    return entry


def _has_source(event: Any) -> bool:
    return getattr(event, "source", None) is not None or hasattr(event, "content")


def development_on(events: Sequence[Any], axes: Axes) -> dict[str, Any]:
    """A development (from its events, in order) in the version in force on the axes, with the
    history of the versions reported and recorded by then; as of a date, with the status in
    force then and where it stood. NotFound when no version was."""
    development: Any = None
    chosen: dict[str, Any] | None = None
    history = []
    for event in events:
        development = event.mutate(development)
        reported_from = development.reported_on or event.timestamp.date()
        if ((axes.known_at is not None and event.timestamp > axes.known_at)
                or (axes.reported_by is not None and reported_from > axes.reported_by)):
            continue
        history.append(history_entry(event, reported_from))
        chosen = dump_development(development, event.timestamp)
        if axes.as_of is not None:
            chosen |= Fact.of(development, reported_from).on(axes.as_of)
    if chosen is None:
        raise NotFound(f"development {development.id} was not recorded by "
                       f"{axes.known_at or 'now'} and reported by {axes.reported_by or 'now'}")
    return {**chosen, "history": history, "axes": axes.echo()}


def _status(event: Any) -> dict[str, Any]:
    entry = {"status": event.status.value, "reason": event.reason,
             "source": dump_source(event.source)}
    if event.date is not None:
        entry["date"] = dump_date(event.date)
    return entry


register(EventType(Actor.Registered, "registered", lambda e: {}))
register(EventType(Actor.Corrected, "corrected", lambda e: {}))
register(EventType(
    Development.Recorded, "recorded",
    lambda e: {"status": e.status.value, "changes": dump_content(e.content)},
))
register(EventType(
    Development.Corrected, "corrected",
    lambda e: {"changes": dump_content(e.changes), "reason": e.reason,
               "source": dump_source(e.source)},
    schema=CorrectionSchema,
    make=lambda d, e, by: d.correct(e["changes"], e["reason"], e["source"], by),
    counter="corrections",
))
register(EventType(
    Development.StatusChanged, "status_changed", _status,
    schema=StatusChangeSchema,
    make=lambda d, e, by: d.change_status(e["status"], e["reason"], e["source"], by, e["date"]),
    counter="status_changes",
))
register(EventType(
    Development.Retracted, "retracted",
    lambda e: {"reason": e.reason, "source": dump_source(e.source)},
    schema=RetractionSchema,
    make=lambda d, e, by: d.retract(e["reason"], by, e["source"]),
    counter="retractions",
))


class VersionOut(Schema):
    """One event in a development's history: what changed, when, by whom and why."""

    version = fields.Integer(required=True)
    type = fields.String(
        required=True,
        validate=validate.OneOf(list(dict.fromkeys(
            t.name for t in EVENT_TYPES.values() if issubclass(t.event_class, Development.Event)
        ))),
    )
    recorded_at = fields.String(required=True, metadata={"format": "date-time"})
    recorded_by = fields.String(required=True)
    status = fields.Enum(Status, by_value=True)
    changes = fields.Dict(keys=fields.String())
    reason = fields.String()
    source = fields.Nested(SourceOut, allow_none=True)
    date = fields.Nested(PartialDateOut)
    reported_from = fields.Date(required=True, metadata={
        "description": "From this day the version counts in knowledge time (`reported_by`)"})
    reported_basis = fields.String(required=True, validate=validate.OneOf(
        ["source", "recorded"]), metadata={
        "description": "`source`: its source's reported_on; `recorded`: it had no source, so "
                       "the day it was recorded here"})


class DevelopmentDetailOut(DevelopmentAsOfOut):
    history = fields.List(fields.Nested(VersionOut), required=True)
    axes = fields.Nested(AxesOut, required=True)
