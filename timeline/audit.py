"""The auditor's view of the store: the raw log, its tamper-evident hash chain, verification
against a kept head, and export in a form anyone can re-check.

The chain. Every stored event has

    hash = SHA-256( previous_hash as 32 raw bytes
                    || UTF-8 of "{position}\\n{stream_id}\\n{stream_version}\\n{topic}\\n{recorded_at}\\n"
                    || the stored payload bytes )

where `position` is the event's place in the log (decimal), `stream_id` the aggregate id in
its canonical lower-case 8-4-4-4-12 form, `stream_version` decimal, `topic` the stored event
type (`timeline.domain:Development.Recorded`), `recorded_at` the event's timestamp exactly as
the payload stores it, and the payload the stored bytes (UTF-8 JSON) unchanged. The first
event chains to GENESIS, 32 zero bytes. Hashes are written in lower-case hex.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from timeline.domain import NotFound, as_uuid
from timeline.progress import EXPORTED, IMPORTED, VERIFIED, Progress, counted

GENESIS = "0" * 64
MAX_POSITION = 2**63 - 1  # positions are 64-bit integers: nothing lies beyond
EXPORT_FIELDS = (
    "position", "stream_id", "stream_version", "topic", "recorded_at", "payload", "hash",
    "previous_hash",
)


@dataclass(frozen=True)
class LoggedEvent:
    """One row of the log as stored, with its place in the chain."""

    position: int
    stream_id: str
    stream_version: int
    topic: str
    payload: bytes
    hash: str | None = None
    previous_hash: str | None = None

    @property
    def recorded_at(self) -> str:
        return recorded_at_of(self.payload)

    def canonical(self) -> bytes:
        header = (
            f"{self.position}\n{self.stream_id}\n{self.stream_version}\n{self.topic}\n"
            f"{self.recorded_at}\n"
        )
        return header.encode() + self.payload

    def record(self) -> dict[str, Any]:
        """Plain values for the API: the payload decoded, exactly as stored otherwise."""
        data = json.loads(self.payload)
        return {
            "position": self.position,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "type": self.topic.rpartition(":")[2],
            "topic": self.topic,
            "recorded_at": self.recorded_at,
            "recorded_by": data.get("recorded_by"),
            "data": data,
            "hash": self.hash,
            "previous_hash": self.previous_hash,
        }


# How eventsourcing's transcoder begins every payload it writes: the timestamp comes first.
TIMESTAMP_PREFIX = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'


def recorded_at_of(payload: bytes) -> str:
    """The event's timestamp as its payload stores it ("" if it has none)."""
    if payload.startswith(TIMESTAMP_PREFIX):
        # An ISO timestamp holds no quote or escape, so it ends at the next quote: the same
        # string as decoding the whole payload, at a fraction of the cost on every insert.
        end = payload.index(b'"', len(TIMESTAMP_PREFIX))
        return payload[len(TIMESTAMP_PREFIX):end].decode()
    timestamp = json.loads(payload).get("timestamp")
    return timestamp.get("_data_", "") if isinstance(timestamp, dict) else ""


def chain_hash(previous_hash: str, event: LoggedEvent) -> str:
    return hashlib.sha256(bytes.fromhex(previous_hash) + event.canonical()).hexdigest()


@dataclass(frozen=True)
class Head:
    """A point of the log an auditor keeps, to prove later that the log still extends it."""

    position: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Head:
        """`POSITION:HASH`, as `timeline verify --head` takes it."""
        position, _, digest = text.partition(":")
        if not position.isdigit() or len(digest) != 64 or not is_hex(digest):
            raise ValueError(f"{text!r} is not a head: give POSITION:HASH (64 hex digits)")
        return cls(int(position), digest.lower())


def is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


@dataclass
class Verification:
    ok: bool
    checked: int
    head: dict[str, Any] | None
    first_bad_position: int | None
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": self.head,
            "first_bad_position": self.first_bad_position,
            "reason": self.reason,
        }


def verify(events: Iterable[LoggedEvent], kept: Head | None = None) -> Verification:
    """Recompute the chain over the whole log, in position order; with a kept head, also
    check that the log still extends it. Stops at the first fault. O(events), constant memory.
    """
    running = GENESIS
    checked = 0
    last: LoggedEvent | None = None
    if kept is not None and kept.position == 0 and kept.hash != GENESIS:
        return Verification(False, 0, None, 0, "a head at position 0 must be the genesis hash")
    kept_seen = kept is None or kept.position == 0  # every log extends the empty one
    for event in events:
        fault = None
        if event.hash is None:
            fault = "the event has no hash: it was added outside the recorder"
        elif event.previous_hash != running:
            fault = (
                "the chain is broken before this event: an earlier event was removed, "
                "inserted or altered"
            )
        elif chain_hash(running, event) != event.hash:
            fault = "the event's content does not match its hash: it was altered"
        if fault:
            return Verification(False, checked, head_of(last), event.position, fault)
        if kept is not None and event.position == kept.position:
            if event.hash != kept.hash:
                return Verification(
                    False, checked, head_of(last), event.position,
                    "the log no longer extends the kept head: history up to it was rewritten",
                )
            kept_seen = True
        running = event.hash
        checked += 1
        last = event
    if not kept_seen:
        return Verification(
            False, checked, head_of(last), kept.position,  # type: ignore[union-attr]
            "the kept head's position is no longer in the log: events were removed",
        )
    return Verification(True, checked, head_of(last), None, None)


def head_of(event: LoggedEvent | None) -> dict[str, Any] | None:
    if event is None:
        return None
    return {"position": event.position, "hash": event.hash, "recorded_at": event.recorded_at}


# --- export and import -------------------------------------------------------------------------


def export_rows(events: Iterable[LoggedEvent]) -> Iterator[dict[str, Any]]:
    for event in events:
        yield {
            "position": event.position,
            "stream_id": event.stream_id,
            "stream_version": event.stream_version,
            "topic": event.topic,
            "recorded_at": event.recorded_at,
            "payload": event.payload.decode(),
            "hash": event.hash,
            "previous_hash": event.previous_hash,
        }


def write_ndjson(events: Iterable[LoggedEvent], out: io.TextIOBase) -> int:
    count = 0
    for row in export_rows(events):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(events: Iterable[LoggedEvent], out: io.TextIOBase) -> int:
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in export_rows(events):
        writer.writerow(row)
        count += 1
    return count


class LogFileError(ValueError):
    """A log file that cannot be imported; the message names the record at fault."""


def read_rows(lines: Iterable[str], fmt: str) -> Iterator[LoggedEvent]:
    """The events of an exported file, one at a time (constant memory)."""
    rows: Iterable[Any] = csv.DictReader(lines) if fmt == "csv" else (
        line for line in lines if line.strip()
    )
    for number, row in enumerate(rows, 1):
        try:
            if fmt != "csv":
                row = json.loads(row)
            yield LoggedEvent(
                position=int(row["position"]),
                stream_id=str(row["stream_id"]),
                stream_version=int(row["stream_version"]),
                topic=str(row["topic"]),
                payload=str(row["payload"]).encode(),
                hash=str(row["hash"]),
                previous_hash=str(row["previous_hash"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise LogFileError(f"record {number}: not an exported event ({error})") from None


# --- the log as the application offers it ------------------------------------------------------


class LogRecorder(Protocol):
    """What the audit log reads from the store's recorder (see store.EventLog)."""

    def select_log(self, after: int = 0, limit: int = 1000) -> list[LoggedEvent]: ...
    def iter_log(self, after: int = 0) -> Iterator[LoggedEvent]: ...
    def select_stream(self, originator_id: UUID) -> list[LoggedEvent]: ...
    def import_log(self, events: Iterable[LoggedEvent]) -> int: ...
    def max_notification_id(self) -> int | None: ...


class AuditLog:
    """The raw log as auditors see it: stored events with their hashes, verification,
    export and import. Reads go straight to the events table, never through the read model."""

    def __init__(self, recorder: LogRecorder) -> None:
        self.recorder = recorder

    def events(self, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Stored events after a position, in record order, with their hashes. O(limit)."""
        return [event.record() for event in self.recorder.select_log(after, limit)]

    def event(self, position: int) -> dict[str, Any]:
        """The stored event at a position."""
        if 0 < position <= MAX_POSITION:
            found = self.recorder.select_log(position - 1, 1)
            if found and found[0].position == position:
                return found[0].record()
        raise NotFound(f"no event at position {position}", "position")

    def stream(self, ident: UUID | str) -> list[dict[str, Any]]:
        """One aggregate's stored events, in version order, with their log positions.
        O(events of the stream), through the events table's primary key."""
        found = self.recorder.select_stream(as_uuid(ident))
        if not found:
            raise NotFound(f"no stream {ident}", "id")
        return [event.record() for event in found]

    def count(self) -> int:
        """How many events the log holds (its last position)."""
        return self.recorder.max_notification_id() or 0

    def head(self) -> dict[str, Any]:
        """The last event's position and chain hash: what an auditor keeps."""
        events = self.recorder.select_log(max(self.count() - 1, 0), 1)
        if not events:
            return {"position": 0, "hash": GENESIS, "recorded_at": None}
        return head_of(events[-1])  # type: ignore[return-value]

    def verify(self, kept: Head | None = None, progress: Progress | None = None) -> Verification:
        """Recompute the whole chain (and check it still extends a kept head). O(events)."""
        events = counted(self.recorder.iter_log(), progress, VERIFIED, self.count())
        return verify(events, kept)

    def export(
        self, out: Any, fmt: str = "ndjson", after: int = 0, progress: Progress | None = None
    ) -> int:
        """Write the raw log with its hashes to `out`, streaming; returns how many events."""
        write = write_csv if fmt == "csv" else write_ndjson
        events = counted(
            self.recorder.iter_log(after), progress, EXPORTED, max(self.count() - after, 0)
        )
        return write(events, out)

    def import_log(
        self, lines: Any, fmt: str = "ndjson", progress: Progress | None = None
    ) -> int:
        """Load an exported log into this empty store, identical positions and hashes (the
        read model catches up with it at its next read). The progress total is unknown: a
        file's events are counted as they are read."""
        return self.recorder.import_log(counted(read_rows(lines, fmt), progress, IMPORTED, None))
