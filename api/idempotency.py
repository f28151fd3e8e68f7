"""Idempotent retries of writes: the response to each (token, Idempotency-Key), kept beside the
events so that a retried request gets the first response again and records nothing new.

An HTTP concern, so it lives with the API; its table is made by the store's factory like the
core's own tables (see timeline.store.Tables).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from timeline.domain import Conflict, InvalidInput
from timeline.store import Tables


class IdempotencyMismatch(InvalidInput):
    """The idempotency key was used before with a different request."""


class RequestInProgress(Conflict):
    """A request with this idempotency key is still being processed."""


class IdempotencyRecords(Tables):
    """Claimed keys and the responses they got (SQL for both stores)."""

    TABLES = ("idempotency_keys",)
    datastore: Any

    def table_statements(self) -> list[str]:
        return [
            self.sql("""CREATE TABLE IF NOT EXISTS {idempotency_keys} (
                token TEXT NOT NULL, key TEXT NOT NULL, request TEXT NOT NULL,
                status INTEGER, response TEXT, created_at TEXT NOT NULL,
                PRIMARY KEY (token, key))"""),
        ]

    def reserve(self, token: str, key: str, request: str) -> dict[str, Any] | None:
        """Claim an idempotency key for a request; returns the stored response of an earlier
        identical request, or None when this request is the first and should proceed."""
        now = datetime.now(UTC).isoformat()
        try:
            with self.datastore.transaction(commit=True) as c:
                c.execute(
                    self.sql(
                        "INSERT INTO {idempotency_keys} (token, key, request, created_at)"
                        " VALUES (?, ?, ?, ?)"
                    ),
                    (token, key, request, now),
                )
            return None
        except IntegrityError:
            pass
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql(
                    "SELECT request, status, response FROM {idempotency_keys}"
                    " WHERE token = ? AND key = ?"
                ),
                (token, key),
            )
            row = c.fetchone()
        if row is None:  # released in the meantime: try again
            return self.reserve(token, key, request)
        if row["request"] != request:
            raise IdempotencyMismatch(
                "this Idempotency-Key was used with a different request", "Idempotency-Key"
            )
        if row["status"] is None:
            raise RequestInProgress("a request with this Idempotency-Key is in progress")
        return {"status": row["status"], **json.loads(row["response"])}

    def complete(self, token: str, key: str, status: int, response: dict[str, Any]) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "UPDATE {idempotency_keys} SET status = ?, response = ?"
                    " WHERE token = ? AND key = ?"
                ),
                (status, json.dumps(response), token, key),
            )

    def release(self, token: str, key: str) -> None:
        """Forget a reservation whose request failed, so that a retry runs it again."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "DELETE FROM {idempotency_keys} WHERE token = ? AND key = ? AND status IS NULL"
                ),
                (token, key),
            )
