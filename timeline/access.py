"""Bearer tokens for writing, kept (hashed) beside the events.

A token is not part of the history, so it is not an event: it is a secret, and only its hash is
kept. The events a token causes record its name.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from timeline.domain import AlreadyExists, InvalidInput, NotFound
from timeline.store import Tables

TOKEN_PREFIX = "tl_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Tokens(Tables):
    """Tokens in the store's own database (SQL for both stores)."""

    TABLES = ("tokens",)
    datastore: Any

    def table_statements(self) -> list[str]:
        return [
            self.sql("""CREATE TABLE IF NOT EXISTS {tokens} (
                name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL, revoked_at TEXT)"""),
        ]

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
