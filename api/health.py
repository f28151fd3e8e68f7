"""Health: is the store reachable, and how far behind is the read model."""

from __future__ import annotations

from eventsourcing.persistence import PersistenceError
from flask import Blueprint

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[dict, int]:
    from api import timeline

    try:
        app = timeline()
        events = app.event_count()
        lag = app.lag()
    except PersistenceError as error:
        return {"status": "unavailable", "store": "unreachable", "detail": str(error)}, 503
    return {"status": "ok", "store": "reachable", "events": events, "read_model_lag": lag}, 200
