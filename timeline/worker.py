"""The projection worker: keeps the read model of a PostgreSQL store current, as its own process.

It is the library's projection runner: it subscribes to the application's log (LISTEN/NOTIFY),
starting after the view's last tracking record, so a restarted or killed worker resumes where
the last committed event left it; each event's rows and tracking record are one transaction.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from eventsourcing.projection import BaseProjectionRunner

from timeline.application import Timeline
from timeline.store import POSTGRES_MODULE, StoreError


class FollowedTimeline(Timeline):
    """The application as the runner builds it, from an environment holding the store URL."""

    name = "Timeline"  # the same log and the same tracking records as the API's application

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env["TIMELINE_STORE"])


def run(store_url: str, on_ready: Callable[[int], Any] = lambda lag: None) -> None:
    """Follow the log until SIGTERM or SIGINT; then stop cleanly (the event being applied
    either commits with its tracking record or not at all)."""
    app = Timeline(store_url)
    if app.env.get("PERSISTENCE_MODULE") != POSTGRES_MODULE:
        app.close()
        raise StoreError(
            "the worker follows a PostgreSQL store; on SQLite every API process projects "
            "what it reads, so no worker is needed"
        )
    runner = BaseProjectionRunner(
        projection=app.read_model.projection,
        application_class=FollowedTimeline,
        tracking_recorder=app.read_model.view,
        topics=(),
        env={"TIMELINE_STORE": store_url},
    )
    previous = {sig: signal.signal(sig, lambda *_: runner.stop())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with runner:
            on_ready(app.read_model.lag())
            runner.run_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        app.close()
