"""Seed files: human-editable TOML, validated by the API's schemas and applied idempotently.

A seed directory holds `actors.toml` and any number of development files. Each development
entry has a stable `key` (its id is uuid5 of it) and may list the later events of its history
(corrections, status changes, retractions) in the order they were recorded.

Loading is idempotent: an entry already in the store whose final form is unchanged records
nothing. An entry loaded before from an older seed file is brought up to date by appending
what changed, never by editing or re-recording it: history entries the store does not hold yet
are recorded as the events they state (a status change, a correction, a retraction), as on a
fresh load; an entry edited in place is then recorded as a correction (and, where its status or
retraction changed, as a status change or retraction), never as a new development.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from marshmallow import ValidationError, post_load, validate
from marshmallow import fields as ma_fields

from timeline.application import Timeline
from timeline.domain import (
    CONTENT_FIELDS,
    Development,
    NotFound,
    TimelineError,
    development_id,
)
from timeline.history import EVENT_TYPES, later_event_types
from timeline.progress import SEEDED, Progress
from timeline.schemas import ActorSchema, DevelopmentInputSchema

RECORDED_BY = "seed"


class SeedError(Exception):
    """A seed file is unreadable or invalid; the message names the file and the entry."""


class HistoryEntry(ma_fields.Field):
    """One later event of a seeded development, validated by the API's schema for its type."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        types = later_event_types()
        if not isinstance(value, dict) or value.get("type") not in types:
            raise ValidationError(f"type must be one of {', '.join(types)}")
        body = {k: v for k, v in value.items() if k != "type"}
        return {"type": value["type"], **types[value["type"]].schema().load(body)}


class SeedDevelopmentSchema(DevelopmentInputSchema):
    key = ma_fields.String(required=True, validate=validate.Length(min=1))
    history = ma_fields.List(HistoryEntry(), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Any:
        key, history = data.pop("key"), data.pop("history")
        return SimpleNamespace(**vars(super().make(data, **kwargs)), key=key, history=history)


@dataclass
class SeedReport:
    """What a seed run recorded: actors, developments, and later events by type."""

    actors_registered: int = 0
    actors_corrected: int = 0
    developments_recorded: int = 0
    later: Counter[str] = field(default_factory=Counter)  # by event type name
    unchanged: int = 0

    def count(self, event_type: str) -> int:
        """How many later events of this type (see timeline.history) were recorded."""
        return self.later[event_type]

    @property
    def events(self) -> int:
        return (
            self.actors_registered + self.actors_corrected + self.developments_recorded
            + self.later.total()
        )

    def __str__(self) -> str:
        counts = [
            (self.actors_registered, "actors registered"),
            (self.actors_corrected, "actors corrected"),
            (self.developments_recorded, "developments recorded"),
            *((self.later[name], t.counter.replace("_", " "))  # type: ignore[union-attr]
              for name, t in later_event_types().items()),
            (self.unchanged, "unchanged"),
        ]
        return ", ".join(f"{number} {label}" for number, label in counts)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise SeedError(f"{path}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SeedError(f"{path}: not valid TOML: {error}") from None


def existing(path: Path) -> Path:
    """The path, which must exist: a seed path that is not there is an error, never no data."""
    if not path.exists():
        raise SeedError(f"{path}: no such seed file or directory")
    return path


@contextmanager
def bundled() -> Iterator[Path]:
    """The seed data shipped in the package (`timeline/seeds`, a link to the repository's
    `seeds/` that a build copies), so it is there wherever the service starts."""
    with resources.as_file(resources.files("timeline") / "seeds") as path:
        yield existing(path)


def load(path: Path) -> tuple[list[dict[str, Any]], list[tuple[Path, Any]]]:
    """Read and validate a seed directory (or one development file): (actors, developments)."""
    existing(path)
    files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
    actors: list[dict[str, Any]] = []
    developments: list[tuple[Path, Any]] = []
    keys: dict[str, Path] = {}
    for file in files:
        data = read_toml(file)
        unknown = set(data) - {"actors", "developments"}
        if unknown:
            raise SeedError(f"{file}: unknown tables {', '.join(sorted(unknown))}")
        for number, entry in enumerate(data.get("actors", []), 1):
            actors.append(_validated(ActorSchema(), entry, file, f"actor {number}"))
        for number, entry in enumerate(data.get("developments", []), 1):
            label = f"development {number} ({entry.get('key', 'no key')})"
            development = _validated(SeedDevelopmentSchema(), entry, file, label)
            if development.key in keys:
                raise SeedError(f"{file}: {label}: key also used in {keys[development.key]}")
            keys[development.key] = file
            developments.append((file, development))
    return actors, developments


def _validated(schema: Any, entry: Any, file: Path, label: str) -> Any:
    try:
        return schema.load(entry)
    except ValidationError as error:
        raise SeedError(f"{file}: {label}: {_flatten(error.messages)}") from None


def _flatten(messages: Any, prefix: str = "") -> str:
    if isinstance(messages, dict):
        return "; ".join(_flatten(value, f"{prefix}{key}.") for key, value in messages.items())
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return f"{prefix.rstrip('.')}: {' '.join(messages)}"
    if isinstance(messages, list):
        return "; ".join(_flatten(m, prefix) for m in messages)
    return f"{prefix.rstrip('.')}: {messages}"


def seed(app: Timeline, path: Path, progress: Progress | None = None) -> SeedReport:
    """Apply a seed directory to the store; returns what it recorded. `progress` hears of
    each entry (an actor or a development) and then of the read model's catch-up."""
    actors, developments = load(path)
    report = SeedReport()
    entries = len(actors) + len(developments)
    if progress is not None:
        progress(SEEDED, 0, entries)
    try:
        for done, actor in enumerate(actors, 1):
            _seed_actor(app, actor, report)
            if progress is not None:
                progress(SEEDED, done, entries)
        for done, (file, development) in enumerate(developments, len(actors) + 1):
            _seed_development(app, file, development, report)
            if progress is not None:
                progress(SEEDED, done, entries)
    except TimelineError as error:
        raise SeedError(f"{path}: {error.message}") from None
    # The read model is current when seeding ends, not at a query.
    app.read_model.catch_up_bulk(progress=progress)
    return report


def _seed_actor(app: Timeline, entry: dict[str, Any], report: SeedReport) -> None:
    actor_id = entry["id"]
    try:
        current = app.get_actor(actor_id)
    except TimelineError:
        app.register_actor(
            actor_id, entry["name"], entry["kind"], entry["aliases"], entry["belongs_to"],
            recorded_by=RECORDED_BY,
        )
        report.actors_registered += 1
        return
    wanted = {
        "name": entry["name"],
        "kind": entry["kind"],
        "aliases": tuple(entry["aliases"]),
        "belongs_to": tuple(entry["belongs_to"]),
    }
    changes = {
        name: value
        for name, value in wanted.items()
        if (value.value if name == "kind" else list(value) if isinstance(value, tuple)
            else value) != current[name]
    }
    if changes:
        app.correct_actor(actor_id, changes, "seed file changed", recorded_by=RECORDED_BY)
        report.actors_corrected += 1


def _seed_development(app: Timeline, file: Path, entry: Any, report: SeedReport) -> None:
    ident = development_id(entry.key)
    wanted = _final_form(ident, entry)
    try:
        stored = app.development(ident)
    except NotFound:
        # Recorded with its whole history in one transaction: no half-seeded entry.
        app.save_prepared(wanted)
        report.developments_recorded += 1
        report.later.update(event["type"] for event in entry.history)
        return
    if stored.retracted:
        if not wanted.retracted:
            raise SeedError(f"{file}: {entry.key}: retracted in the store; it cannot come back")
        report.unchanged += 1
        return
    _append_new_history(app, stored, entry, wanted)
    _reconcile(stored, wanted, f"seed entry {entry.key} changed in {file.name}")
    if not stored.pending_events:
        report.unchanged += 1
        return
    # The new history and any remaining edit in one transaction, as a fresh load would be.
    recorded = [EVENT_TYPES[type(event)].name for event in stored.pending_events]
    app.save_prepared(stored)
    report.later.update(recorded)


def _append_new_history(app: Timeline, stored: Development, entry: Any,
                        wanted: Development) -> None:
    """Apply the entry's history events that the store does not hold yet, through the
    development's own commands, so an older store gets the same kinds of events (a status
    change, a correction) as a fresh load rather than one catch-all correction."""
    # The event each history entry makes on a fresh load, beside the entry it comes from.
    made = list(zip(entry.history, wanted.pending_events[1:], strict=True))
    held = [_details(event) for event in list(app.events.get(stored.id))[1:]]
    types = later_event_types()
    for history_entry, event in made:
        if _details(event) in held:
            held.remove(_details(event))  # counted once: the same event may be stated twice
            continue
        make = types[history_entry["type"]].make
        try:
            make(stored, history_entry, RECORDED_BY)  # type: ignore[misc]
        except TimelineError:
            # The store already moved on by other means (say, the status was changed through
            # the API): the entry no longer applies, and _reconcile settles any difference.
            continue


def _details(event: Any) -> tuple[str, dict[str, Any]]:
    """An event as its type and what a history shows of it: equal for the same later event
    whenever and by whomever it was recorded."""
    event_type = EVENT_TYPES[type(event)]
    return event_type.name, event_type.details(event)


def _reconcile(stored: Development, wanted: Development, reason: str) -> None:
    """Bring the development to the entry's final form where the entry was edited in place
    (not by a history entry): a status change, a correction, a retraction, as needed."""
    if stored.retracted:  # by a history entry just appended, as in the final form
        return
    if wanted.status is not stored.status:
        stored.change_status(wanted.status, reason, None, RECORDED_BY, wanted.content.date)
    changes = {
        name: getattr(wanted.content, name)
        for name in CONTENT_FIELDS
        if getattr(wanted.content, name) != getattr(stored.content, name)
    }
    if changes:
        stored.correct(changes, reason, wanted.content.sources[-1], RECORDED_BY)
    if wanted.retracted:
        stored.retract(reason, RECORDED_BY)


def _final_form(ident: Any, entry: Any) -> Development:
    """The development as the seed entry describes it after its whole history, not saved."""
    development = Development(
        id=ident, content=entry.content, status=entry.status, key=entry.key,
        recorded_by=RECORDED_BY,
    )
    types = later_event_types()
    for event in entry.history:
        types[event["type"]].make(development, event, RECORDED_BY)  # type: ignore[misc]
    return development
