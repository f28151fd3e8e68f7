"""PostgreSQL in production, with real processes: the worker and the API outlive their database
connections, and an idempotent write killed half-way can be retried into exactly one
development."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from tests.conftest import POSTGRES, SEEDS, content, fresh_store
from tests.helpers import DEVELOPMENT
from timeline.application import Timeline
from timeline.seeding import seed
from timeline.vocabulary import ActorKind

ROOT = Path(__file__).resolve().parents[2]
TIMELINE = str(Path(sys.executable).parent / "timeline")


def wait_for(condition, timeout: float = 60.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(every)


def terminate_connections(application_name: str) -> int:
    """What a failover or a server restart does to a process's connections."""
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s", (application_name,),
        ).fetchall()
    return len(rows)


def connections_of(application_name: str) -> int:
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        return connection.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchone()[0]


def test_the_worker_survives_its_connections_being_terminated_and_catches_up():
    with fresh_store("postgres") as url:
        app = Timeline(url)
        app.register_actor("china", "China", ActorKind.STATE)
        app.register_actor("russia", "Russia", ActorKind.STATE)
        name = f"worker-{uuid4().hex[:8]}"
        worker = subprocess.Popen(
            [TIMELINE, "--store", url, "worker"], cwd=ROOT, env={**os.environ, "PGAPPNAME": name},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            wait_for(lambda: app.read_model.lag() == 0 and connections_of(name) > 0)
            assert terminate_connections(name) > 0
            for _ in range(20):  # written while the worker has no connection
                app.record_development(content())
            wait_for(lambda: app.read_model.lag() == 0)
            assert worker.poll() is None, "the worker exited"
            assert app.read_model.view.count_versions() == 20
        finally:
            worker.send_signal(signal.SIGTERM)
            _, stderr = worker.communicate(timeout=30)
            app.close()
        assert worker.returncode == 0, stderr
        assert "Connection lost" in stderr and "reconnecting in 0.5 s (attempt 1)" in stderr
        assert stderr.count("Following the log") >= 2, stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def api(url: str, name: str, **env: str) -> Iterator[int]:
    """`timeline serve` on a PostgreSQL store, its connections named `name`; yields the port."""
    port = free_port()
    server = subprocess.Popen(
        [TIMELINE, "--store", url, "serve", "--port", str(port)], cwd=ROOT,
        env={**os.environ, "PGAPPNAME": name, **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for(lambda: server.poll() is not None or answers(port), timeout=60)
        assert server.poll() is None, server.communicate()[0]
        yield port
    finally:
        server.terminate()
        server.communicate(timeout=30)


def answers(port: int) -> bool:
    try:
        return call(port, "GET", "/healthz")[0] == 200
    except OSError:
        return False


def call(port: int, method: str, path: str, body: dict | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = json.dumps(body) if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})} if data else headers or {}
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else {}, dict(response.getheaders())
    finally:
        connection.close()


READS = ["/api/v1/relationships/china/russia", "/api/v1/actors",
         "/api/v1/developments?actor=china&limit=5", "/api/v1/relationships?actor=russia",
         "/healthz"]


@pytest.mark.parametrize("options", ["", "&pre_ping=off&pool_size=1&max_overflow=0"],
                         ids=["pre-ping", "single-retry"])
def test_the_api_answers_every_request_after_its_connections_are_terminated(options):
    """With pre-ping (the default) a dead pooled connection is replaced before use; without
    it, the documented single retry of a read answers instead."""
    with fresh_store("postgres") as url:
        app = Timeline(url)
        seed(app, SEEDS)
        app.close()
        name = f"api-{uuid4().hex[:8]}"
        with api(url + options, name) as port:
            for path in READS:
                assert call(port, "GET", path)[0] == 200
            for _ in range(3):
                assert terminate_connections(name) > 0
                statuses = [call(port, "GET", path)[0] for path in READS]
                assert statuses == [200] * len(READS)


def write_token(url: str) -> str:
    app = Timeline(url)
    try:
        seed(app, SEEDS)
        return app.access.create_token("writer")
    finally:
        app.close()


def recorded_with(url: str, summary: str) -> list[str]:
    app = Timeline(url)
    try:
        return [d["id"] for d in app.list_developments(limit=500) if d["summary"] == summary]
    finally:
        app.close()


@pytest.mark.parametrize("crash_at", ["after-claim", "after-insert"])
def test_a_write_killed_half_way_is_retried_into_exactly_one_development(crash_at):
    with fresh_store("postgres") as url:
        token = write_token(url)
        summary = f"China sends rifle scopes to Russia ({crash_at})."
        body = {**DEVELOPMENT, "summary": summary}
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "scopes-1"}
        lease = {"TIMELINE_IDEMPOTENCY_LEASE": "2"}
        with (
            api(url, "crashing", TIMELINE_TEST_CRASH_AT=crash_at, **lease) as port,
            pytest.raises((http.client.RemoteDisconnected, ConnectionError)),
        ):
            call(port, "POST", "/api/v1/developments", body, headers)
        recorded = recorded_with(url, summary)
        assert len(recorded) == (1 if crash_at == "after-insert" else 0)

        with api(url, "retrying", **lease) as port:
            status, first, sent = call(port, "POST", "/api/v1/developments", body, headers)
            if status == 409:  # the dead request's lease still holds the key, for a while
                assert crash_at == "after-claim" and 1 <= int(sent["Retry-After"]) <= 2, first
                time.sleep(int(sent["Retry-After"]))
                status, first, sent = call(port, "POST", "/api/v1/developments", body, headers)
            assert status == 201, first
            assert first["summary"] == summary
            assert sent.get("Idempotent-Replayed") == (
                "true" if crash_at == "after-insert" else None)
            status, again, sent = call(port, "POST", "/api/v1/developments", body, headers)
            assert (status, again["id"], sent["Idempotent-Replayed"]) == (201, first["id"], "true")
        assert recorded_with(url, summary) == [first["id"]]
        if recorded:
            assert recorded == [first["id"]]
