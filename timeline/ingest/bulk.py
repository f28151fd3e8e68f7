"""The bulk path both importers share: rows read from files become developments, saved in
batched transactions, idempotently, with bad rows reported and skipped (or, strictly, fatal).

An importer turns each line of a file into a `Row` (a development as the dataset states it,
under a stable key) or a `BadRow` (why it cannot be one). A row whose key is already recorded
records nothing when it states the same; when the dataset has revised it, and the importer
allows revisions, it is recorded as a correction of that development.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, BinaryIO
from uuid import UUID

from timeline.application import Timeline
from timeline.domain import CONTENT_FIELDS, Content, Development, Provenance, development_id
from timeline.progress import RECORDED, Progress
from timeline.vocabulary import ActorKind, Status

BATCH = 1000  # developments per transaction: one commit, and one disk flush, per batch


class IngestError(Exception):
    """A file cannot be ingested at all (missing, unreadable, or a bad row under --strict)."""


@dataclass(frozen=True)
class ActorNeeded:
    """An actor a row names, registered when the store does not hold it yet."""

    actor_id: str
    name: str
    kind: ActorKind
    aliases: tuple[str, ...] = ()
    belongs_to: tuple[str, ...] = ()  # registered before it, among the same row's actors


@dataclass(frozen=True)
class Row:
    """One dataset record as a development: its content, its actors, and where it came from
    (whose dataset and record id make its stable key)."""

    content: Content
    actors: tuple[ActorNeeded, ...]
    provenance: Provenance
    revision_reason: str | None = None  # set when the dataset revises records in place

    @property
    def key(self) -> str:
        return f"{self.provenance.dataset.value}:{self.provenance.record_id}"

    def reason_for(self, held: Content, changes: dict[str, Any]) -> str | None:
        """Why `changes` correct the version held (`held`): the dataset revised the record,
        unless an importer knows better (ACLED, see acled.AcledRow)."""
        return self.revision_reason


@dataclass(frozen=True)
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class IngestReport:
    recorded: int = 0
    corrected: int = 0
    unchanged: int = 0
    actors_registered: int = 0
    skipped: list[BadRow] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.recorded} recorded, {self.corrected} corrected, {self.unchanged} unchanged,"
            f" {len(self.skipped)} skipped; {self.actors_registered} actors registered"
        )


def members(path: Path) -> Iterator[tuple[str, BinaryIO]]:
    """(name, open binary file) of a file, or of each member of a .zip."""
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    with archive.open(member) as file:
                        yield f"{path}!{member}", file
            return
        with path.open("rb") as file:
            yield str(path), file
    except (OSError, zipfile.BadZipFile) as error:
        raise IngestError(f"{path}: cannot read: {error}") from None


def lines_of(path: Path) -> Iterator[tuple[str, int, bytes]]:
    """(file name, line number, raw line) of a file, or of each member of a .zip: as bytes,
    so that a line that is not UTF-8 is one bad row, not the end of the file."""
    for name, file in members(path):
        for number, line in enumerate(file, 1):
            yield name, number, line


def decoded(line: bytes) -> str:
    """The line as text, without its line ending; UnicodeDecodeError when it is not UTF-8."""
    return line.decode("utf-8").rstrip("\r\n")


SLUG_CHARACTERS = re.compile(r"[^a-z0-9]+")


def file_name(file: str) -> str:
    """A file as provenance names it: without the directories it was read from on this
    machine (`20240410101500.export.CSV`, or `archive.zip!member`)."""
    return PurePath(file).name


def slug(text: str, prefix: str) -> str:
    """An actor id made from a dataset's name or code for it (`cameo-rusgov`, `ukraine`)."""
    body = SLUG_CHARACTERS.sub("-", text.lower()).strip("-")[:60].strip("-")
    return f"{prefix}-{body}" if prefix and body else body or prefix


def ingest(
    app: Timeline,
    rows: Iterable[Row | BadRow],
    *,
    strict: bool = False,
    batch: int = BATCH,
    progress: Progress | None = None,
    recorded_by: str,
) -> IngestReport:
    """Record the rows of one file. Under `strict`, the first bad row raises IngestError
    before anything of the file is recorded; otherwise bad rows are skipped and reported."""
    report = IngestReport()
    good: list[Row] = []
    for row in rows:
        if isinstance(row, BadRow):
            if strict:
                raise IngestError(f"{row} (--strict: nothing recorded from this file)")
            report.skipped.append(row)
        else:
            good.append(row)
    if progress is not None:
        progress(RECORDED, 0, len(good))
    for start in range(0, len(good), batch):
        _record_batch(app, good[start:start + batch], report, recorded_by)
        if progress is not None:
            progress(RECORDED, min(start + batch, len(good)), len(good))
    return report


def _record_batch(app: Timeline, rows: list[Row], report: IngestReport, recorded_by: str) -> None:
    unsaved: dict[UUID, Development] = {}
    present = app.recorder.streams_present(  # type: ignore[attr-defined]
        list({development_id(row.key) for row in rows}))
    for row in rows:
        for actor in row.actors:
            if not app.has_actor(actor.actor_id):
                app.register_actor(actor.actor_id, actor.name, actor.kind, actor.aliases,
                                   actor.belongs_to, recorded_by=recorded_by)
                report.actors_registered += 1
        ident = development_id(row.key)
        development = unsaved.get(ident)
        if development is None:
            if ident in present and row.revision_reason is None:
                report.unchanged += 1  # a dataset whose records never change: nothing to read
                continue
            if ident in present:
                development = app.development(ident)
            else:
                unsaved[ident] = Development(id=ident, content=row.content,
                                             status=Status.OCCURRED, key=row.key,
                                             recorded_by=recorded_by, provenance=row.provenance)
                report.recorded += 1
                continue
        if _revise(development, row, recorded_by):
            unsaved[ident] = development
            report.corrected += 1
        else:
            report.unchanged += 1
    if unsaved:
        app.save_prepared(*unsaved.values())


def _revise(development: Development, row: Row, recorded_by: str) -> bool:
    """Record the dataset's newer version of a development as a correction; False when the
    row states nothing new (or the dataset is one whose records never change).

    A version that changes only the dataset's own coding (ACLED's fatalities) is a correction
    too: its source, which cites the new coding, joins the development's sources."""
    if row.revision_reason is None or development.retracted:
        return False
    source = row.content.sources[-1]
    if development.reported_on is not None and source.reported_on.latest < development.reported_on:
        return False  # an older version than the one recorded: history does not go back
    changes = {
        name: getattr(row.content, name)
        for name in CONTENT_FIELDS
        if name != "sources" and getattr(row.content, name) != getattr(development.content, name)
    }
    held = development.provenance
    if not changes and held is not None and held.coding != row.provenance.coding:
        changes["sources"] = (*development.content.sources, source)
    if not changes:
        return False
    reason = row.reason_for(development.content, changes) or row.revision_reason
    development.correct(changes, reason, source, recorded_by, row.provenance)
    return True
