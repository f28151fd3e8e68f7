"""Health: is the store reachable, and how far behind is the read model."""

from __future__ import annotations

from eventsourcing.persistence import PersistenceError
from flask import Blueprint, Response

from api.http import ok, timeline

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """200 with the event count and the read model's lag (events not yet applied); 503 when
    the store cannot be reached."""
    try:
        app = timeline()
        events = app.event_count()
        lag = app.lag()
    except PersistenceError as error:
        return ok({"status": "unavailable", "store": "unreachable", "detail": str(error)}, 503)
    return ok({"status": "ok", "store": "reachable", "events": events, "read_model_lag": lag})
