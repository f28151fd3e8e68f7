"""The live feed against a real server process (gunicorn), on both stores: resuming by
Last-Event-ID while other processes write, delivery of another process's write, heartbeats,
filters, a pair's state, bad input, and a clean stop on SIGTERM with streams open."""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import STORES, content, fresh_store
from tests.integration.test_serving import answering, free_port
from timeline.application import Timeline
from timeline.domain import actor_stream_id
from timeline.vocabulary import ActorKind

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT = 0.5  # seconds: so that the heartbeat test need not wait the 15 s default
PATIENCE = 15  # seconds a test waits for a message before it calls it lost


class EventStream:
    """A Server-Sent Events client over http.client: one message at a time."""

    def __init__(self, port: int, path: str, headers: dict[str, str] | None = None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE)
        self.connection.request("GET", path, headers=headers or {})
        self.response = self.connection.getresponse()

    def next(self) -> dict[str, str] | None:
        """The next message or comment as its fields (a comment as {"comment": ...});
        None when the server ended the stream."""
        fields: dict[str, str] = {}
        while True:
            line = self.response.readline().decode()
            if not line:
                return None
            line = line.rstrip("\n")
            if not line:
                if fields:
                    return fields
                continue
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.removeprefix(" ")

    def next_event(self) -> dict[str, str]:
        """The next message that is not a comment (heartbeats are skipped)."""
        while (message := self.next()) is not None:
            if "id" in message:
                return message
        raise AssertionError("the stream ended")

    def close(self) -> None:
        self.connection.close()


@contextmanager
def server(
    store: str, *options: str, port: int | None = None
) -> Iterator[tuple[int, subprocess.Popen]]:
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "timeline.cli", "--store", store, "serve", "--port", str(port),
         *options],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TIMELINE_STREAM_HEARTBEAT": str(HEARTBEAT)},
    )
    try:
        answering(port, process)
        yield port, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)
        process.stderr.close()


@pytest.fixture(scope="module", params=STORES)
def served(request, tmp_path_factory) -> Iterator[tuple[str, int]]:
    """A store with two actors, served by gunicorn; one per store kind for the module."""
    with fresh_store(request.param, tmp_path_factory.mktemp("feed")) as store:
        app = Timeline(store)
        app.register_actor("china", "China", ActorKind.STATE)
        app.register_actor("russia", "Russia", ActorKind.STATE)
        app.close()
        with server(store) as (port, _):
            yield store, port


@pytest.fixture
def writer(served) -> Iterator[Timeline]:
    """The store opened by this test process: a process other than the server's."""
    app = Timeline(served[0])
    yield app
    app.close()


def get_json(port: int, path: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE)
    connection.request("GET", path)
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    return body


def opened_at(port: int, path: str, **headers: str) -> EventStream:
    """A stream, once the server has answered it (its first line is the retry hint)."""
    stream = EventStream(port, path, headers)
    assert stream.response.status == 200
    assert stream.response.headers["Content-Type"].startswith("text/event-stream")
    assert stream.next() == {"retry": "3000"}
    return stream


WRITER = textwrap.dedent("""
    import sys
    from timeline.application import Timeline
    from timeline.vocabulary import ActorKind
    app = Timeline(sys.argv[1])
    for n in range(int(sys.argv[3])):
        app.register_actor(f"{sys.argv[2]}-{n}", f"Actor {n}", ActorKind.ORGANISATION)
    app.close()
""")


def test_a_consumer_resuming_by_last_event_id_gets_every_event_once_in_order(served, writer):
    store, port = served
    head = writer.audit.count()
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, store, f"w{n}", "15"], cwd=ROOT)
        for n in range(3)
    ]
    received: list[dict[str, str]] = []
    stream = opened_at(port, f"/api/v1/events/stream?after={head}")
    try:
        while len(received) < 45:
            received.append(stream.next_event())
            if len(received) % 10 == 0:  # hang up, and come back where we left off
                stream.close()
                stream = opened_at(port, f"/api/v1/events/stream?after={head}",
                                   **{"Last-Event-ID": received[-1]["id"]})
    finally:
        stream.close()
        for process in writers:
            assert process.wait(timeout=120) == 0
    logged = writer.audit.events(after=head, limit=100)
    assert [int(m["id"]) for m in received] == [e["position"] for e in logged]
    assert len(logged) == 45
    for message, event in zip(received, logged, strict=True):
        assert message["event"] == event["type"] == "Actor.Registered"
        assert json.loads(message["data"]) == {**event, "recorded_by_label": None}
    served_by_events = get_json(port, f"/api/v1/events?after={head}&limit=1")["events"][0]
    assert received[0]["data"] == json.dumps(served_by_events, ensure_ascii=False)


def test_a_write_by_another_process_is_delivered_to_an_open_stream(served, writer):
    _, port = served
    stream = opened_at(port, "/api/v1/events/stream")  # at the head: only what comes next
    try:
        writer.register_actor("ukraine", "Ukraine", ActorKind.STATE)
        message = stream.next_event()  # the stream's timeout: PATIENCE, not a measurement
    finally:
        stream.close()
    assert message["event"] == "Actor.Registered"
    assert json.loads(message["data"])["data"]["actor_id"] == "ukraine"
    assert int(message["id"]) == writer.audit.count()


def test_an_idle_stream_gets_its_heartbeat(served, writer):
    _, port = served
    stream = opened_at(port, f"/api/v1/events/stream?after={writer.audit.count()}")
    try:
        assert stream.next() == {"comment": "keep-alive"}
        assert stream.next() == {"comment": "keep-alive"}
    finally:
        stream.close()


def test_filters_keep_one_stream_and_one_type(served, writer):
    _, port = served
    head = writer.audit.count()
    writer.register_actor("belarus", "Belarus", ActorKind.STATE)
    writer.correct_actor("russia", {"name": "Russian Federation"}, "the official name")
    writer.correct_actor("china", {"name": "People's Republic of China"}, "the official name")
    stream = opened_at(port, f"/api/v1/events/stream?after={head}&stream=china"
                             "&type=Actor.Corrected&type=Actor.Registered")
    try:
        message = stream.next_event()
    finally:
        stream.close()
    event = json.loads(message["data"])
    assert event["stream_id"] == str(actor_stream_id("china"))
    assert message["event"] == "Actor.Corrected" and int(message["id"]) == head + 3


def test_a_pair_streams_its_state_now_and_after_each_change(served, writer):
    _, port = served
    stream = opened_at(port, "/api/v1/relationships/china/russia/stream")
    try:
        first = stream.next_event()
        assert first["event"] == "relationship"
        assert json.loads(first["data"]) == get_json(port, "/api/v1/relationships/china/russia")
        assert int(first["id"]) == writer.audit.count()
        writer.register_actor("kazakhstan", "Kazakhstan", ActorKind.STATE)  # not the pair's
        writer.record_development(content())  # China supplies Russia: the pair changes
        changed = stream.next_event()
    finally:
        stream.close()
    state = json.loads(changed["data"])
    assert state == get_json(port, "/api/v1/relationships/china/russia")
    assert state != json.loads(first["data"]) and state["ties"]
    assert int(changed["id"]) == writer.audit.count()  # the development, not the actor
    resumed = opened_at(port, "/api/v1/relationships/china/russia/stream",
                        **{"Last-Event-ID": changed["id"]})
    try:
        assert resumed.next() == {"comment": "keep-alive"}  # it has this state: none is sent
    finally:
        resumed.close()


@pytest.mark.parametrize(("path", "headers", "status", "field"), [
    ("/api/v1/events/stream", {"Last-Event-ID": "twelve"}, 400, "Last-Event-ID"),
    ("/api/v1/events/stream", {"Last-Event-ID": "-3"}, 400, "Last-Event-ID"),
    ("/api/v1/events/stream?after=x", {}, 422, "after"),
    ("/api/v1/events/stream?type=Actor.Renamed", {}, 422, "type"),
    ("/api/v1/events/stream?stream=atlantis", {}, 404, "stream"),
    ("/api/v1/events/stream?since=3", {}, 422, "since"),
    ("/api/v1/relationships/china/atlantis/stream", {}, 404, None),
    ("/api/v1/relationships/china/china/stream", {}, 422, "pair"),
    ("/api/v1/relationships/china/russia/stream", {"Last-Event-ID": "1.5"}, 400, "Last-Event-ID"),
])
def test_bad_input_is_a_problem_and_no_stream(served, path, headers, status, field):
    _, port = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert body["status"] == status
    if field:
        assert field in body["errors"]


@pytest.mark.parametrize("kind", STORES)
def test_sigterm_ends_open_streams_and_stops_the_server(kind, tmp_path):
    with fresh_store(kind, tmp_path) as store:
        app = Timeline(store)
        app.register_actor("china", "China", ActorKind.STATE)
        app.register_actor("russia", "Russia", ActorKind.STATE)
        app.close()
        with server(store) as (port, process):
            streams = [opened_at(port, "/api/v1/events/stream") for _ in range(3)]
            streams.append(opened_at(port, "/api/v1/relationships/china/russia/stream"))
            process.send_signal(signal.SIGTERM)
            # Without ending its streams, a worker would wait out gunicorn's graceful
            # timeout (30 s) and then be killed, cutting them off mid-response.
            assert process.wait(timeout=25) == 0, process.stderr.read()
            for stream in streams:
                while stream.next() is not None:  # heartbeats or the state, then the end
                    pass
                assert stream.response.isclosed()  # the chunked body ended properly
                stream.close()


def test_the_documented_consumer_resumes_across_a_server_restart(durable_store, tmp_path):
    guide = (ROOT / "docs" / "http-api.md").read_text()
    script = re.search(r"## Live feed.*?```python\n(.*?)```", guide, re.DOTALL).group(1)
    port = free_port()
    (tmp_path / "consumer.py").write_text(script.replace("localhost:8000", f"127.0.0.1:{port}"))
    app = Timeline(durable_store)
    count = iter(range(1000))

    def write() -> None:
        n = next(count)
        app.register_actor(f"actor-{n}", f"Actor {n}", ActorKind.STATE)

    consumer = subprocess.Popen([sys.executable, str(tmp_path / "consumer.py")],
                                stdout=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in consumer.stdout],
                     daemon=True).start()
    try:
        with server(durable_store, port=port):
            while True:  # it starts at the head: write until it has seen one event
                write()
                try:
                    first = int(lines.get(timeout=1).split()[0])
                    break
                except queue.Empty:
                    pass
            for _ in range(3):
                write()
        for _ in range(3):  # while no server runs
            write()
        with server(durable_store, port=port):
            for _ in range(3):
                write()
            head = app.audit.count()
            seen = [first]
            while seen[-1] < head:
                seen.append(int(lines.get(timeout=PATIENCE).split()[0]))
    finally:
        consumer.kill()
        consumer.wait()
        consumer.stdout.close()
        logged = [e["position"] for e in app.audit.events(after=first - 1, limit=1000)]
        app.close()
    assert seen == logged  # every event after the first it saw, once, in order
    assert len(seen) >= 10


# --- timeline tail ---------------------------------------------------------------------------


def test_tail_prints_the_last_positions_or_from_a_position_one_line_per_event(tmp_path):
    from click.testing import CliRunner

    from timeline.cli import main

    store = f"sqlite:///{tmp_path / 'tail.db'}"
    app = Timeline(store)
    for n in range(12):
        app.register_actor(f"actor-{n}", f"Actor {n}", ActorKind.STATE)
    logged = app.audit.events(after=0, limit=100)
    app.close()
    last = CliRunner().invoke(main, ["--store", store, "tail"])
    assert last.exit_code == 0, last.output
    lines = last.output.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(n) for n in range(3, 13)]
    _, recorded_at, kind, stream_id, recorded_by = lines[-1].split("\t")
    assert (kind, stream_id, recorded_by) == (
        "Actor.Registered", str(actor_stream_id("actor-11")), "timeline")
    assert recorded_at == logged[-1]["recorded_at"]
    after = CliRunner().invoke(main, ["--store", store, "tail", "--after", "10"])
    assert [line.split("\t")[0] for line in after.output.splitlines()] == ["11", "12"]


def test_tail_follow_prints_what_other_processes_write(durable_store):
    app = Timeline(durable_store)
    app.register_actor("china", "China", ActorKind.STATE)
    tail = subprocess.Popen(
        [sys.executable, "-m", "timeline.cli", "--store", durable_store, "tail", "--follow"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    watchdog = threading.Timer(PATIENCE * 4, tail.kill)  # a lost line fails, never hangs
    watchdog.start()
    try:
        assert tail.stdout.readline().startswith("1\t")  # the log so far, then it follows
        app.register_actor("russia", "Russia", ActorKind.STATE)
        app.register_actor("belarus", "Belarus", ActorKind.STATE)
        followed = [tail.stdout.readline().split("\t") for _ in range(2)]
        assert [(line[0], line[3]) for line in followed] == [
            ("2", str(actor_stream_id("russia"))), ("3", str(actor_stream_id("belarus")))]
    finally:
        tail.send_signal(signal.SIGINT)  # Ctrl-C ends a follow quietly
        assert tail.wait(timeout=30) == 0, tail.stderr.read()
        watchdog.cancel()
        tail.stdout.close()
        tail.stderr.close()
        app.close()
