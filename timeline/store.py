"""The event store: one setting, TIMELINE_STORE, mapped onto eventsourcing's persistence modules.

`sqlite:///timeline.db` (a file, relative to the working directory; `sqlite:////abs/path.db`
for an absolute path) is the default; `memory://` is a private in-memory SQLite database for
tests and experiments. PostgreSQL (`postgresql://...`) is planned and refused clearly until then.
"""

from __future__ import annotations

import os
from dataclasses import fields
from datetime import date
from enum import Enum
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from eventsourcing.persistence import JSONTranscoder, Notification, Transcoding
from eventsourcing.sqlite import SQLiteApplicationRecorder

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


class TimelineRecorder(SQLiteApplicationRecorder):
    """The library's SQLite application recorder, with the queries auditors need."""

    def select_stream(self, originator_id: UUID) -> list[Notification]:
        """One aggregate's events with their positions (the rowid is the notification id)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid, * FROM {self.events_table_name}"
                " WHERE originator_id = ? ORDER BY originator_version",
                (originator_id.hex,),
            )
            return [
                Notification(
                    id=row["rowid"],
                    originator_id=originator_id,
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in c.fetchall()
            ]


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
