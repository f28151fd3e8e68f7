"""The log as it grows: one follower per process wakes every reader waiting for new events.

On PostgreSQL the follower iterates the library's `subscribe()` (LISTEN/NOTIFY); the recorder
locks the events table on insert, so position order is commit order and a reader that resumes
after a position never skips an event. SQLite has no `subscribe()`, so the follower polls the
log, quickly after a write and backing off to POLL_MAX when idle: a write by another process
arrives within about half a second.

Readers (HTTP streams, `timeline tail --follow`) never hold a connection while they wait: they
sleep on one condition, and take the new events from a window of the latest ones the follower
read once for all of them. A reader further behind reads its pages from the log itself.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from timeline.audit import AuditLog

POLL_MIN = 0.02  # seconds between polls of a SQLite log just after it grew
POLL_MAX = 0.5  # ... and at most, when idle
PAGE = 200  # events read from the log per query
WINDOW = 2000  # latest events kept for the readers that are caught up
RETRY = 1.0  # seconds before following again after the store failed

log = logging.getLogger(__name__)


class FeedClosed(Exception):
    """The feed stopped (the process is shutting down)."""


class LogFeed:
    """The head of an application's log, followed in a thread of its own, started at first use.

    `subscribe` is the recorder's `subscribe(gt=...)`; where it raises NotImplementedError
    (SQLite), or when none is given, the log is polled.
    """

    def __init__(self, audit: AuditLog, subscribe: Callable[..., Any] | None = None) -> None:
        self.audit = audit
        self.subscribe = subscribe
        self.changed = threading.Condition()
        self.closed = threading.Event()
        self.window: deque[dict[str, Any]] = deque()
        self.base = 0  # the window holds every event after this position, up to the head
        self.head = 0
        self._thread: threading.Thread | None = None
        self._subscription: Any = None

    # --- what readers call -----------------------------------------------------------------

    def start(self) -> None:
        with self.changed:
            if self._thread is not None:
                return
            self.head = self.base = self.audit.count()
            self._thread = threading.Thread(target=self._follow, name="log-feed", daemon=True)
            self._thread.start()

    def events(self, after: int, limit: int | None = None) -> list[dict[str, Any]]:
        """Up to `limit` (default PAGE) events after a position, as /api/v1/events serves them."""
        limit = limit or PAGE
        self.start()
        with self.changed:
            if after >= self.base:
                start = bisect.bisect_right(self.window, after, key=lambda e: e["position"])
                return list(itertools.islice(self.window, start, start + limit))
        return self.audit.events(after=after, limit=limit)

    def wait(self, after: int, timeout: float) -> bool:
        """Block until the log holds an event after `after` (True) or `timeout` passes.
        Raises FeedClosed when the feed stops meanwhile."""
        self.start()
        with self.changed:
            self.changed.wait_for(lambda: self.head > after or self.closed.is_set(), timeout)
            if self.closed.is_set():
                raise FeedClosed
            return self.head > after

    def close(self) -> None:
        """Stop following, and wake every reader so that it ends (safe in a signal handler:
        it takes no lock a reader may hold)."""
        self.closed.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()
        threading.Thread(target=self._wake, daemon=True).start()

    def _wake(self) -> None:
        with self.changed:
            self.changed.notify_all()

    # --- the follower thread -----------------------------------------------------------------

    def _follow(self) -> None:
        while not self.closed.is_set():
            try:
                if self.subscribe is not None:
                    self._listen()
                else:
                    self._poll()
            except NotImplementedError:
                self.subscribe = None  # the store cannot notify: poll it
            except Exception:
                if self.closed.is_set():
                    return  # the store was closed with the feed
                # A dropped connection or a restarting database: readers keep waiting (with
                # their heartbeats) while the follower starts again from the head it had.
                log.exception("following the log failed; again in %s s", RETRY)
                self.closed.wait(RETRY)

    def _listen(self) -> None:
        with self.subscribe(gt=self.head) as subscription:
            self._subscription = subscription
            if self.closed.is_set():
                return
            for notification in subscription:
                if notification.id > self.head:
                    self._pull()

    def _poll(self) -> None:
        delay = POLL_MIN
        while not self.closed.wait(delay):
            delay = POLL_MIN if self._pull() else min(delay * 2, POLL_MAX)

    def _pull(self) -> bool:
        """Read what the log holds beyond the head into the window; True if it grew."""
        grew = False
        while not self.closed.is_set():
            found = self.audit.events(after=self.head, limit=PAGE)
            if not found:
                return grew
            grew = True
            with self.changed:
                self.window.extend(found)
                while len(self.window) > WINDOW:
                    self.base = self.window.popleft()["position"]
                self.head = found[-1]["position"]
                self.changed.notify_all()
        return grew


def follow(
    feed: LogFeed, after: int, idle: float, keep: Callable[[dict[str, Any]], bool] = lambda e: True
) -> Iterator[list[dict[str, Any]]]:
    """Every event after a position, a run at a time, caught up first and then as the log
    grows; an empty run after `idle` seconds without one (time for a heartbeat). `keep`
    filters events; the position moves past the ones it drops. Ends when the feed closes."""
    position = after
    last_sent = time.monotonic()
    while not feed.closed.is_set():  # checked while catching up too: a backlog can be long
        found = feed.events(position)
        if found:
            position = found[-1]["position"]
            kept = [event for event in found if keep(event)]
            if kept:
                last_sent = time.monotonic()
                yield kept
            continue
        quiet = time.monotonic() - last_sent
        try:
            if quiet >= idle or not feed.wait(position, idle - quiet):
                # Nothing sent for `idle` seconds (the filter may have dropped what came).
                last_sent = time.monotonic()
                yield []
        except FeedClosed:
            return
