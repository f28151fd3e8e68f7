"""Seed files: human-editable TOML, validated by the API's schemas and applied idempotently.

A seed directory holds `actors.toml` and any number of development files. Each development
entry has a stable `key` (its id is uuid5 of it) and may list the later events of its history
(corrections, status changes, retractions) in the order they were recorded.

Loading is idempotent: an entry already in the store whose final form is unchanged records
nothing; an entry edited since it was loaded is recorded as a correction (and, where its
status or retraction changed, as a status change or retraction), never as a new development.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from marshmallow import ValidationError, post_load, validate
from marshmallow import fields as ma_fields

from timeline.application import Timeline
from timeline.domain import CONTENT_FIELDS, Development, TimelineError, development_id
from timeline.schemas import (
    ActorSchema,
    CorrectionSchema,
    DevelopmentInputSchema,
    RetractionSchema,
    StatusChangeSchema,
)

RECORDED_BY = "seed"
HISTORY_SCHEMAS = {
    "corrected": CorrectionSchema,
    "status_changed": StatusChangeSchema,
    "retracted": RetractionSchema,
}


class SeedError(Exception):
    """A seed file is unreadable or invalid; the message names the file and the entry."""


class HistoryEntry(ma_fields.Field):
    """One later event of a seeded development, validated by the API's schema for its type."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or value.get("type") not in HISTORY_SCHEMAS:
            raise ValidationError(f"type must be one of {', '.join(HISTORY_SCHEMAS)}")
        body = {k: v for k, v in value.items() if k != "type"}
        return {"type": value["type"], **HISTORY_SCHEMAS[value["type"]]().load(body)}


class SeedDevelopmentSchema(DevelopmentInputSchema):
    key = ma_fields.String(required=True, validate=validate.Length(min=1))
    history = ma_fields.List(HistoryEntry(), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Any:
        key, history = data.pop("key"), data.pop("history")
        return SimpleNamespace(**vars(super().make(data, **kwargs)), key=key, history=history)


@dataclass
class SeedReport:
    actors_registered: int = 0
    actors_corrected: int = 0
    developments_recorded: int = 0
    corrections: int = 0
    status_changes: int = 0
    retractions: int = 0
    unchanged: int = 0

    @property
    def events(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self) if f.name != "unchanged")

    def __str__(self) -> str:
        return ", ".join(
            f"{getattr(self, f.name)} {f.name.replace('_', ' ')}" for f in fields(self)
        )


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


def seed(app: Timeline, path: Path) -> SeedReport:
    """Apply a seed directory to the store; returns what it recorded."""
    actors, developments = load(path)
    report = SeedReport()
    try:
        for actor in actors:
            _seed_actor(app, actor, report)
        for file, development in developments:
            _seed_development(app, file, development, report)
    except TimelineError as error:
        raise SeedError(f"{path}: {error.message}") from None
    app.catch_up()  # so the read model is current when seeding ends, not at the first query
    return report


def _seed_actor(app: Timeline, entry: dict[str, Any], report: SeedReport) -> None:
    slug = entry["id"]
    try:
        current = app.get_actor(slug)
    except TimelineError:
        app.register_actor(
            slug, entry["name"], entry["kind"], entry["aliases"], entry["belongs_to"],
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
        app.correct_actor(slug, changes, "seed file changed", recorded_by=RECORDED_BY)
        report.actors_corrected += 1


def _seed_development(app: Timeline, file: Path, entry: Any, report: SeedReport) -> None:
    ident = development_id(entry.key)
    wanted = _final_form(ident, entry)
    if ident not in app.repository:
        # Recorded with its whole history in one transaction: no half-seeded entry.
        app.record_prepared(wanted)
        report.developments_recorded += 1
        for event in entry.history:
            counter = {"corrected": "corrections", "status_changed": "status_changes",
                       "retracted": "retractions"}[event["type"]]
            setattr(report, counter, getattr(report, counter) + 1)
        return
    stored: Development = app.repository.get(ident)
    if stored.retracted:
        if not wanted.retracted:
            raise SeedError(f"{file}: {entry.key}: retracted in the store; it cannot come back")
        report.unchanged += 1
        return
    changed = False
    reason = f"seed entry {entry.key} changed in {file.name}"
    if wanted.status is not stored.status:
        app.change_status(
            ident, wanted.status, reason, date=wanted.content.date, recorded_by=RECORDED_BY
        )
        report.status_changes += 1
        changed = True
        stored = app.repository.get(ident)
    changes = {
        name: getattr(wanted.content, name)
        for name in CONTENT_FIELDS
        if getattr(wanted.content, name) != getattr(stored.content, name)
    }
    if changes:
        app.correct_development(
            ident, changes, reason, wanted.content.sources[-1], recorded_by=RECORDED_BY
        )
        report.corrections += 1
        changed = True
    if wanted.retracted:
        app.retract_development(ident, reason, recorded_by=RECORDED_BY)
        report.retractions += 1
        changed = True
    if not changed:
        report.unchanged += 1


def _final_form(ident: Any, entry: Any) -> Development:
    """The development as the seed entry describes it after its whole history, not saved."""
    development = Development(
        id=ident, content=entry.content, status=entry.status, key=entry.key,
        recorded_by=RECORDED_BY,
    )
    for event in entry.history:
        kind = event["type"]
        if kind == "corrected":
            development.correct(event["changes"], event["reason"], event["source"], RECORDED_BY)
        elif kind == "status_changed":
            development.change_status(
                event["status"], event["reason"], event["source"], RECORDED_BY, event["date"]
            )
        else:
            development.retract(event["reason"], RECORDED_BY, event["source"])
    return development
