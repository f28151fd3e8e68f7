"""The event types of the log, each registered once: its name, what a history shows of it, and
how a seed file states it.

A development's history is the list of its versions, one per event. Everything that handles an
event by its type reads it from here: the history served by the application and its schema,
the seed files' later events and the counts of a seed report. (The read model needs no entry:
it projects the aggregate as each event leaves it, whatever the event.) Adding an event type is
one registration here, plus the schema that states it in a seed file or request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, validate

from timeline.domain import Actor, Development
from timeline.schemas import (
    CorrectionSchema,
    DevelopmentOut,
    PartialDateOut,
    RetractionSchema,
    SourceOut,
    StatusChangeSchema,
    dump_content,
    dump_date,
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


def history_entry(event: Any) -> dict[str, Any]:
    """One version of a development: what changed, when it was recorded, by whom and why."""
    event_type = EVENT_TYPES[type(event)]
    return {
        "version": event.originator_version,
        "type": event_type.name,
        "recorded_at": event.timestamp.isoformat(),
        "recorded_by": event.recorded_by,
        **event_type.details(event),
    }


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


class DevelopmentDetailOut(DevelopmentOut):
    history = fields.List(fields.Nested(VersionOut), required=True)
