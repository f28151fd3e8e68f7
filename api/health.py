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
    status = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    store = fields.String(required=True, metadata={"enum": ["reachable", "unreachable"]})
    events = fields.Integer(metadata={"description": "Events in the log"})
    read_model_lag = fields.Integer(metadata={"description": "Events not yet projected"})
    detail = fields.String()


@blueprint.get("/healthz")
@blueprint.response(200, HealthOut)
@blueprint.alt_response(503, schema=HealthOut, description="The store cannot be reached")
def healthz() -> Response:
    """200 with the event count and the read model's lag; 503 when the store is unreachable."""
    try:
        app = timeline()
        events = app.audit.count()
        lag = app.read_model.lag()
    except PersistenceError:
        # The driver's text names hosts, users and paths: it goes to the operator's log,
        # and anyone may call /healthz.
        log.exception("health check: the store is unreachable")
        return ok({"status": "unavailable", "store": "unreachable",
                   "detail": "the store cannot be reached; the server's log says why"}, 503)
    return ok({"status": "ok", "store": "reachable", "events": events, "read_model_lag": lag})
