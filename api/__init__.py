"""The HTTP API: a Flask app factory over the Timeline application."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, send_from_directory

from api import (
    actors,
    audit,
    developments,
    errors,
    events,
    feed,
    health,
    http,
    page,
    ratelimit,
    relationships,
)
from api.idempotency import IdempotencyRecords
from timeline import __version__
from timeline.application import Timeline
from timeline.checkpoint import configured_key

DEFAULTS: dict[str, Any] = {
    "STORE": None,  # TIMELINE_STORE, else sqlite:///timeline.db
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # 413 beyond one MiB
    "CORS_ORIGINS": "",  # none; origins that may read (* for any); those named may also write
    "READS_REQUIRE_TOKEN": False,  # every API request needs a token
    "LOG_REQUIRES_TOKEN": False,  # the raw log (/events, /streams, /audit) needs a token
    "RATE_LIMIT": "600/minute",  # per token and per client address; "off" for none
    "RATE_LIMIT_LOOPBACK": False,  # limit loopback clients too
    "RATE_LIMIT_STORAGE": "memory://",  # Flask-Limiter storage URI
    "STREAM_HEARTBEAT": 15,  # seconds of quiet before a stream sends a keep-alive comment
    "MAX_STREAMS": None,  # open streams per process (each holds a thread); None: no limit
    "IDEMPOTENCY_LEASE": 30,  # seconds a write holds its Idempotency-Key before a retry may
    "IDEMPOTENCY_EXPIRY": 24 * 3600,  # seconds a key's record is kept
    "MIN_POSITION_WAIT": 5,  # seconds a read with min_position waits for the read model
    # The largest backlog a read applies itself before answering ("all": any); beyond it, a
    # read answers at once from the read model as it stands. None: the store's setting.
    "READ_CATCH_UP": None,
}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app. Settings: `config`, else TIMELINE_* environment variables
    (TIMELINE_STORE, TIMELINE_MAX_CONTENT_LENGTH, TIMELINE_CORS_ORIGINS,
    TIMELINE_READS_REQUIRE_TOKEN, TIMELINE_LOG_REQUIRES_TOKEN, TIMELINE_RATE_LIMIT, ...,
    TIMELINE_STREAM_HEARTBEAT, TIMELINE_IDEMPOTENCY_LEASE, ...), else the defaults above."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("TIMELINE")
    app.config.update(config or {})
    app.config.update(
        API_TITLE="Timeline",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
    )
    timeline = Timeline(app.config["STORE"] or os.environ.get("TIMELINE_STORE"))
    app.extensions["timeline"] = timeline
    if app.config["READ_CATCH_UP"] is not None:
        timeline.read_model.configure_reads(app.config["READ_CATCH_UP"])
    # This process catches the read model up in the background (unless a worker does).
    timeline.read_model.serve()
    records = timeline.factory.access_recorder(IdempotencyRecords)
    records.lease = float(app.config["IDEMPOTENCY_LEASE"])
    records.expiry = float(app.config["IDEMPOTENCY_EXPIRY"])
    app.extensions["idempotency"] = records
    if app.config.get("SIGNING_KEY") or os.environ.get("TIMELINE_SIGNING_KEY"):
        # A configured key that cannot be read fails the start, not the first checkpoint.
        app.extensions["signing_key"] = configured_key(app.config.get("SIGNING_KEY"))

    api = errors.TimelineApi(app, spec_kwargs={"info": {"description": "An event-sourced "
        "timeline of how relationships between states, leaders and institutions develop."}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for module in (actors, developments, relationships, events, feed, audit, health):
        api.register_blueprint(module.blueprint)
    app.register_blueprint(page.blueprint)  # plain Flask: the page is not in the OpenAPI
    feed.install(app)
    errors.register(app)
    ratelimit.install(app)  # first: a refused request costs no token lookup
    http.install(app)

    @app.get("/docs")
    def docs():
        """Human documentation of the API, rendered from /openapi.json with no CDN."""
        return send_from_directory(os.path.join(app.root_path, "static"), "docs.html")

    return app
