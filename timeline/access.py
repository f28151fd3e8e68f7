"""Write access kept beside the events: bearer tokens (stored hashed) and idempotency records.

Neither is part of the history, so neither is an event: a token is a secret, and an idempotency
record only remembers the response to a request so that a retry gets it again.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteRecorder

from timeline.domain import AlreadyExists, Conflict, InvalidInput, NotFound
from timeline.store import Dialect, SQLiteDialect

TOKEN_PREFIX = "tl_"


class IdempotencyMismatch(InvalidInput):
    """The idempotency key was used before with a different request."""


class RequestInProgress(Conflict):
    """A request with this idempotency key is still being processed."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Access(Dialect):
    """Tokens and idempotency records, in the store's own database (SQL for both stores)."""

    TABLES = ("tokens", "idempotency_keys")
    datastore: Any

    def access_statements(self) -> list[str]:
        return [
            self.sql("""CREATE TABLE IF NOT EXISTS {tokens} (
                name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL, revoked_at TEXT)"""),
            self.sql("""CREATE TABLE IF NOT EXISTS {idempotency_keys} (
                token TEXT NOT NULL, key TEXT NOT NULL, request TEXT NOT NULL,
                status INTEGER, response TEXT, created_at TEXT NOT NULL,
                PRIMARY KEY (token, key))"""),
        ]

    # --- tokens -----------------------------------------------------------------------------

    def create_token(self, name: str) -> str:
        """A new token for `name`; the secret is returned once and only its hash is kept."""
        if not name.strip() or len(name) > 100:
            raise InvalidInput("a token needs a name of 1 to 100 characters", "name")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC).isoformat()
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.sql("SELECT revoked_at FROM {tokens} WHERE name = ?"), (name,))
            row = c.fetchone()
            if row is not None and row["revoked_at"] is None:
                raise AlreadyExists(f"a token named {name!r} exists; revoke it first", "name")
            # A revoked name may be used again: events keep the name, not the token.
            c.execute(
                self.sql(
                    "INSERT INTO {tokens} (name, hash, created_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET hash = excluded.hash,"
                    " created_at = excluded.created_at, revoked_at = NULL"
                ),
                (name, digest(secret), now),
            )
        return secret

    def list_tokens(self) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql("SELECT name, created_at, revoked_at FROM {tokens} ORDER BY name"))
            return [dict(row) for row in c.fetchall()]

    def revoke_token(self, name: str) -> None:
        """Revoke the named token at once; revoking a revoked token changes nothing."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql("UPDATE {tokens} SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL"),
                (datetime.now(UTC).isoformat(), name),
            )
            c.execute(self.sql("SELECT revoked_at FROM {tokens} WHERE name = ?"), (name,))
            if c.fetchone() is None:
                raise NotFound(f"no token named {name!r}", "name")

    def authenticate(self, secret: str) -> str | None:
        """The name of the active token with this secret, or None."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql("SELECT name FROM {tokens} WHERE hash = ? AND revoked_at IS NULL"),
                (digest(secret),),
            )
            row = c.fetchone()
            return None if row is None else row["name"]

    # --- idempotency ------------------------------------------------------------------------

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


class AccessRecorder(Access, SQLiteDialect, SQLiteRecorder):
    """Tokens and idempotency records on SQLite."""

    def construct_create_table_statements(self) -> list[str]:
        return self.access_statements()
