"""The auditor's view of the store: the raw log, its tamper-evident hash chain, verification
against a kept head, and export in a form anyone can re-check.

The chain. Every stored event has

    hash = SHA-256( previous_hash as 32 raw bytes
                    || UTF-8 of "{position}\\n{stream_id}\\n{stream_version}\\n{topic}\\n{recorded_at}\\n"
                    || the stored payload bytes )

where `position` is the event's place in the log (decimal), `stream_id` the aggregate id as
stored (the recorder stores one form only, which reads as the lower-case 8-4-4-4-12 form; any
other stored text is hashed as it is, so a rewritten id breaks the chain), `stream_version`
decimal, `topic` the stored event type (`timeline.domain:Development.Recorded`), `recorded_at`
the event's timestamp exactly as a plain JSON payload stores it ("" for a payload that is not
plain JSON: compressed or encrypted), and the payload the stored bytes unchanged. The first
event chains to GENESIS, 32 zero bytes. Hashes are written in lower-case hex.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol
from uuid import UUID

from timeline import merkle
from timeline.checkpoint import Checkpoint, SigningKey, VerifierKey, open_checkpoint
from timeline.domain import Conflict, InvalidInput, NotFound, TimelineError, as_uuid
from timeline.progress import EXPORTED, IMPORTED, VERIFIED, Progress, counted

GENESIS = "0" * 64
MAX_POSITION = 2**63 - 1  # positions are 64-bit integers: nothing lies beyond
EXPORT_FIELDS = (
    "position", "stream_id", "stream_version", "topic", "recorded_at", "payload", "hash",
    "previous_hash", "payload_encoding",
)
# What undoing a payload's encryption (AES: a failed MAC), compression and JSON may raise.
DECODING_ERRORS = (ValueError, TypeError, KeyError, zlib.error)
BASE64 = "base64"  # the payload_encoding of bytes that are not UTF-8 (compressed, encrypted)


class DamagedLog(Conflict):
    """The stored log holds a row the recorder never wrote (a NULL or TEXT payload, one that
    does not decode); the message names its position."""


class LogEndsEarly(TimelineError):
    """The log ends before a position the service already used (the read model's, or a head
    it issued): events were removed from its end. Writes are refused until an operator acts."""


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
    damage: str | None = None  # why the stored row is not one the recorder wrote

    @property
    def recorded_at(self) -> str:
        return recorded_at_of(self.payload)

    def canonical(self) -> bytes:
        header = (
            f"{self.position}\n{self.stream_id}\n{self.stream_version}\n{self.topic}\n"
            f"{self.recorded_at}\n"
        )
        return header.encode() + self.payload

    def record(self, plaintext: Callable[[bytes], bytes] = bytes) -> dict[str, Any]:
        """Plain values for the API: the payload decoded (through `plaintext`, which undoes
        the store's compression and encryption), exactly as stored otherwise."""
        if self.damage:
            raise DamagedLog(f"position {self.position}: {self.damage}", "position")
        try:
            data = json.loads(plaintext(self.payload))
        except DECODING_ERRORS as error:
            data = f"{error}"
        if not isinstance(data, dict):
            raise DamagedLog(
                f"position {self.position}: the payload does not decode as an event ({data})",
                "position",
            )
        timestamp = data.get("timestamp")
        return {
            "position": self.position,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "type": self.topic.rpartition(":")[2],
            "topic": self.topic,
            "recorded_at": timestamp.get("_data_") if isinstance(timestamp, dict) else None,
            "recorded_by": data.get("recorded_by"),
            "data": data,
            "hash": self.hash,
            "previous_hash": self.previous_hash,
        }


# How eventsourcing's transcoder begins every payload it writes: the timestamp comes first.
TIMESTAMP_PREFIX = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'


def recorded_at_of(payload: bytes) -> str:
    """The event's timestamp as a plain JSON payload stores it; "" if it has none, or if the
    payload is not plain JSON (compressed, encrypted, damaged): the hash covers those bytes,
    and the timestamp inside them, all the same. Never raises."""
    if payload.startswith(TIMESTAMP_PREFIX):
        # An ISO timestamp holds no quote or escape, so it ends at the next quote: the same
        # string as decoding the whole payload, at a fraction of the cost on every insert.
        end = payload.find(b'"', len(TIMESTAMP_PREFIX))
        if end > 0:
            try:
                return payload[len(TIMESTAMP_PREFIX):end].decode()
            except UnicodeDecodeError:
                return ""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):  # not JSON: compressed, encrypted or damaged
        return ""
    timestamp = data.get("timestamp") if isinstance(data, dict) else None
    data_ = timestamp.get("_data_", "") if isinstance(timestamp, dict) else ""
    return data_ if isinstance(data_, str) else ""


def chain_digest(
    previous: bytes, position: int, stream_id: str, stream_version: int, topic: str,
    payload: bytes,
) -> bytes:
    """SHA-256(previous hash ‖ header ‖ payload), the canonical encoding of an event in the
    chain (LoggedEvent.canonical), without building the event or copying its payload: the
    recorder computes one for every event it appends."""
    digest = hashlib.sha256(previous)
    digest.update(
        f"{position}\n{stream_id}\n{stream_version}\n{topic}\n{recorded_at_of(payload)}\n"
        .encode()
    )
    digest.update(payload)
    return digest.digest()


def chain_hash(previous_hash: str, event: LoggedEvent) -> str:
    return chain_digest(bytes.fromhex(previous_hash), event.position, event.stream_id,
                        event.stream_version, event.topic, event.payload).hex()


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
        if event.damage:
            fault = event.damage
        elif event.hash is None:
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
    return {"position": event.position, "hash": event.hash,
            "recorded_at": event.recorded_at or None}


@dataclass(frozen=True)
class StreamGap:
    """The first event whose stream version does not follow the one before it in its stream
    (versions run 1, 2, 3, ... in every stream)."""

    position: int
    stream_id: str
    stream_version: int
    expected: int

    def reason(self) -> str:
        return (
            f"stream {self.stream_id} has version {self.stream_version} where version "
            f"{self.expected} belongs: a stream's versions run from 1 without gaps (an event "
            "was removed, or its stream id or version rewritten)"
        )


# --- export and import -------------------------------------------------------------------------


def export_rows(events: Iterable[LoggedEvent]) -> Iterator[dict[str, Any]]:
    for event in events:
        if event.damage:
            raise DamagedLog(f"position {event.position}: {event.damage}", "position")
        row = {
            "position": event.position,
            "stream_id": event.stream_id,
            "stream_version": event.stream_version,
            "topic": event.topic,
            "recorded_at": event.recorded_at,
            "payload": None,
            "hash": event.hash,
            "previous_hash": event.previous_hash,
        }
        try:
            row["payload"] = event.payload.decode()
        except UnicodeDecodeError:  # compressed or encrypted: bytes, written as base64
            row["payload"] = base64.b64encode(event.payload).decode()
            row["payload_encoding"] = BASE64
        yield row


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
    """The events of an exported file, one at a time (constant memory). Each record's
    recorded_at must be the timestamp its payload holds (as the chain hashes it)."""
    rows: Iterable[Any] = csv.DictReader(lines) if fmt == "csv" else (
        line for line in lines if line.strip()
    )
    for number, row in enumerate(rows, 1):
        try:
            if fmt != "csv":
                row = json.loads(row)
            encoding = row.get("payload_encoding") or "utf-8"
            if encoding == BASE64:
                payload = base64.b64decode(str(row["payload"]), validate=True)
            elif encoding == "utf-8":
                payload = str(row["payload"]).encode()
            else:
                raise ValueError(f"payload_encoding {encoding!r} is neither utf-8 nor base64")
            event = LoggedEvent(
                position=int(row["position"]),
                stream_id=str(row["stream_id"]),
                stream_version=int(row["stream_version"]),
                topic=str(row["topic"]),
                payload=payload,
                hash=str(row["hash"]),
                previous_hash=str(row["previous_hash"]),
            )
            stated = str(row["recorded_at"])
        except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as error:
            raise LogFileError(f"record {number}: not an exported event ({error})") from None
        if stated != event.recorded_at:
            raise LogFileError(
                f"record {number} (position {event.position}): recorded_at {stated!r} is not "
                f"the timestamp its payload holds ({event.recorded_at!r})"
            )
        yield event


def allowed_topics() -> frozenset[str]:
    """The topics an imported log may name: Timeline's own event types, from the registry
    of event types (timeline.history). A topic names a module to import; one from a file is
    never resolved unless it is on this list."""
    from eventsourcing.utils import get_topic

    from timeline.history import EVENT_TYPES

    return frozenset(get_topic(cls) for cls in EVENT_TYPES)


class ImportCheck:
    """What every event of an imported file must pass before the import commits: a topic of
    Timeline's, a canonical stream id, versions from 1 without gaps, a payload that decodes
    (through the store's cipher and compressor) into an event of that stream and timestamp,
    and that applies to its aggregate and projects. It keeps each aggregate of the file in
    memory, as of its last event: O(aggregates)."""

    def __init__(self, mapper: Any) -> None:
        from timeline.readmodel import rows_of  # the view's own projection, run dry

        self.topics = allowed_topics()
        self.mapper = mapper
        self.rows_of = rows_of
        self.aggregates: dict[UUID, Any] = {}

    def __call__(self, event: LoggedEvent) -> None:
        from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

        where = f"position {event.position}"
        if event.topic not in self.topics:
            raise LogFileError(
                f"{where}: topic {event.topic!r} is not one of Timeline's event types"
            )
        try:
            stream = UUID(event.stream_id)
        except ValueError:
            stream = None
        if stream is None or str(stream) != event.stream_id:
            raise LogFileError(f"{where}: stream id {event.stream_id!r} is not a canonical UUID")
        previous = self.aggregates.get(stream)
        expected = previous.version + 1 if previous is not None else 1
        if event.stream_version != expected:
            raise LogFileError(
                f"{where}: stream {stream} has version {event.stream_version} where version "
                f"{expected} belongs"
            )
        try:
            domain_event = self.mapper.to_domain_event(StoredEvent(
                originator_id=stream, originator_version=event.stream_version,
                topic=event.topic, state=event.payload,
            ))
        except (MapperDeserialisationError, *DECODING_ERRORS, AttributeError) as error:
            raise LogFileError(f"{where}: the payload does not decode ({error})") from None
        if event.recorded_at and domain_event.timestamp.isoformat() != event.recorded_at:
            raise LogFileError(f"{where}: recorded_at is not the event's timestamp")
        try:
            aggregate = domain_event.mutate(previous)
            self.rows_of(aggregate, event.position, domain_event.timestamp)
        except (TimelineError, *DECODING_ERRORS, AttributeError) as error:  # a rule refuses it
            raise LogFileError(f"{where}: the event does not apply ({error!r})") from None
        self.aggregates[stream] = aggregate


# --- the log as the application offers it ------------------------------------------------------


@dataclass(frozen=True)
class LogMarks:
    """Where the log ends, and the positions the service has already used beyond which it
    must not end: the read model's and the last head it issued."""

    end: int
    projected: int
    issued: int

    def problem(self) -> str | None:
        """Why the service must not write, or None."""
        if self.end < self.projected:
            return (
                f"the log ends at position {self.end}, but the read model has applied events "
                f"up to {self.projected}: events were removed from its end"
            )
        if self.end < self.issued:
            return (
                f"the log ends at position {self.end}, but a head at {self.issued} was issued:"
                " events were removed from its end"
            )
        return None


class LogRecorder(Protocol):
    """What the audit log reads from the store's recorder (see store.EventLog)."""

    def select_log(self, after: int = 0, limit: int = 1000) -> list[LoggedEvent]: ...
    def iter_log(self, after: int = 0) -> Iterator[LoggedEvent]: ...
    def select_stream(self, originator_id: UUID) -> list[LoggedEvent]: ...
    def select_head(self) -> LoggedEvent | None: ...
    def issue_head(self, position: int, digest: str) -> None: ...
    def first_stream_gap(self) -> StreamGap | None: ...
    def log_marks(self) -> LogMarks: ...
    def import_log(
        self, events: Iterable[LoggedEvent], check: Callable[[LoggedEvent], None]
    ) -> int: ...
    def max_notification_id(self) -> int | None: ...
    def build_tree(self) -> int: ...
    def select_tree_rows(self, start: int, end: int) -> dict[int, bytes]: ...
    def chain_and_tree_sizes(self) -> tuple[int, int]: ...
    @property
    def tree_table_name(self) -> str: ...
    def tree_proof(self, build: Callable[[merkle.Subtree, int], Any],
                   cached: bool = True) -> Any: ...


def batched(events: Iterable[LoggedEvent], size: int) -> Iterator[list[LoggedEvent]]:
    iterator = iter(events)
    while batch := list(islice(iterator, size)):
        yield batch


def altered(leaf: int, found: bytes | None, expected: bytes) -> str:
    """Where the stored row of a leaf differs from the row the chain gives."""
    if found is None:
        return "whose row is missing"
    for level in range(len(expected) // 32):
        stored = found[32 * level:32 * (level + 1)]
        if stored != expected[32 * level:32 * (level + 1)]:
            where = f"level {level}, node {leaf >> level}" if level else "the leaf's hash"
            return where if len(stored) == 32 else f"{where}, which its row lacks"
    return f"whose row holds {len(found)} bytes, not {len(expected)}"


def in_tree(size: int, now: int, field: str) -> int:
    """`size`, if the tree has reached it."""
    if not 0 <= size <= now:
        raise InvalidInput(f"{field} {size} is outside the tree, whose size is {now}", field)
    return size


class AuditLog:
    """The raw log as auditors see it: stored events with their hashes, verification,
    export and import. Reads go straight to the events table, never through the read model.

    `mapper` is the application's: it undoes the store's encryption and compression when
    the API shows a payload, and decodes every event of an import before it commits."""

    def __init__(self, recorder: LogRecorder, mapper: Any = None) -> None:
        self.recorder = recorder
        self.mapper = mapper
        # A log recorded before the Merkle tree existed gets its tree when it is opened.
        recorder.build_tree()

    def tree(self, size: int | None = None, cached: bool = True) -> dict[str, Any]:
        """The Merkle tree's size and root (RFC 9162 §2.1), now or at an earlier `size`;
        `cached=False` reads every hash from the store (see EventLog.tree_proof)."""

        def build(subtree: merkle.Subtree, now: int) -> dict[str, Any]:
            at = now if size is None else in_tree(size, now, "size")
            root = merkle.EMPTY_ROOT if at == 0 else subtree(0, at)
            return {"size": at, "root": root.hex()}

        return self.recorder.tree_proof(build, cached)

    def checkpoint(self, key: SigningKey, origin: str) -> str:
        """The current tree as a signed note (C2SP tlog-checkpoint)."""
        tree = self.tree()
        return Checkpoint(origin, tree["size"], bytes.fromhex(tree["root"]), key.ephemeral).sign(key)

    def check_checkpoint(self, note: str, verifier: VerifierKey) -> dict[str, Any]:
        """Check a kept checkpoint's signature, then that the log now extends it, from the
        consistency proof alone (O(log n) stored hashes); raises CheckpointError or
        merkle.ProofError when either fails."""
        kept = open_checkpoint(note, verifier)
        # A check of what the store holds: no hash comes from the recorder's proof cache.
        now = self.tree(cached=False)
        if kept.size > now["size"]:
            raise merkle.ProofError(
                f"the checkpoint's size {kept.size} is beyond the log's {now['size']}:"
                " the log was cut, or the checkpoint is from another log")
        proof = self.consistency(kept.size, now["size"], cached=False)["hashes"]
        merkle.verify_consistency(kept.size, now["size"], kept.root, bytes.fromhex(now["root"]),
                                  [bytes.fromhex(h) for h in proof])
        return {"origin": kept.origin, "from": kept.size, "to": now["size"],
                "root": now["root"]}

    def inclusion(self, index: int, size: int) -> dict[str, Any]:
        """The RFC 9162 §2.1.3 inclusion proof of leaf `index` (the index-th event, from 0) in
        the tree of `size` leaves, with that leaf's chain hash. O(log n) stored hashes."""

        def build(subtree: merkle.Subtree, now: int) -> dict[str, Any]:
            in_tree(size, now, "size")
            if not 0 <= index < size:
                raise InvalidInput(f"index {index} is not a leaf of a tree of size {size}",
                                   "index")
            return {"index": index, "size": size,
                    "leaf_hash": subtree(index, index + 1).hex(),
                    "root": subtree(0, size).hex(),
                    "hashes": [h.hex() for h in merkle.inclusion_proof(index, size, subtree)]}

        return self.recorder.tree_proof(build)

    def consistency(self, old: int, new: int, cached: bool = True) -> dict[str, Any]:
        """The RFC 9162 §2.1.4 proof that the tree of `new` leaves extends that of `old`."""

        def build(subtree: merkle.Subtree, now: int) -> dict[str, Any]:
            in_tree(new, now, "to")
            if not 0 <= old <= new:
                raise InvalidInput(f"from {old} is not between 0 and to ({new})", "from")
            return {"from": old, "to": new,
                    "hashes": [h.hex() for h in merkle.consistency_proof(old, new, subtree)]}

        return self.recorder.tree_proof(build, cached)

    def plaintext(self, payload: bytes) -> bytes:
        """A stored payload with the store's encryption and compression undone."""
        if self.mapper is not None and self.mapper.cipher:
            payload = self.mapper.cipher.decrypt(payload)
        if self.mapper is not None and self.mapper.compressor:
            payload = self.mapper.compressor.decompress(payload)
        return payload

    def events(self, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Stored events after a position, in record order, with their hashes. O(limit)."""
        return [event.record(self.plaintext) for event in self.recorder.select_log(after, limit)]

    def event(self, position: int) -> dict[str, Any]:
        """The stored event at a position."""
        if 0 < position <= MAX_POSITION:
            found = self.recorder.select_log(position - 1, 1)
            if found and found[0].position == position:
                return found[0].record(self.plaintext)
        raise NotFound(f"no event at position {position}", "position")

    def stream(self, ident: UUID | str) -> list[dict[str, Any]]:
        """One aggregate's stored events, in version order, with their log positions.
        O(events of the stream), through the events table's primary key."""
        found = self.recorder.select_stream(as_uuid(ident))
        if not found:
            raise NotFound(f"no stream {ident}", "id")
        return [event.record(self.plaintext) for event in found]

    def count(self) -> int:
        """How many events the log holds (its last position)."""
        return self.recorder.max_notification_id() or 0

    def head(self) -> dict[str, Any]:
        """The last sealed event's position and chain hash: what an auditor keeps. Never a
        null hash (an empty log's head is position 0 and the genesis hash). The service
        remembers the highest head it issued, and refuses to write on a log that ends
        before it (see LogMarks)."""
        last = self.recorder.select_head()
        if last is None or last.hash is None:
            return {"position": 0, "hash": GENESIS, "recorded_at": None}
        self.recorder.issue_head(last.position, last.hash)
        return head_of(last)  # type: ignore[return-value]

    def verify(self, kept: Head | None = None, progress: Progress | None = None) -> Verification:
        """Recompute the whole chain (and check it still extends a kept head), check that
        every stream's versions run from 1 without gaps, and that the log does not end before
        a position the service already used (see LogMarks), and that every node of the stored
        Merkle tree is the one the chain gives. O(events)."""
        result = verify(counted(self.recorder.iter_log(), progress, VERIFIED, self.count()), kept)
        gap = self.recorder.first_stream_gap()
        if gap is not None and (result.ok or gap.position < result.first_bad_position):
            return Verification(False, result.checked, result.head, gap.position, gap.reason())
        marks = self.marks()
        ended_early = marks.problem()
        if result.ok and ended_early:  # the chain alone cannot tell: the service remembers
            return Verification(False, result.checked, result.head, marks.end + 1, ended_early)
        if result.ok:  # the more specific findings above come first
            result = self._tree_matches(self.recorder.iter_log(), result)
        if result.ok and result.head:
            self.recorder.issue_head(result.head["position"], result.head["hash"])
        return result

    def _tree_matches(self, events: Iterable[LoggedEvent], result: Verification
                      ) -> Verification:
        """Every stored row of the Merkle tree (which proofs and checkpoints come from) is
        the row the chain just verified gives; else the event whose append wrote the first row
        that differs. Reads the tree a batch of leaves at a time."""
        latest: dict[int, bytes] = {}  # the last node made at each level: the next's left
        count = 0
        for batch in batched(events, 1024):
            # As an append grows the tree (from the last subtree of each level), but from the
            # chain just verified: from the first leaf, so no node is read from the store.
            rows = merkle.grow_rows(count, [bytes.fromhex(e.hash or "") for e in batch],
                                    latest, lambda level, index: latest[level])
            stored = self.recorder.select_tree_rows(count, count + len(batch))
            for leaf, expected in rows:
                found = stored.get(leaf)
                if found != expected:
                    return Verification(
                        False, result.checked, result.head, batch[leaf - count].position,
                        f"the Merkle tree (table {self.recorder.tree_table_name}) does not"
                        f" match the chain at leaf {leaf}, {altered(leaf, found, expected)}: it was"
                        " altered outside the recorder; the chain itself verifies")
            count += len(batch)
        # Rows beyond the chain's end are allowed in by the append-only triggers (they are
        # inserts), and would be signed into every checkpoint: compared in one snapshot, as
        # events appended during the pass above add to both.
        hashes, leaves = self.recorder.chain_and_tree_sizes()
        if leaves > hashes:
            end = result.head["position"] if result.head else 0
            return Verification(
                False, result.checked, result.head, end + 1,
                f"the Merkle tree (table {self.recorder.tree_table_name}) holds {leaves}"
                f" leaves, the chain {hashes}: rows were added outside the recorder, and the"
                " tree's size and root (and checkpoints signed from them) are not the log's")
        return result
    def marks(self) -> LogMarks:
        """Where the log ends, against the positions the service already used."""
        return self.recorder.log_marks()

    def export(
        self, out: Any, fmt: str = "ndjson", after: int = 0, progress: Progress | None = None
    ) -> int:
        """Write the raw log with its hashes to `out`, streaming; returns how many events.
        A damaged row stops it with DamagedLog, naming its position."""
        write = write_csv if fmt == "csv" else write_ndjson
        events = counted(
            self.recorder.iter_log(after), progress, EXPORTED, max(self.count() - after, 0)
        )
        return write(events, out)

    def import_log(
        self, lines: Any, fmt: str = "ndjson", progress: Progress | None = None
    ) -> int:
        """Load an exported log into this empty store, identical positions and hashes (the
        read model catches up with it at its next read). Atomic: every event is checked
        (chain, topic, decoding, applying and projecting; see ImportCheck) inside the one
        transaction, and any fault rolls the whole import back. The progress total is unknown:
        a file's events are counted as they are read."""
        return self.recorder.import_log(counted(read_rows(lines, fmt), progress, IMPORTED, None),
                                        ImportCheck(self.mapper))
