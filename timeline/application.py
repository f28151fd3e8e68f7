"""The Timeline application: the only door into the domain.

Commands record events and return ids; queries return plain values (dicts and lists of JSON
types) that the CLI and the API print or serve as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
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
from timeline.history import history_entry
from timeline.readmodel import ReadModel
from timeline.relationships import Relationship, fold, pair_of, replay
from timeline.schemas import dump_development
from timeline.vocabulary import ActorKind, Certainty, Kind, Stance, Status


class VersionMismatch(Conflict):
    """The development changed since the version the caller last saw."""


class Timeline(Application):
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
        self._known_actors: set[str] = set()

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
        self._check_actors(belongs_to, "belongs_to")
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
        self._check_actors(merged["belongs_to"], "belongs_to")
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
        self._check_actors(content.actor_ids(), "actors")
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
                self._check_actors(actors_named(event), "actors")
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
        self._check_actors([p.actor for p in changes.get("actors", ())], "changes.actors")
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

    # --- queries ----------------------------------------------------------------------------

    def get_actor(self, actor_id: str) -> dict[str, Any]:
        found = self.read_model.current().select_actors([actor_id])
        if not found:
            raise NotFound(f"no actor {actor_id!r}", "id")
        return found[0]

    def list_actors(self) -> list[dict[str, Any]]:
        return self.read_model.current().select_actors()

    def get_development(
        self, ident: UUID | str, known_at: datetime | None = None
    ) -> dict[str, Any]:
        """The development (as known at `known_at`) with the history of its versions."""
        ident = as_uuid(ident)
        events = [e for e in self._events(ident) if known_at is None or e.timestamp <= known_at]
        if not events:
            raise NotFound(f"development {ident} was not recorded by {known_at.isoformat()}")
        development = self.repository.get(ident, version=events[-1].originator_version)
        return {
            **dump_development(development, events[-1].timestamp),
            "history": [history_entry(e) for e in events],
        }

    def list_developments(
        self,
        *,
        actors: Sequence[str] = (),
        kind: Kind | None = None,
        status: Status | None = None,
        certainty: Certainty | None = None,
        start: date | None = None,
        end: date | None = None,
        known_at: datetime | None = None,
        after: tuple[str, str, str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Developments in world-date order (earliest day, then latest day, then id).

        `actors` matches developments involving any of them or any actor that belongs to them
        (China's developments include those of Wang Yi and of Hong Kong); an unknown actor is
        NotFound, not an empty timeline.
        """
        self._require_actors(actors)
        view = self.read_model.current()
        return view.select_developments(
            actors=sorted(view.select_members(actors)) if actors else (),
            kind=kind and kind.value,
            status=status and status.value,
            certainty=certainty and certainty.value,
            start=start,
            end=end,
            known_at=known_at,
            after=after,
            limit=limit,
        )

    def get_relationship(
        self, a: str, b: str, *, as_of: date | None = None, known_at: datetime | None = None
    ) -> dict[str, Any]:
        """The state of the pair (either order) as of a world date, as known at a moment.

        Cost: O(developments of the pair), through the (a, b) index.
        """
        self._require_actors([a, b])
        if a == b:
            raise InvalidInput("a relationship needs two different actors", "pair")
        linked = self.read_model.links(pair=(a, b), known_at=known_at, as_of=as_of)
        pair = pair_of(a, b)
        return fold(linked, as_of).get(pair, Relationship(pair)).as_dict()

    def list_relationships(
        self,
        *,
        actor: str | None = None,
        as_of: date | None = None,
        known_at: datetime | None = None,
        stance: Stance | None = None,
    ) -> list[dict[str, Any]]:
        """Every pair (or every pair of one actor), by pair, as of a date, as known at a moment.

        Cost: O(developments of the actor's pairs) with `actor`; O(all developments) without.
        """
        if actor is not None:
            self._require_actors([actor])
        linked = self.read_model.links(actor=actor, known_at=known_at, as_of=as_of)
        states = [
            relationship.as_dict()
            for pair, relationship in sorted(fold(linked, as_of).items())
            if actor is None or actor in pair
        ]
        return [s for s in states if stance is None or s["stance"] == stance.value]

    def replay(
        self,
        *,
        until: date | None = None,
        start: date | None = None,
        pair: tuple[str, str] | None = None,
        known_at: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The ordered steps that built the relationships (of one pair, or all) up to `until`."""
        if pair is not None:
            self._require_actors(list(pair))
        linked = self.read_model.links(pair=pair, known_at=known_at, as_of=until)
        if pair is not None:
            linked = [link for link in linked if link.pair == pair_of(*pair)]
        return replay(linked, until=until, start=start)

    # --- helpers ----------------------------------------------------------------------------

    def _change(
        self, ident: UUID | str, expected_version: int | None, command: Any
    ) -> int:
        """Run one of a development's commands on it and save what it recorded."""
        development = self.development(ident, expected_version)
        command(development)
        self._save(development)
        return development.version

    def _save(self, *aggregates: Any) -> None:
        try:
            self.save(*aggregates)
        except IntegrityError:
            # Someone else wrote the same stream version between our read and our write.
            raise VersionMismatch(
                "the development was changed by another request; read it again and retry"
            ) from None

    def has_actor(self, actor_id: str) -> bool:
        # Actors are never removed, so one that exists is remembered for good.
        if actor_id in self._known_actors:
            return True
        if actor_stream_id(actor_id) in self.repository:
            self._known_actors.add(actor_id)
            return True
        return False

    def _check_actors(self, actor_ids: Sequence[str], field: str) -> None:
        """Actors named in a write: an unknown one is invalid input."""
        for actor_id in actor_ids:
            if not self.has_actor(actor_id):
                raise UnknownActor(f"unknown actor {actor_id!r}", field)

    def _require_actors(self, actor_ids: Sequence[str]) -> None:
        """Actors a query is about: an unknown one is not found."""
        for actor_id in actor_ids:
            if not self.has_actor(actor_id):  # remembered once seen: no statement per query
                raise NotFound(f"no actor {actor_id!r}", "actor")

    def _actor(self, actor_id: str) -> Actor:
        try:
            return self.repository.get(actor_stream_id(actor_id))
        except AggregateNotFoundError:
            raise NotFound(f"no actor {actor_id!r}", "id") from None

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

    def _events(self, ident: UUID | str) -> list[Any]:
        events = list(self.events.get(as_uuid(ident)))
        if not events or not isinstance(events[0], Development.Recorded):
            raise NotFound(f"no development {ident}", "id")
        return events
