"""The Timeline application: the only door into the domain.

Commands record events and return ids; queries return plain values (dicts and lists of JSON
types) that the CLI and the API print or serve as they are.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from timeline import store
from timeline.access import Tokens
from timeline.audit import AuditLog
from timeline.domain import (
    ACTOR_FIELDS,
    Actor,
    AlreadyExists,
    Conflict,
    Content,
    Development,
    InvalidInput,
    NotFound,
    PartialDate,
    Source,
    UnknownActor,
    actor_stream_id,
    actors_named,
    as_uuid,
    check_actor,
    development_id,
)
from timeline.queries import Queries
from timeline.readmodel import ReadModel
from timeline.vocabulary import ActorKind, Status


class VersionMismatch(Conflict):
    """The development changed since the version the caller last saw."""


class Saving(ProcessingEvent):
    """The library's processing event, which collects an aggregate's pending events without
    asking first whether it is a domain event. The library asks with `isinstance` against
    runtime-checkable protocols (`DomainEventProtocol`, then `CollectEventsProtocol`), which
    Python 3.11 answers by walking each protocol's members: 20-30 µs of every append's
    500-600 µs of CPU. An aggregate is a `BaseAggregate`, a plain class check; anything else
    (a domain event, None) goes the library's way."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            else:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


class Timeline(Application, Queries):
    """Records developments and actors, and answers questions about them."""

    name = "Timeline"

    def __init__(self, store_url: str | None = None, env: dict[str, str] | None = None):
        self.store_url = store.store_url(store_url)
        settings = {**store.persistence_env(self.store_url), **(env or {})}
        store.prepare(settings)
        super().__init__(settings)
        self.read_model = ReadModel(self)
        self.audit = AuditLog(self.recorder, self.mapper)  # type: ignore[arg-type]
        # The log must never end before what the view has applied (see store.EventLog._seal).
        self.recorder.watch_projection(  # type: ignore[attr-defined]
            self.read_model.view.tracking_table(), self.name
        )
        self.access = self.factory.access_recorder(Tokens)  # type: ignore[attr-defined]
        self.actors = KnownActors(self.repository)
        self._saving = threading.local()  # what this thread's saves carry, and last wrote

    def close(self) -> None:
        self.read_model.close()  # its background projector first: it uses the store
        super().close()

    def save(self, *objs: Any, **kwargs: Any) -> list[Any]:
        """The library's `Application.save` (eventsourcing 9.5), collecting through Saving."""
        processing_event: Saving = Saving()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # deprecated in the library, still called there
        return recordings

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        store.register_transcodings(transcoder)

    # --- commands ---------------------------------------------------------------------------

    def register_actor(
        self,
        actor_id: str,
        name: str,
        kind: ActorKind,
        aliases: Sequence[str] = (),
        belongs_to: Sequence[str] = (),
        recorded_by: str = "timeline",
    ) -> str:
        check_actor(actor_id, name, kind, tuple(belongs_to))
        if actor_stream_id(actor_id) in self.repository:
            raise AlreadyExists(f"actor {actor_id!r} is already registered", "id")
        self.actors.check(belongs_to, "belongs_to")
        self._save(Actor(actor_id, name, kind, tuple(aliases), tuple(belongs_to), recorded_by))
        return actor_id

    def correct_actor(
        self, actor_id: str, changes: dict[str, Any], reason: str, recorded_by: str = "timeline"
    ) -> int:
        actor = self._actor(actor_id)
        unknown = set(changes) - set(ACTOR_FIELDS)
        if unknown:
            raise InvalidInput(f"cannot correct {', '.join(sorted(unknown))}", "changes")
        effective = {k: v for k, v in changes.items() if getattr(actor, k) != v}
        if not effective:
            return actor.version
        merged = {name: getattr(actor, name) for name in ACTOR_FIELDS} | effective
        check_actor(actor_id, merged["name"], merged["kind"], tuple(merged["belongs_to"]))
        self.actors.check(merged["belongs_to"], "belongs_to")
        actor.correct(changes=effective, reason=reason, recorded_by=recorded_by)
        self._save(actor)
        return actor.version

    def record_development(
        self,
        content: Content,
        status: Status = Status.OCCURRED,
        *,
        key: str | None = None,
        recorded_by: str = "timeline",
    ) -> UUID:
        """Record a new development; a `key` gives it a deterministic id (seeds use one)."""
        self.actors.check(content.actor_ids(), "actors")
        ident = development_id(key) if key else uuid4()
        if key and ident in self.repository:
            raise AlreadyExists(f"a development with key {key!r} is already recorded", "key")
        development = Development(
            id=ident, content=content, status=status, key=key, recorded_by=recorded_by
        )
        self._save(development)
        return development.id

    def save_prepared(self, *developments: Development) -> None:
        """Save developments built or moved on in memory through their own commands (a seed
        entry with its later history, a synthetic run), all in one transaction. The rules
        that need the store are checked here: every actor named must be registered."""
        for development in developments:
            for event in development.pending_events:
                self.actors.check(actors_named(event), "actors")
        self._save(*developments)

    def correct_development(
        self,
        ident: UUID,
        changes: dict[str, Any],
        reason: str,
        source: Source,
        *,
        recorded_by: str = "timeline",
        expected_version: int | None = None,
    ) -> int:
        self.actors.check([p.actor for p in changes.get("actors", ())], "changes.actors")
        return self._change(
            ident, expected_version, lambda d: d.correct(changes, reason, source, recorded_by)
        )

    def change_status(
        self,
        ident: UUID,
        status: Status,
        reason: str,
        source: Source | None = None,
        *,
        date: PartialDate | None = None,
        recorded_by: str = "timeline",
        expected_version: int | None = None,
    ) -> int:
        return self._change(
            ident, expected_version,
            lambda d: d.change_status(status, reason, source, recorded_by, date),
        )

    def retract_development(
        self,
        ident: UUID,
        reason: str,
        source: Source | None = None,
        *,
        recorded_by: str = "timeline",
        expected_version: int | None = None,
    ) -> int:
        return self._change(
            ident, expected_version, lambda d: d.retract(reason, recorded_by, source)
        )

    # --- helpers ----------------------------------------------------------------------------

    def _change(self, ident: UUID | str, expected_version: int | None, command: Any) -> int:
        """Run one of a development's commands on it and save what it recorded."""
        development = self.development(ident, expected_version)
        command(development)
        self._save(development)
        return development.version

    @contextmanager
    def saving_with(self, **saved_kwargs: Any) -> Iterator[None]:
        """Meanwhile, this thread's saves hand `saved_kwargs` to the recorder, which writes
        them in the events' own transaction (an idempotency claim: see api.idempotency)."""
        self._saving.kwargs, self._saving.position = saved_kwargs, None
        try:
            yield
        finally:
            self._saving.kwargs = {}

    def last_position(self) -> int | None:
        """The log position of the last event saved by this thread inside saving_with."""
        return getattr(self._saving, "position", None)

    def _save(self, *aggregates: Any) -> None:
        try:
            recordings = self.save(*aggregates, **getattr(self._saving, "kwargs", {}))
            if recordings:
                self._saving.position = recordings[-1].notification.id
        except IntegrityError:
            # Someone else wrote the same stream version between our read and our write.
            raise VersionMismatch(
                "the development was changed by another request; read it again and retry"
            ) from None

    def _actor(self, actor_id: str) -> Actor:
        try:
            return self.repository.get(actor_stream_id(actor_id))
        except AggregateNotFoundError:
            raise NotFound(f"no actor {actor_id!r}", "id") from None

    def has_actor(self, actor_id: str) -> bool:
        return self.actors.exists(actor_id)

    def development(self, ident: UUID | str, expected_version: int | None = None) -> Development:
        """The development's aggregate (at the version the caller expects): for the commands,
        and for in-process writers (seeding, synth) that move it on through its own commands
        and hand it to save_prepared."""
        try:
            development = self.repository.get(as_uuid(ident))
        except AggregateNotFoundError:
            raise NotFound(f"no development {ident}", "id") from None
        if not isinstance(development, Development):
            raise NotFound(f"no development {ident}", "id")
        if expected_version is not None and development.version != expected_version:
            raise VersionMismatch(
                f"the development is at version {development.version}, not {expected_version}",
                "version",
            )
        return development


class KnownActors:
    """Which actors are registered, for the rules that name them: an unknown actor in a write
    is invalid input, in a query it is not found. Actors are never removed, so one that exists
    is remembered for good (no statement per query)."""

    def __init__(self, repository: Any) -> None:
        self.repository = repository
        self.known: set[str] = set()

    def exists(self, actor_id: str) -> bool:
        if actor_id in self.known:
            return True
        if actor_stream_id(actor_id) in self.repository:
            self.known.add(actor_id)
            return True
        return False

    def check(self, actor_ids: Iterable[str], field: str) -> None:
        """Actors named in a write."""
        for actor_id in actor_ids:
            if not self.exists(actor_id):
                raise UnknownActor(f"unknown actor {actor_id!r}", field)

    def require(self, actor_ids: Iterable[str]) -> None:
        """Actors a query is about."""
        for actor_id in actor_ids:
            if not self.exists(actor_id):
                raise NotFound(f"no actor {actor_id!r}", "actor")
