"""The raw event log for auditors: every stored event in record order, and each stream."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response
from marshmallow import Schema, fields, validate

from api.http import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Blueprint,
    documents,
    labelled,
    ok,
    page,
    timeline,
)
from timeline.audit import MAX_POSITION

blueprint = Blueprint("events", __name__, url_prefix="/api/v1", description=__doc__)


class EventOut(Schema):
    position = fields.Integer(required=True, metadata={"description": "Place in the log"})
    stream_id = fields.String(required=True)
    stream_version = fields.Integer(required=True)
    type = fields.String(required=True, metadata={"example": "Development.Recorded"})
    topic = fields.String(required=True)
    recorded_at = fields.String(required=True, allow_none=True)
    recorded_by = fields.String(
        required=True, allow_none=True,
        metadata={"description": "Who recorded it: the id of the token it was written with"},
    )
    recorded_by_label = fields.String(
        required=True, allow_none=True,
        metadata={"description": "The label of that token: shown only to holders of a "
                                 "token with the admin scope, null otherwise"},
    )
    data = fields.Dict(required=True, metadata={"description": "The payload exactly as stored"})
    hash = fields.String(
        required=True, allow_none=True,
        metadata={"description": "SHA-256 chain hash (see the README); null if missing"},
    )
    previous_hash = fields.String(required=True, allow_none=True)


class EventListOut(Schema):
    events = fields.List(fields.Nested(EventOut), required=True)
    next = fields.String(required=True, allow_none=True)


class StreamOut(Schema):
    events = fields.List(fields.Nested(EventOut), required=True)


class LogQuery(Schema):
    after = fields.Integer(
        load_default=0, validate=validate.Range(0, MAX_POSITION),
        metadata={"description": "Events after this position (the `next` of the last page)"},
    )
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))


@blueprint.get("/events")
@blueprint.arguments(LogQuery, location="query")
@blueprint.response(200, EventListOut)
def list_events(query: dict[str, Any]) -> Response:
    """Stored events in record order, a page at a time."""
    found = labelled(timeline().audit.events(after=query["after"], limit=query["limit"] + 1))
    return page("events", found, query["limit"], lambda e: str(e["position"]))


@blueprint.get("/events/<int:position>")
@blueprint.response(200, EventOut)
@documents(blueprint, 404)
def get_event(position: int) -> Response:
    """One stored event."""
    return ok(labelled([timeline().audit.event(position)])[0])


@blueprint.get("/streams/<uuid:stream_id>")
@blueprint.response(200, StreamOut)
@documents(blueprint, 404)
def get_stream(stream_id: UUID) -> Response:
    """One aggregate's events (an actor's or a development's), in version order."""
    return ok({"events": labelled(timeline().audit.stream(stream_id))})
