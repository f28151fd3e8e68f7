"""Health: is the store reachable, and how far behind is the read model."""

from __future__ import annotations

import logging

from eventsourcing.persistence import PersistenceError
from flask import Response
from marshmallow import Schema, fields

from api.http import Blueprint, ok, timeline

blueprint = Blueprint("health", __name__, description=__doc__)
log = logging.getLogger(__name__)


class HealthOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "unavailable", "damaged"]})
    store = fields.String(required=True, metadata={"enum": ["reachable", "unreachable"]})
    events = fields.Integer(metadata={"description": "Events in the log"})
    read_model_lag = fields.Integer(metadata={"description": "Events not yet projected"})
    detail = fields.String()


@blueprint.get("/healthz")
@blueprint.response(200, HealthOut)
@blueprint.alt_response(503, schema=HealthOut, description="The store cannot be reached, or the"
                        " log ends before a position already used (writes are refused)")
def healthz() -> Response:
    """200 with the event count and the read model's lag; 503 when the store is unreachable,
    or when the log ends before the read model's position or the last head issued (events
    were removed from its end: writes are refused until an operator acts)."""
    try:
        app = timeline()
        marks = app.audit.marks()
        lag = marks.end - marks.projected
    except PersistenceError:
        # The driver's text names hosts, users and paths: it goes to the operator's log,
        # and anyone may call /healthz.
        log.exception("health check: the store is unreachable")
        return ok({"status": "unavailable", "store": "unreachable",
                   "detail": "the store cannot be reached; the server's log says why"}, 503)
    found = {"store": "reachable", "events": marks.end, "read_model_lag": lag}
    damage = marks.problem()
    if damage:
        return ok({"status": "damaged", **found, "detail": damage}, 503)
    return ok({"status": "ok", **found})
