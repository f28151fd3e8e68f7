"""Idempotent retries of writes: each (token, Idempotency-Key) is a lease while its request runs,
and its result is written in the same transaction as the events it records, so that a retry
finds the first answer (or the recorded result) and records nothing new, even after a crash.

An HTTP concern, so it lives with the API; its table is made by the store's factory like the
core's own tables (see timeline.store.Tables), and its result row goes through the recorder's
insert (timeline.store.EventLog.record_beside), as eventsourcing's searchabletimestamps example
writes its extra rows.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import uuid4

from eventsourcing.persistence import IntegrityError, StoredEvent

from timeline.domain import Conflict, InvalidInput
from timeline.store import Tables

LEASE_SECONDS = 30.0  # how long a claim holds its key before a retry may take it over
EXPIRY_SECONDS = 24 * 3600.0  # how long a key's record is kept (then a key may be used again)
PRUNE_EVERY_SECONDS = 60.0  # how often a process deletes expired records


class IdempotencyMismatch(InvalidInput):
    """The idempotency key was used before with a different request."""


class RequestInProgress(Conflict):
    """A request with this idempotency key holds its lease; retry after it ends."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("a request with this Idempotency-Key is in progress")
        self.retry_after = retry_after


class LeaseLost(Conflict):
    """The claim's lease lapsed and another request took the key over: this one records
    nothing (the events' transaction is rolled back), so the key yields one result."""


class Claim(NamedTuple):
    """A request's hold on its key; `claimant` tells this holder from a later one."""

    token: str
    key: str
    claimant: str
    records: IdempotencyRecords

    def record(self, c: Any, stored_events: list[StoredEvent]) -> None:
        """In the transaction that inserts the events: note the aggregate they belong to as
        this key's result, if the lease is still ours; otherwise abort the transaction."""
        result = str(stored_events[0].originator_id)
        c.execute(
            self.records.sql(
                "UPDATE {idempotency_records} SET result = ? WHERE token = ? AND key = ?"
                " AND claimant = ? RETURNING key"
            ),
            (result, self.token, self.key, self.claimant),
        )
        if c.fetchone() is None:
            raise LeaseLost(
                "this request's Idempotency-Key lease lapsed and another request took it over"
            )


@dataclass(frozen=True)
class Earlier:
    """What an earlier request with the same key left: its response, or, if it was recorded
    but died before answering, only its result (the id of what it recorded)."""

    result: str | None
    status: int | None
    response: dict[str, Any] | None


class IdempotencyRecords(Tables):
    """Claimed keys, their leases, results and responses (SQL for both stores)."""

    TABLES = ("idempotency_records", "idempotency_keys")
    datastore: Any
    lease = LEASE_SECONDS
    expiry = EXPIRY_SECONDS
    _pruned_at = 0.0

    def table_statements(self) -> list[str]:
        return [
            # The records before leases (no lease, no result): in-progress claims there
            # could never end, and completed ones are only a retry cache.
            self.sql("DROP TABLE IF EXISTS {idempotency_keys}"),
            self.sql("""CREATE TABLE IF NOT EXISTS {idempotency_records} (
                token TEXT NOT NULL, key TEXT NOT NULL, request TEXT NOT NULL,
                claimant TEXT NOT NULL, lease_until DOUBLE PRECISION NOT NULL,
                result TEXT, status INTEGER, response TEXT,
                created_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (token, key))"""),
            self.sql("CREATE INDEX IF NOT EXISTS idempotency_records_created"
                     " ON {idempotency_records} (created_at)"),
        ]

    def claim(self, token: str, key: str, request: str) -> Claim | Earlier:
        """Claim a key for a request, for `lease` seconds; or what an earlier identical request
        left. A lapsed lease whose request recorded nothing is taken over; a record older than
        `expiry` is forgotten and the key starts afresh."""
        now = time.time()
        if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self.prune(now)
        claim = Claim(token, key, uuid4().hex, self)
        try:
            with self.datastore.transaction(commit=True) as c:
                c.execute(
                    self.sql(
                        "INSERT INTO {idempotency_records} (token, key, request, claimant,"
                        " lease_until, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                    ),
                    (token, key, request, claim.claimant, now + self.lease, now),
                )
            return claim
        except IntegrityError:
            pass
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql(
                    "SELECT request, claimant, lease_until, result, status, response, created_at"
                    " FROM {idempotency_records} WHERE token = ? AND key = ?"
                ),
                (token, key),
            )
            row = c.fetchone()
        if row is None:  # released or pruned in the meantime: try again
            return self.claim(token, key, request)
        expired = row["created_at"] + self.expiry <= now
        if not expired:
            if row["request"] != request:
                raise IdempotencyMismatch(
                    "this Idempotency-Key was used with a different request", "Idempotency-Key"
                )
            if row["status"] is not None:
                return Earlier(row["result"], row["status"], json.loads(row["response"]))
            if row["result"] is not None:
                return Earlier(row["result"], None, None)
            if row["lease_until"] > now:
                raise RequestInProgress(max(1, math.ceil(row["lease_until"] - now)))
        # An expired record, or a lapsed lease that recorded nothing: take the key over, unless
        # someone else did first (then look again).
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "UPDATE {idempotency_records} SET request = ?, claimant = ?,"
                    " lease_until = ?, created_at = ?, result = NULL, status = NULL,"
                    " response = NULL WHERE token = ? AND key = ? AND claimant = ?"
                    + ("" if expired else " AND result IS NULL") + " RETURNING key"
                ),
                (request, claim.claimant, now + self.lease, now, token, key, row["claimant"]),
            )
            taken = c.fetchone() is not None
        return claim if taken else self.claim(token, key, request)

    def complete(self, claim: Claim, status: int, response: dict[str, Any]) -> None:
        """Keep the response, so that a retry gets it again."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "UPDATE {idempotency_records} SET status = ?, response = ?"
                    " WHERE token = ? AND key = ? AND claimant = ?"
                ),
                (status, json.dumps(response), claim.token, claim.key, claim.claimant),
            )

    def release(self, claim: Claim) -> None:
        """Forget a claim whose request failed before recording anything, so that a retry
        runs it again at once."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "DELETE FROM {idempotency_records} WHERE token = ? AND key = ?"
                    " AND claimant = ? AND result IS NULL"
                ),
                (claim.token, claim.key, claim.claimant),
            )

    def prune(self, now: float | None = None) -> int:
        """Delete the records older than `expiry` whose lease has ended; returns how many."""
        now = time.time() if now is None else now
        self._pruned_at = now
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "DELETE FROM {idempotency_records} WHERE created_at <= ? AND lease_until < ?"
                    " RETURNING key"
                ),
                (now - self.expiry, now),
            )
            return len(c.fetchall())
