"""The live feed: the log and a pair's state as Server-Sent Events, resumable by Last-Event-ID."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from uuid import UUID

from flask import Flask, Response, current_app, request
from marshmallow import Schema, fields, validate

from api.errors import problem
from api.http import Abort, Blueprint, documents, presented_token, timeline
from timeline.access import Scope
from timeline.audit import MAX_POSITION
from timeline.domain import NotFound, actor_stream_id
from timeline.feed import LogFeed, follow
from timeline.history import EVENT_TYPES

blueprint = Blueprint("feed", __name__, url_prefix="/api/v1", description=__doc__)

RETRY_MS = 3000  # how long a browser waits before reconnecting
EVENT_TYPE_NAMES = sorted(event_type.__qualname__ for event_type in EVENT_TYPES)


def install(app: Flask) -> None:
    """Give the app its feed (one follower per process, started by the first stream) and a
    count of the open streams."""
    store = app.extensions["timeline"]
    app.extensions["feed"] = LogFeed(store.audit, store.recorder.subscribe)
    app.extensions["streams"] = Streams(app.config.get("MAX_STREAMS"))
    app.extensions["encoded"] = Encoded()


class Encoded:
    """Each event's message, encoded once for all the streams of the process: a write sent
    to 200 streams is turned into JSON once, not 200 times."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.messages: OrderedDict[int, str] = OrderedDict()
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> str:
        position = event["position"]
        with self.lock:
            found = self.messages.get(position)
        if found is None:
            # As /events serves it to all but admins (see api.http.labelled).
            found = message(position, event["type"], {**event, "recorded_by_label": None})
            with self.lock:
                self.messages[position] = found
                if len(self.messages) > self.size:
                    self.messages.popitem(last=False)
        return found


def labelling(access: Any) -> Callable[[dict[str, Any]], str]:
    """Each event's message with the label of the token that wrote it (for an admin)."""

    def encoded(event: dict[str, Any]) -> str:
        labels = access.labels({event["recorded_by"]}) if event["recorded_by"] else {}
        return message(event["position"], event["type"],
                       {**event, "recorded_by_label": labels.get(event["recorded_by"])})

    return encoded


class Streams:
    """How many streams this process holds open, and how many it may (each holds a thread)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = int(limit) if limit else None
        self.open = 0
        self.lock = threading.Lock()

    def enter(self) -> bool:
        with self.lock:
            if self.limit is not None and self.open >= self.limit:
                return False
            self.open += 1
            return True

    def leave(self) -> None:
        with self.lock:
            self.open -= 1


class LogStreamQuery(Schema):
    after = fields.Integer(
        validate=validate.Range(0, MAX_POSITION),
        metadata={"description": "Start after this position (default: the head, so only new "
                                 "events); a Last-Event-ID header takes precedence"},
    )
    stream = fields.List(
        fields.String(validate=validate.Length(1, 200)),
        metadata={"description": "Only the events of this development id or actor id "
                                 "(repeatable)"},
    )
    type = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPE_NAMES)),
        metadata={"description": "Only events of this type, as /events names it (repeatable)"},
    )


STREAM_RESPONSE = {
    "200": {
        "description": "Server-Sent Events, until the client or the server closes",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    "503": {"$ref": "#/components/responses/SERVICE_UNAVAILABLE"},
}
LAST_EVENT_ID = {
    "in": "header", "name": "Last-Event-ID", "required": False, "schema": {"type": "string"},
    "description": "The id of the last message received: resume after it",
}


@blueprint.get("/events/stream")
@blueprint.arguments(LogStreamQuery, location="query")
@blueprint.doc(responses=STREAM_RESPONSE, parameters=[LAST_EVENT_ID])
@documents(blueprint, 400, 422)
def stream_events(query: dict[str, Any]) -> Response:
    """Stored events as Server-Sent Events: `id` is the position, `event` the type, `data` the
    event as /events serves it. Replays what came after `Last-Event-ID` (or `after`; else
    starts at the head), then follows the log."""
    feed: LogFeed = current_app.extensions["feed"]
    resumed = last_event_id()
    after = resumed if resumed is not None else query.get("after")
    if after is None:
        after = timeline().audit.count()
    keep = event_filter(query.get("stream") or [], set(query.get("type") or []))
    idle = heartbeat_seconds()
    encoded: Callable[[dict[str, Any]], str] = current_app.extensions["encoded"]
    token = presented_token()
    if token is not None and token.scope.grants(Scope.ADMIN):
        encoded = labelling(timeline().access)  # labels for admins only, as on /events

    def messages() -> Iterator[str]:
        for run in follow(feed, after, idle, keep):
            # A run in one write: one system call for what came at once.
            yield "".join(map(encoded, run)) if run else ": keep-alive\n\n"

    return event_stream(messages())


@blueprint.get("/relationships/<a>/<b>/stream")
@blueprint.doc(responses=STREAM_RESPONSE, parameters=[LAST_EVENT_ID])
@documents(blueprint, 400, 404, 422)
def stream_relationship(a: str, b: str) -> Response:
    """The pair's state as Server-Sent Events (`event: relationship`), the same body as
    GET /relationships/{a}/{b}: now, then each time a new event changes it. `id` is the log
    position the state reflects."""
    app = timeline()
    feed: LogFeed = current_app.extensions["feed"]
    resumed = last_event_id()

    def state() -> tuple[int, dict[str, Any]]:
        """The pair's state and the log position it reflects: a read that catches the view
        up to the head, between two reads of the head that agree (else the head moved while
        reading: read again, and after a few tries settle for the position before)."""
        for _ in range(3):
            before = app.audit.count()
            now = app.get_relationship(a, b)
            if app.audit.count() == before:
                break
        return before, now

    position, current = state()  # an unknown pair or actor is a 4xx here, before streaming
    idle = heartbeat_seconds()

    def messages() -> Iterator[str]:
        nonlocal position, current
        if resumed != position:  # a client resuming at this very position has this state
            yield message(position, "relationship", current)
        for run in follow(feed, position, idle):
            if not run:
                yield ": keep-alive\n\n"
                continue
            position, now = state()
            if now != current:
                current = now
                yield message(position, "relationship", current)

    return event_stream(messages())


def last_event_id() -> int | None:
    """The position in a Last-Event-ID header, or None; a malformed one is a 400 naming it."""
    header = request.headers.get("Last-Event-ID")
    if header is None or not header.strip():
        return None
    value = header.strip()
    if not value.isdigit() or not int(value) <= MAX_POSITION:
        raise Abort(problem(400, f"Last-Event-ID {header!r} is not a position of the log",
                            errors={"Last-Event-ID": ["the id of an event this stream sent"]}))
    return int(value)


def event_filter(streams: list[str], types: set[str]) -> Callable[[dict[str, Any]], bool]:
    """Keep the events of these streams (development ids or actor ids) and types."""
    ids = {stream_id_of(stream) for stream in streams}

    def keep(event: dict[str, Any]) -> bool:
        return (not ids or event["stream_id"] in ids) and (not types or event["type"] in types)

    return keep


def stream_id_of(stream: str) -> str:
    """A development id as it is, or the stream of a registered actor id."""
    try:
        return str(UUID(stream))
    except ValueError:
        pass
    if not timeline().has_actor(stream):
        raise NotFound(f"no development or actor {stream!r}", "stream")
    return str(actor_stream_id(stream))


def heartbeat_seconds() -> float:
    return float(current_app.config.get("STREAM_HEARTBEAT") or 15)


def message(position: int, name: str, body: Any) -> str:
    data = json.dumps(body, ensure_ascii=False)  # one line: JSON escapes every newline
    return f"id: {position}\nevent: {name}\ndata: {data}\n\n"


def event_stream(messages: Iterable[str]) -> Response:
    """A text/event-stream response that counts against the process's open streams."""
    if request.method == "HEAD":
        # The headers alone: a server iterates the body of a HEAD response too, dropping
        # it, and would hold a thread forever on a stream no one reads.
        return stream_response([])
    streams: Streams = current_app.extensions["streams"]
    if not streams.enter():
        raise Abort(problem(503, "this process holds as many streams as it may; retry soon",
                            headers={"Retry-After": "5"}))

    def body() -> Iterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        yield from messages

    response = stream_response(body())
    response.call_on_close(streams.leave)
    return response


def stream_response(body: Iterable[str]) -> Response:
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each message on at once
    return response
