"""The projection worker: keeps the read model of a PostgreSQL store current, as its own process.

It is the library's projection runner: it subscribes to the application's log (LISTEN/NOTIFY),
starting after the view's last tracking record, so a restarted or killed worker resumes where
the last committed event left it; each event's rows and tracking record are one transaction.
When its database connections drop (a failover, a server restart, a network blip), it opens
new ones with back-off, saying so at each attempt, and resumes from the tracking record.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import PersistenceError
from eventsourcing.projection import BaseProjectionRunner

from timeline.application import Timeline
from timeline.store import POSTGRES_MODULE, StoreError, persistence_env

FIRST_DELAY = 0.5  # seconds before the first reconnection attempt, doubled at each failure
MAX_DELAY = 30.0
# Events per transaction while the worker catches up a backlog before following: the runner
# applies one event per transaction, which made a bulk write of 20,000 events take minutes.
CATCH_UP_RUN = 100
# Seconds between the worker's looks for pairs to outline anew (see outline).
OUTLINE_INTERVAL = 1.0

log = logging.getLogger(__name__)


class FollowedTimeline(Timeline):
    """The application as the runner builds it, from an environment holding the store URL."""

    name = "Timeline"  # the same log and the same tracking records as the API's application

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env["TIMELINE_STORE"])


def connection_errors() -> tuple[type[BaseException], ...]:
    """What a lost or refused connection raises: the library's errors, the driver's own (the
    subscription's LISTEN connection raises them unwrapped), and an unreachable store."""
    import psycopg

    return (PersistenceError, psycopg.Error, StoreError, OSError)


def run(
    store_url: str,
    on_ready: Callable[[int], Any] = lambda lag: None,
    on_retry: Callable[[int, float, BaseException], Any] = lambda attempt, delay, error: None,
) -> None:
    """Follow the log until SIGTERM or SIGINT; then stop cleanly (the event being applied
    either commits with its tracking record or not at all). On a connection error, call
    `on_retry(attempt, delay, error)`, wait `delay` seconds (doubling up to MAX_DELAY) and
    start again from the view's tracking record; `on_ready(lag)` each time it follows."""
    if persistence_env(store_url).get("PERSISTENCE_MODULE") != POSTGRES_MODULE:
        raise StoreError(
            "the worker follows a PostgreSQL store; on SQLite every API process projects "
            "what it reads, so no worker is needed"
        )
    stopping = threading.Event()
    current: list[BaseProjectionRunner[Any, Any]] = []

    def stop(*_: Any) -> None:
        stopping.set()
        for runner in current:
            runner.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    errors = connection_errors()
    attempt, delay = 0, FIRST_DELAY
    try:
        while not stopping.is_set():
            try:
                follow(store_url, current, stopping, on_ready)
                return  # stopped on a signal
            except errors as error:
                if stopping.is_set():
                    return
                attempt += 1
                on_retry(attempt, delay, error)
                stopping.wait(delay)
                delay = min(delay * 2, MAX_DELAY)
            else:
                attempt, delay = 0, FIRST_DELAY
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def follow(
    store_url: str, current: list[BaseProjectionRunner[Any, Any]], stopping: threading.Event,
    on_ready: Callable[[int], Any],
) -> None:
    """One connection's life: open the store, catch up and follow until stopped (returns) or
    until a connection fails (raises)."""
    app = Timeline(store_url)
    try:
        # A backlog (a bulk write, or the worker was down) in runs first, stopping on a signal
        # between them; the runner then starts after the view's last tracking record.
        applied = 0
        if app.read_model.lag() > CATCH_UP_RUN:
            while not stopping.is_set():
                done = app.read_model.catch_up(CATCH_UP_RUN, limit=CATCH_UP_RUN)
                applied += done
                if done < CATCH_UP_RUN:
                    break
        app.read_model.outline_pairs(stopping.is_set, after_bulk=applied > 0)
        runner = BaseProjectionRunner(
            projection=app.read_model.projection,
            application_class=FollowedTimeline,
            tracking_recorder=app.read_model.view,
            topics=(),
            env={"TIMELINE_STORE": store_url},
        )
        current[:] = [runner]
        if stopping.is_set():
            runner.stop()
        followed = threading.Event()
        outliner = threading.Thread(target=outline, args=(app, stopping, followed),
                                    name="outliner", daemon=True)
        try:
            with runner:
                outliner.start()
                on_ready(app.read_model.lag())
                runner.run_forever()
        finally:
            followed.set()
            if outliner.is_alive():
                outliner.join()
            current.clear()
            runner.app.close()
    finally:
        app.close()


def outline(app: Timeline, stopping: threading.Event, followed: threading.Event) -> None:
    """Beside the runner: outline the pairs its events changed (ReadModel.outline_pairs),
    every OUTLINE_INTERVAL seconds until the worker stops or stops following. A failure is
    logged, and the next turn tries again (the runner reports a lost connection itself)."""
    def done() -> bool:
        return stopping.is_set() or followed.is_set()

    while not done():
        try:
            app.read_model.outline_pairs(done)
        except Exception:
            log.exception("outlining pairs failed; trying again in %g s", OUTLINE_INTERVAL)
        followed.wait(OUTLINE_INTERVAL)
