"""The event store: one setting, TIMELINE_STORE, mapped onto eventsourcing's persistence modules.

`sqlite:///timeline.db` (a file, relative to the working directory; `sqlite:////abs/path.db`
for an absolute path) is the default; `memory://` is a private in-memory SQLite database for
tests and experiments. PostgreSQL (`postgresql://...`) is planned and refused clearly until then.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import date
from enum import Enum
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from eventsourcing.persistence import JSONTranscoder, StoredEvent, Transcoding
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from timeline.audit import GENESIS, LogFileError, LoggedEvent, chain_hash
from timeline.domain import Content, PartialDate, Participation, Source
from timeline.vocabulary import ActorKind, Certainty, Kind, Role, Status

DEFAULT_STORE = "sqlite:///timeline.db"


class StoreError(Exception):
    """The store setting cannot be used."""


def store_url(url: str | None = None) -> str:
    """The store URL in force: the argument, else TIMELINE_STORE, else the default."""
    return url or os.environ.get("TIMELINE_STORE") or DEFAULT_STORE


def persistence_env(url: str) -> dict[str, str]:
    """The eventsourcing environment for a store URL."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        # A shared-cache memory database, so that the application and its read model (separate
        # connections in one process) see the same data; a fresh name isolates each store.
        name = f"file:timeline-{uuid4().hex}?mode=memory&cache=shared"
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": "timeline.store:TimelineRecorder",
            "SQLITE_DBNAME": name,
        }
    if parts.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not path:
            raise StoreError(
                f"{url!r}: give a file, as sqlite:///relative/path.db or sqlite:////abs/path.db"
            )
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise StoreError(f"{url!r}: the directory {directory} does not exist")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": "timeline.store:TimelineRecorder",
            "SQLITE_DBNAME": path,
            # Writers from several processes wait for each other rather than fail at once.
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    if parts.scheme in ("postgresql", "postgres"):
        raise StoreError(
            "the PostgreSQL store is not available yet; use sqlite:///path.db or memory://"
        )
    raise StoreError(
        f"{url!r} is not a store URL: use sqlite:///path.db, memory:// or postgresql://..."
    )


IMMUTABLE = (
    "CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {verb} ON {table} BEGIN"
    " SELECT RAISE(ABORT, 'timeline: {table} is append-only: {verb} is refused (the immutable"
    " log rule); record a correction or retraction instead'); END"
)


class TimelineRecorder(SQLiteApplicationRecorder):
    """The library's SQLite application recorder, made append-only and tamper-evident.

    Triggers refuse UPDATE and DELETE on the events and their hashes. Each event's chain hash
    (see timeline.audit) is written by `_insert_events`, in the same transaction as the event,
    as the library's searchabletimestamps example writes its extra rows: SQLite lets one writer
    in at a time, so the previous hash read there is the true tail, whatever other processes do.
    """

    def construct_create_table_statements(self) -> list[str]:
        table = self.events_table_name
        return [
            *super().construct_create_table_statements(),
            """CREATE TABLE IF NOT EXISTS event_hashes (
                position INTEGER PRIMARY KEY, hash TEXT NOT NULL, previous_hash TEXT NOT NULL)""",
            *(
                IMMUTABLE.format(table=name, verb=verb)
                for name in (table, "event_hashes")
                for verb in ("UPDATE", "DELETE")
            ),
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs) or []
        c.execute("SELECT hash FROM event_hashes ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        previous = row["hash"] if row else GENESIS
        rows = []
        for position, stored in zip(positions, stored_events, strict=True):
            event = LoggedEvent(
                position, str(stored.originator_id), stored.originator_version, stored.topic,
                stored.state,
            )
            digest = chain_hash(previous, event)
            rows.append((position, digest, previous))
            previous = digest
        c.executemany(
            "INSERT INTO event_hashes (position, hash, previous_hash) VALUES (?, ?, ?)", rows
        )
        return positions

    # --- reading the log as auditors see it -------------------------------------------------

    SELECT_LOG = (
        "SELECT e.rowid AS position, e.originator_id, e.originator_version, e.topic, e.state,"
        " h.hash, h.previous_hash FROM {table} e LEFT JOIN event_hashes h ON h.position = e.rowid"
    )

    def _logged(self, row: Any) -> LoggedEvent:
        return LoggedEvent(
            position=row["position"],
            stream_id=str(UUID(row["originator_id"])),
            stream_version=row["originator_version"],
            topic=row["topic"],
            payload=bytes(row["state"]),
            hash=row["hash"],
            previous_hash=row["previous_hash"],
        )

    def select_log(self, after: int = 0, limit: int = 1000) -> list[LoggedEvent]:
        """Events after a position, in position order, with their hashes. O(limit)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.SELECT_LOG.format(table=self.events_table_name)
                + " WHERE e.rowid > ? ORDER BY e.rowid LIMIT ?",
                (after, limit),
            )
            return [self._logged(row) for row in c.fetchall()]

    def iter_log(self, after: int = 0, batch: int = 1000) -> Iterator[LoggedEvent]:
        """The whole log from a position on, a batch at a time: constant memory at any size."""
        while True:
            events = self.select_log(after, batch)
            yield from events
            if len(events) < batch:
                return
            after = events[-1].position

    def select_stream(self, originator_id: UUID) -> list[LoggedEvent]:
        """One aggregate's events with their positions, through the primary key."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.SELECT_LOG.format(table=self.events_table_name)
                + " WHERE e.originator_id = ? ORDER BY e.originator_version",
                (originator_id.hex,),
            )
            return [self._logged(row) for row in c.fetchall()]

    def import_log(self, events: Iterable[LoggedEvent]) -> int:
        """Write an exported log into this empty store, positions and hashes unchanged, in one
        transaction; a file whose chain does not verify is refused and nothing is written."""
        count = 0
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"SELECT COUNT(*) FROM {self.events_table_name}")
            if c.fetchone()[0]:
                raise LogFileError("the store already holds events: import into an empty one")
            running = GENESIS
            for event in events:
                if event.previous_hash != running or chain_hash(running, event) != event.hash:
                    raise LogFileError(
                        f"position {event.position}: the file's chain does not verify there"
                    )
                c.execute(
                    f"INSERT INTO {self.events_table_name}"
                    " (rowid, originator_id, originator_version, topic, state)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (event.position, UUID(event.stream_id).hex, event.stream_version,
                     event.topic, event.payload),
                )
                c.execute(
                    "INSERT INTO event_hashes (position, hash, previous_hash) VALUES (?, ?, ?)",
                    (event.position, event.hash, event.previous_hash),
                )
                running = event.hash
                count += 1
        return count


# --- transcodings: how domain values are written into stored events ------------------------


class DateAsISO(Transcoding):
    type = date
    name = "date"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class PartialDateAsDict(Transcoding):
    type = PartialDate
    name = "partial_date"

    def encode(self, obj: PartialDate) -> dict[str, Any]:
        return {"value": str(obj), "approximate": obj.approximate, "derivation": obj.derivation}

    def decode(self, data: dict[str, Any]) -> PartialDate:
        return PartialDate.parse(
            data["value"], approximate=data["approximate"], derivation=data["derivation"]
        )


class DataclassAsDict(Transcoding):
    """A frozen dataclass as the dict of its fields (nested values are transcoded in turn)."""

    def __init__(self, cls: type, name: str) -> None:
        self.type = cls
        self.name = name

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


class EnumAsValue(Transcoding):
    def __init__(self, cls: type[Enum], name: str) -> None:
        self.type = cls
        self.name = name

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        return self.type(data)


def register_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    transcoder.register(PartialDateAsDict())
    transcoder.register(DataclassAsDict(Source, "source"))
    transcoder.register(DataclassAsDict(Participation, "participation"))
    transcoder.register(DataclassAsDict(Content, "content"))
    for cls in (ActorKind, Certainty, Kind, Role, Status):
        transcoder.register(EnumAsValue(cls, cls.__name__.lower()))
