"""Idempotency leases and their expiry, and reads that do not wait for writers, on both stores."""

from __future__ import annotations

import time

import psycopg
import pytest

from api import create_app
from api.idempotency import (
    Claim,
    Earlier,
    IdempotencyMismatch,
    IdempotencyRecords,
    LeaseLost,
    RequestInProgress,
)
from tests.conftest import POSTGRES, SEEDS, content, fresh_store
from tests.helpers import DEVELOPMENT
from timeline.postgres import VIEW_LOCK
from timeline.readmodel import ViewBehind
from timeline.seeding import seed


@pytest.fixture
def records(app) -> IdempotencyRecords:
    kept = app.factory.access_recorder(IdempotencyRecords)
    kept.lease = 0.3
    return kept


def test_a_lapsed_lease_is_taken_over_and_its_first_holder_can_no_longer_record(app, records):
    first = records.claim("writer", "key-1", "request")
    assert isinstance(first, Claim)
    with pytest.raises(RequestInProgress):
        records.claim("writer", "key-1", "request")
    time.sleep(0.35)
    second = records.claim("writer", "key-1", "request")
    assert isinstance(second, Claim) and second.claimant != first.claimant

    events = app.audit.count()
    with app.saving_with(idempotency=first), pytest.raises(LeaseLost):
        app.record_development(content())
    assert app.audit.count() == events  # rolled back with the events: no duplicate

    with app.saving_with(idempotency=second):
        ident = app.record_development(content())
        position = app.last_position()
    assert position == app.audit.count()
    time.sleep(0.35)  # the lease lapses, but the key has a result: it is never taken over
    assert records.claim("writer", "key-1", "request") == Earlier(str(ident), None, None)
    with pytest.raises(IdempotencyMismatch):
        records.claim("writer", "key-1", "another request")


def test_records_expire_after_their_time_and_are_pruned(app, records):
    records.expiry = 0.3
    claim = records.claim("writer", "key-1", "request")
    records.complete(claim, 201, {"body": "{}", "mimetype": "application/json", "headers": {}})
    assert isinstance(records.claim("writer", "key-1", "request"), Earlier)
    kept = records.claim("writer", "key-2", "request")
    records.complete(kept, 201, {"body": "{}", "mimetype": "application/json", "headers": {}})
    time.sleep(0.35)
    # An expired key starts afresh, even for another request.
    assert isinstance(records.claim("writer", "key-1", "another request"), Claim)
    assert records.prune() == 1  # key-2; key-1 holds a fresh lease
    assert isinstance(records.claim("writer", "key-2", "another request"), Claim)


def test_a_write_answers_its_position_and_a_read_with_min_position_sees_it(store):
    flask_app = create_app({"STORE": store, "TESTING": True})
    timeline = flask_app.extensions["timeline"]
    seed(timeline, SEEDS)
    auth = {"Authorization": f"Bearer {timeline.access.create_token('desk')}"}
    client = flask_app.test_client()
    written = client.post("/api/v1/developments", json=DEVELOPMENT, headers=auth)
    position = int(written.headers["Timeline-Position"])
    assert position == timeline.audit.count()
    read = client.get(f"/api/v1/developments?actor=sergei-lavrov&min_position={position}")
    assert read.status_code == 200
    assert int(read.headers["Timeline-Position"]) >= position
    assert read.headers["Timeline-Lag"] == "0"
    assert written.get_json()["id"] in [d["id"] for d in read.get_json()["developments"]]
    beyond = client.get(f"/api/v1/actors?min_position={position + 1}")
    assert beyond.status_code == 422 and "min_position" in beyond.get_json()["errors"]
    timeline.close()


def test_on_postgresql_a_read_does_not_queue_behind_another_catch_up():
    """While another process holds the view's lock (the worker applying an event), a read
    answers at once from the view as it is and says its lag; min_position waits, bounded."""
    with fresh_store("postgres") as url:
        flask_app = create_app({"STORE": url, "TESTING": True, "MIN_POSITION_WAIT": 0.3})
        app = flask_app.extensions["timeline"]
        seed(app, SEEDS)
        client = flask_app.test_client()
        ident = app.record_development(content(summary="Written while the view is locked."))
        head = app.audit.count()
        with psycopg.connect(url.split("?")[0], autocommit=True) as other:
            schema = url.split("schema=")[1]
            other.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (VIEW_LOCK, schema))
            started = time.monotonic()
            read = client.get("/api/v1/developments?actor=china&limit=500")
            assert time.monotonic() - started < 5
            assert read.status_code == 200
            assert (read.headers["Timeline-Position"], read.headers["Timeline-Lag"]) == (
                str(head - 1), "1")
            assert str(ident) not in [d["id"] for d in read.get_json()["developments"]]
            waited = client.get(f"/api/v1/developments?actor=china&min_position={head}")
            assert waited.status_code == 503 and waited.headers["Retry-After"] == "1"
            with pytest.raises(ViewBehind):
                app.read_model.reach(head, 0.1)
            other.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (VIEW_LOCK, schema))
        read = client.get(f"/api/v1/developments?actor=china&limit=500&min_position={head}")
        assert read.status_code == 200 and read.headers["Timeline-Lag"] == "0"
        assert str(ident) in [d["id"] for d in read.get_json()["developments"]]
        app.close()


def test_store_urls_take_pre_ping_and_read_catch_up():
    from timeline.store import StoreError, persistence_env

    env = persistence_env(f"{POSTGRES}?pre_ping=off&read_catch_up=all")
    assert (env["POSTGRES_PRE_PING"], env["TIMELINE_READ_CATCH_UP"]) == ("off", "all")
    env = persistence_env(POSTGRES)
    # No setting of its own: the read model's default (READ_CATCH_UP), and the worker projects.
    assert (env["POSTGRES_PRE_PING"], env["TIMELINE_PROJECTOR"]) == ("on", "worker")
    assert "TIMELINE_READ_CATCH_UP" not in env
    with pytest.raises(StoreError, match="pre_ping"):
        persistence_env(f"{POSTGRES}?pre_ping=maybe")


def analysed_tables(url: str) -> set[str]:
    schema = url.split("schema=")[1]
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = %s"
            " AND last_analyze IS NOT NULL", (schema,),
        ).fetchall()
    return {name for (name,) in rows}


def forget_statistics_times(url: str) -> None:
    schema = url.split("schema=")[1]
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_stat_reset_single_table_counters(relid) FROM pg_stat_user_tables"
            " WHERE schemaname = %s", (schema,),
        )


FILLED = {"timeline_events", "event_hashes", "development_versions", "development_links"}


def test_bulk_commands_analyse_the_tables_they_filled(tmp_path):
    from click.testing import CliRunner

    from timeline.cli import main

    def analysed_after(url: str, *args: str) -> set[str]:
        forget_statistics_times(url)
        result = CliRunner().invoke(main, ["--store", url, *args])
        assert result.exit_code == 0, result.output
        found: set[str] = set()

        def seen() -> bool:  # statistics reach other sessions within about a second
            found.update(analysed_tables(url))
            return FILLED <= found

        deadline = time.monotonic() + 15
        while not seen() and time.monotonic() < deadline:
            time.sleep(0.2)
        return found

    exported = tmp_path / "log.ndjson"
    with fresh_store("postgres") as url, fresh_store("postgres") as other:
        assert FILLED <= analysed_after(url, "seed")
        assert FILLED <= analysed_after(url, "migrate")
        assert FILLED <= analysed_after(url, "project", "--rebuild")
        assert CliRunner().invoke(main, ["--store", url, "export", "-o", str(exported)]).exit_code == 0
        assert FILLED <= analysed_after(other, "import", str(exported))


def test_a_read_on_a_dead_connection_is_retried_once_on_a_fresh_one(monkeypatch, caplog):
    """Without pre-ping, the pool hands out the dead connection: the read fails on it, and its
    one retry answers. A write is not retried."""
    name = f"retry-{time.monotonic_ns()}"
    monkeypatch.setenv("PGAPPNAME", name)
    with fresh_store("postgres") as url:
        flask_app = create_app({"STORE": url + "&pre_ping=off&pool_size=1&max_overflow=0",
                                "TESTING": True})
        app = flask_app.extensions["timeline"]
        seed(app, SEEDS)
        client = flask_app.test_client()
        assert client.get("/api/v1/relationships/china/russia").status_code == 200
        with psycopg.connect(POSTGRES, autocommit=True, application_name="killer") as other:
            killed = other.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s", (name,)).fetchall()
        assert killed
        assert client.get("/api/v1/relationships/china/russia").status_code == 200
        assert "trying once more" in caplog.text
        app.close()
