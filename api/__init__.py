"""The HTTP API: a Flask app factory over the Timeline application."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, current_app

from timeline.application import Timeline


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app; settings come from `config`, then from TIMELINE_* variables."""
    app = Flask(__name__)
    app.config.from_prefixed_env("TIMELINE")
    app.config.update(config or {})
    app.config.setdefault("STORE", os.environ.get("TIMELINE_STORE"))
    app.extensions["timeline"] = Timeline(app.config["STORE"])

    from api import health

    app.register_blueprint(health.blueprint)
    return app


def timeline() -> Timeline:
    """The Timeline application of the running Flask app."""
    return current_app.extensions["timeline"]
