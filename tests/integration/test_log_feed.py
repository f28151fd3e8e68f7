"""The log feed in process, on both stores: the window the follower keeps serves what the log
holds, a filter that drops everything still lets heartbeats through, and closing ends readers."""

from __future__ import annotations

import threading

from timeline import feed as feed_module
from timeline.feed import LogFeed, follow
from timeline.vocabulary import ActorKind


def register(app, *names: str) -> None:
    for name in names:
        app.register_actor(name, name.title(), ActorKind.STATE)


def test_caught_up_readers_read_the_window_and_late_ones_the_log(app, monkeypatch):
    monkeypatch.setattr(feed_module, "WINDOW", 3)  # so that the window drops old events
    feed = LogFeed(app.audit, app.recorder.subscribe)
    try:
        start = app.audit.count()
        feed.start()
        register(app, "chad", "mali", "niger", "togo", "benin")
        while not feed.wait(start + 4, timeout=10):
            pass
        assert feed.base == start + 2  # the window holds the last three
        for after in range(start, start + 6):
            assert feed.events(after) == app.audit.events(after=after, limit=200)
    finally:
        feed.close()


def test_a_filter_that_drops_every_event_still_lets_heartbeats_through(app):
    feed = LogFeed(app.audit, app.recorder.subscribe)
    runs = follow(feed, app.audit.count(), idle=0.2, keep=lambda event: False)
    try:
        register(app, "chad")
        assert next(runs) == []  # a heartbeat, though an event came (and was dropped)
        register(app, "mali")
        assert next(runs) == []
    finally:
        feed.close()


def test_closing_the_feed_ends_its_readers(app):
    feed = LogFeed(app.audit, app.recorder.subscribe)
    ended = threading.Event()

    def read() -> None:
        for _ in follow(feed, app.audit.count(), idle=60):
            pass
        ended.set()

    reader = threading.Thread(target=read)
    reader.start()
    register(app, "chad")
    feed.close()
    reader.join(timeout=30)
    assert ended.is_set()


def test_closing_the_feed_ends_a_reader_still_catching_up(app, monkeypatch):
    monkeypatch.setattr(feed_module, "PAGE", 1)  # one event a run: the backlog is long
    feed = LogFeed(app.audit, app.recorder.subscribe)
    runs = follow(feed, 0, idle=60)
    assert len(next(runs)) == 1
    feed.close()
    assert list(runs) == []
