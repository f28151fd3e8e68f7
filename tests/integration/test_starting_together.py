"""Server workers starting together on a store that `timeline seed` made, which has no tables
of the API yet (idempotency records): while one creates them, the others wait their turn,
find them made, and start. On SQLite one of them sometimes failed to start ("database is
locked", at once), and gunicorn's master shut the whole server down with it; on PostgreSQL
the schema lock already made them take turns."""

from __future__ import annotations

import threading
import time

from api.idempotency import IdempotencyRecords
from tests.integration.test_audit import Raw
from timeline.application import Timeline
from timeline.postgres import SCHEMA_LOCK

# The table as the other worker creates it (see IdempotencyRecords.table_statements).
IDEMPOTENCY_RECORDS = (
    "CREATE TABLE idempotency_records (token TEXT NOT NULL, key TEXT NOT NULL,"
    " request TEXT NOT NULL, claimant TEXT NOT NULL, lease_until DOUBLE PRECISION NOT NULL,"
    " result TEXT, status INTEGER, response TEXT, created_at DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (token, key))"
)


def test_a_worker_creating_the_api_tables_while_another_does_starts(durable_store):
    app = Timeline(durable_store)  # the store as `timeline seed` leaves it
    raw = Raw(durable_store)
    other = raw.connect()  # the other worker, creating the table in its own transaction
    if raw.postgres:
        other.autocommit = False
        other.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
    else:
        other.execute("BEGIN IMMEDIATE")
    other.execute(IDEMPOTENCY_RECORDS)
    found: dict[str, object] = {}

    def start() -> None:  # this worker, opening the store meanwhile (as create_app does)
        try:
            found["recorder"] = app.factory.access_recorder(IdempotencyRecords)
        except Exception as error:  # noqa: BLE001 - the test reports what it was
            found["error"] = error

    worker = threading.Thread(target=start)
    worker.start()
    time.sleep(0.5)  # it waits for the other's transaction
    other.commit()
    worker.join(30)
    other.close()
    assert "error" not in found, found.get("error")
    recorder = found["recorder"]
    assert recorder.claim("token-1", "key-1", "POST /developments").__class__.__name__ == "Claim"
    app.close()
