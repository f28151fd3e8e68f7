"""Bearer tokens: immutable records keyed by their own id, with a label, a scope and an expiry.

A token is not part of the history, so it is not an event: it is a secret, and only its hash is
kept, beside the events. The events a token causes record its id; its label (who or what uses
it) is fixed when it is made, so the record tells an event's label at that time for as long as
the store lives. Revoking marks the record and keeps it, so a label may be given to a new token
without touching what the old one did.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from timeline.domain import AlreadyExists, InvalidInput, NotFound
from timeline.store import Tables

TOKEN_PREFIX = "tl_"
ID_PREFIX = "tok_"
MAX_LABEL = 100


class Scope(StrEnum):
    """What a token may do; each scope includes the ones before it."""

    READ = "read"  # read the API where reads, or the raw log, require a token
    WRITE = "write"  # record and change developments and actors
    ADMIN = "admin"  # see token labels in the log

    def grants(self, needed: Scope) -> bool:
        order = list(Scope)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True)
class Token:
    """A token's record, as kept: never its secret."""

    id: str
    label: str
    scope: Scope
    created_at: str
    expires_at: str | None
    revoked_at: str | None

    def state(self, now: datetime) -> str:
        """active, expired or revoked (at `now`)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and datetime.fromisoformat(self.expires_at) <= now:
            return "expired"
        return "active"


DURATION = re.compile(r"^([1-9][0-9]{0,4})([hdw])$")
UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """`90d`, `12h` or `2w` as a timedelta."""
    match = DURATION.match(text.strip())
    if match is None:
        raise InvalidInput(
            f"{text!r} is not a duration: a number and h, d or w, such as 90d", "expires"
        )
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def now_utc() -> datetime:
    return datetime.now(UTC)


class Tokens(Tables):
    """Token records in the store's own database (SQL for both stores)."""

    TABLES = ("access_tokens", "tokens")
    datastore: Any
    COLUMNS = "id, label, scope, created_at, expires_at, revoked_at"

    def table_statements(self) -> list[str]:
        return [
            self.sql("""CREATE TABLE IF NOT EXISTS {access_tokens} (
                id TEXT PRIMARY KEY, label TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
                scope TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT,
                revoked_at TEXT)"""),
            # One unrevoked token per label, so that a label names one token at a time.
            self.sql("""CREATE UNIQUE INDEX IF NOT EXISTS access_tokens_unrevoked_label
                ON {access_tokens} (label) WHERE revoked_at IS NULL"""),
            # The name-keyed table of earlier versions, whose tokens are adopted (see below).
            self.sql("""CREATE TABLE IF NOT EXISTS {tokens} (
                name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL, revoked_at TEXT)"""),
        ]

    def create_table(self) -> None:
        super().create_table()  # type: ignore[misc]
        self.adopt_name_keyed_tokens()

    def adopt_name_keyed_tokens(self) -> int:
        """Adopt the tokens of the name-keyed table of earlier versions as write tokens (the
        only kind there was), each keyed by an id derived from its hash, so that processes
        adopting at once agree; their secrets keep working. The table stays, empty, so that
        tokens an older Timeline sharing the store makes later are adopted on the next start.
        Every process runs this when it starts, so it writes only when there is something to
        adopt: a write here would contend with the writers already running."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql("SELECT COUNT(*) AS n FROM {tokens}"))
            found = c.fetchone()["n"]
        if not found:
            return 0
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.sql(f"""INSERT INTO {{access_tokens}} (id, label, hash, scope,
                created_at, revoked_at) SELECT '{ID_PREFIX}' || substr(hash, 1, 16), name,
                hash, 'write', created_at, revoked_at FROM {{tokens}} WHERE true
                ON CONFLICT DO NOTHING"""))
            c.execute(self.sql("DELETE FROM {tokens}"))
        return found

    @staticmethod
    def _token(row: Any) -> Token:
        return Token(row["id"], row["label"], Scope(row["scope"]), row["created_at"],
                     row["expires_at"], row["revoked_at"])

    def create_token(
        self, label: str, scope: Scope | str = Scope.WRITE, expires_in: timedelta | None = None
    ) -> str:
        """A new token's secret (see issue)."""
        return self.issue(label, scope, expires_in)[1]

    def issue(
        self, label: str, scope: Scope | str = Scope.WRITE, expires_in: timedelta | None = None
    ) -> tuple[Token, str]:
        """A new token and its secret: the secret is returned once and only its hash is
        kept."""
        if not label.strip() or len(label) > MAX_LABEL:
            raise InvalidInput(f"a token needs a name of 1 to {MAX_LABEL} characters", "name")
        if label.startswith(ID_PREFIX):
            # `token revoke` takes an id or a name: a name shaped like an id would be both.
            raise InvalidInput(f"a token's name may not begin with {ID_PREFIX!r}", "name")
        try:
            scope = Scope(scope)
        except ValueError:
            raise InvalidInput(
                f"{scope!r} is not a scope: use {', '.join(Scope)}", "scope"
            ) from None
        if expires_in is not None and expires_in <= timedelta(0):
            raise InvalidInput("an expiry must lie in the future", "expires")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = now_utc()
        expires_at = None if expires_in is None else (now + expires_in).isoformat()
        token = Token(ID_PREFIX + secrets.token_hex(8), label, scope, now.isoformat(),
                      expires_at, None)
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql("SELECT id FROM {access_tokens} WHERE label = ? AND revoked_at IS NULL"),
                (label,),
            )
            if c.fetchone() is not None:
                raise AlreadyExists(f"a token named {label!r} exists; revoke it first", "name")
            c.execute(
                self.sql(
                    "INSERT INTO {access_tokens} (id, label, hash, scope, created_at, expires_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)"
                ),
                (token.id, label, digest(secret), scope.value, token.created_at, expires_at),
            )
        return token, secret

    def list_tokens(self) -> list[Token]:
        """Every token ever made, revoked ones included, oldest first."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql(
                f"SELECT {self.COLUMNS} FROM {{access_tokens}} ORDER BY created_at, id"
            ))
            return [self._token(row) for row in c.fetchall()]

    def revoke_token(self, reference: str) -> Token:
        """Revoke at once the token with this id, or the unrevoked token with this name;
        revoking a revoked token changes nothing. The record is kept."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "UPDATE {access_tokens} SET revoked_at = ?"
                    " WHERE (id = ? OR label = ?) AND revoked_at IS NULL"
                ),
                (now_utc().isoformat(), reference, reference),
            )
            c.execute(
                self.sql(
                    f"SELECT {self.COLUMNS} FROM {{access_tokens}} WHERE id = ? OR label = ?"
                    " ORDER BY revoked_at DESC LIMIT 1"
                ),
                (reference, reference),
            )
            row = c.fetchone()
            if row is None:
                raise NotFound(f"no token with the id or name {reference!r}", "name")
            return self._token(row)

    def authenticate(self, secret: str) -> Token | None:
        """The token with this secret if it is neither revoked nor expired, else None."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql(f"SELECT {self.COLUMNS} FROM {{access_tokens}} WHERE hash = ?"),
                (digest(secret),),
            )
            row = c.fetchone()
        if row is None:
            return None
        token = self._token(row)
        return token if token.state(now_utc()) == "active" else None

    def labels(self, ids: set[str]) -> dict[str, str]:
        """The label of each of these token ids that names a token."""
        if not ids:
            return {}
        ids_list = sorted(ids)
        marks = ", ".join("?" * len(ids_list))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql(f"SELECT id, label FROM {{access_tokens}} WHERE id IN ({marks})"),
                ids_list,
            )
            return {row["id"]: row["label"] for row in c.fetchall()}
