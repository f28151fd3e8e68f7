"""The read model: a materialised view of actors and of every version of every development.

The view is an eventsourcing tracking recorder: each event's rows are written in the same
transaction as its tracking record, so each event is applied exactly once, even when several
processes catch up at the same moment or one of them dies half-way.

Development versions are kept on the three time axes (see timeline.axes): each row holds the
record-time interval [recorded_at, superseded_at) in which it was the current version, the day
from which it counts in knowledge time (`reported_from`), and the first day it can stand in
world time (`begins`). Each axis is then a condition on the rows of one index range, not a
replay.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import json
import logging
import os
import threading
import time
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, singledispatch
from itertools import groupby
from typing import Any, ClassVar, NamedTuple
from uuid import UUID

from eventsourcing.application import Application, Repository
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.projection import Projection
from eventsourcing.sqlite import SQLiteTrackingRecorder

from timeline.axes import NOW, Axes
from timeline.domain import Actor, Development, PartialDate, Participation, stored_date
from timeline.progress import OUTLINED, PROJECTED, Progress
from timeline.relationships import (
    ROLE_INDEX,
    Chapter,
    ChapterKey,
    Fact,
    Linked,
    Relationship,
    ReportChapter,
    ReportKey,
    Share,
    Tally,
    VersionRef,
    fold_chapters,
    links,
    moments_of,
    own_fold,
    pair_of,
    report_chapters,
    share_of,
)
from timeline.schemas import dump_date, dump_provenance, dump_source
from timeline.store import Dialect, SQLiteDialect, StoreError
from timeline.vocabulary import MUTUAL_TIES, Role, TieKind

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# JSON as the view stores it, with no spaces between the items: one encoder, made once
# (json.dumps with arguments builds a new one at every call). What it encodes (a version's
# document and status spans, each made afresh) has no cycles: not checking for them gives the
# same text a sixth faster.
COMPACT = (",", ":")
encode_compact = json.JSONEncoder(separators=COMPACT, check_circular=False).encode

# The shape of the view's tables. A store whose view was built in another shape has its view
# dropped and rebuilt from the events when it is opened (the events are the truth; the view is
# derived), so upgrading Timeline never needs a hand-written migration of the view.
# 4: knowledge time (reported_from), world time from `begins`; actors keyed by id.
# 5: each source in a development's document has its `language`.
# 6: the moments of each version (a replay's page found in an index).
# 7: links reference their version's row, and a version's fact is read from its document
# (each fact stored once); each version keeps its development's dataset.
# 8: a version's row is keyed by its event's position, which its links, moments and
# participants reference (an integer, not the development's id and version); its document
# and status spans are stored deflated (see pack_document); participants keep no role; on
# PostgreSQL, development ids are UUIDs and links and participants have no unique key.
# 9: a version's fact is stored beside its document, in a column of its own (see
# relationships.StoredFact), so that a relationship query neither inflates nor parses a
# document; the document leaves out what the fact gives back, and the status spans are in the
# fact.
# 10: each pair's outline as it stands now (pair_outlines), read by a page of relationships.
# 11: outlines kept in a compact form (pack_outline), a fifth of their JSON.
# 12: the marks of pairs to outline in their own table (pair_marks).
# 13: chapters of busy pairs' replays (pair_chapters, pair_report_chapters).
# 14: chapters of 8 moments (or reports), a run of them to a row, packed (pack_chapters).
VIEW_SHAPE = 14


# The largest backlog a read applies itself unless the store says otherwise (see ReadModel).
READ_CATCH_UP = 1000

# What one thread keeps while it applies a run of events in one transaction.
RUN = threading.local()


def micros(moment: datetime) -> int:
    """Record time as integer microseconds since the epoch: exact (no float rounding), and
    ordered as numbers."""
    return (moment - EPOCH) // MICROSECOND


MICROSECOND = timedelta(microseconds=1)  # made once: micros runs for every version written


# A version's document as its row keeps it: without the fields its columns and its fact hold
# (see stored_document_of), which read_document puts back in the order dump_development gives
# them.
FROM_COLUMNS = ("id", "dataset", "version", "recorded_at", "status", "retracted", "kind",
                "certainty")
DOCUMENT_KEYS = ("id", "key", "dataset", "provenance", "version", "recorded_at", "status",
                 "retracted", "ended", "kind", "summary", "actors", "date", "certainty", "sources",
                 "planned_for", "place", "items", "quote")
# The columns read_document reads, of the versions' alias v.
DOCUMENT_COLUMNS = ("v.development_id", "v.dataset", "v.version", "v.recorded_at", "v.status",
                    "v.retracted", "v.kind", "v.certainty", "v.document", "v.fact",
                    "v.reported_from")
# The columns a version's fact is read from (see fact_of): a relationship query reads no more.
FACT_COLUMNS = ("v.development_id", "v.version", "v.kind", "v.status", "v.certainty",
                "v.retracted", "v.reported_from", "v.fact")
ROLES = tuple(role.value for role in (Role.SOURCE, Role.TARGET, Role.PARTICIPANT))


def column_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """The document's fields a version's columns hold (see FROM_COLUMNS)."""
    return {
        "id": str(row["development_id"]),  # PostgreSQL gives a UUID
        "dataset": row["dataset"],
        "version": row["version"],
        "recorded_at": (EPOCH + timedelta(microseconds=row["recorded_at"])).isoformat(),
        "status": row["status"],
        "retracted": bool(row["retracted"]),
        "kind": row["kind"],
        "certainty": row["certainty"],
    }


def fact_values(fact: Sequence[Any]) -> dict[str, Any]:
    """The document's fields a version's stored fact gives back (see relationships.StoredFact):
    its summary, actors (sources, then targets, then participants), dates without a
    derivation, and items."""
    actors = []
    for role, ids in zip(ROLES, fact[3:6], strict=True):
        actors += [{"actor": actor_id, "role": role} for actor_id in ids]
    return {"summary": fact[7], "actors": actors, "date": dumped(fact[0]),
            "ended": dumped(fact[1]), "planned_for": dumped(fact[2]), "items": list(fact[6])}


def dumped(when: Sequence[Any] | None) -> dict[str, Any] | None:
    """A stored date (see relationships.stored) as a document dumps it (schemas.dump_date)."""
    return None if when is None else dump_date(stored_date(*when))


# What a version's stored document starts from (see pack_document): its fields' names and
# the values they often take, in the order they come. Deflate finds them here rather than
# spelling each out again in every row: what the columns and the fact leave of a synthetic
# document is stored in about a third of its JSON. The dictionary is part of the view's shape:
# changing it means a new VIEW_SHAPE (rows deflated with another dictionary would not read
# back).
DOCUMENT_DICTIONARY = (
    # The fields the fact usually gives back, for the documents that keep them.
    b'"ended":null,"summary":"","actors":[{"actor":"","role":"participant"},'
    b'{"actor":"","role":"source"},{"actor":"state-","role":"target"}],'
    b'"date":{"value":"","precision":"month","approximate":false,"derivation":null},'
    b'"planned_for":null,"items":[],'
    # What is usually left: the sourced and ingested forms.
    b'{"key":null,"provenance":null,"sources":[{"publication":"'
    b'{"key":null,"provenance":{"dataset":"gdelt","record_id":"","file":"","line":1,'
    b'"coding":{}},"sources":[{"publication":"","attribution":"","reported_on":{"value":"",'
    b'"precision":"day","approximate":true,"derivation":null},"passage":"","url":"https://",'
    b'"language":"en"}],"place":null,"quote":null}'
)
# Raw deflate (no header or checksum: the row is the unit, and SQLite and PostgreSQL keep
# their own page checks), with the largest window, which the dictionary must fit in.
DEFLATE_WINDOW = -15


def pack_document(rest: str) -> bytes:
    """A version's document as stored_document_of leaves it (compact JSON), deflated into the
    bytes its row stores."""
    packer = zlib.compressobj(9, zlib.DEFLATED, DEFLATE_WINDOW, 9, zdict=DOCUMENT_DICTIONARY)
    return packer.compress(rest.encode()) + packer.flush()


def deflated(text: str, dictionary: bytes) -> bytes:
    """Compact JSON deflated into the bytes a row stores, with a dictionary of its words."""
    packer = zlib.compressobj(9, zlib.DEFLATED, DEFLATE_WINDOW, 9, zdict=dictionary)
    return packer.compress(text.encode()) + packer.flush()


def inflated(packed: bytes, dictionary: bytes) -> Any:
    """What deflated packed, parsed."""
    return json.loads(zlib.decompressobj(DEFLATE_WINDOW, zdict=dictionary).decompress(packed))


def unpack_document(packed: bytes) -> dict[str, Any]:
    """The document without its columns' and its fact's fields (see pack_document)."""
    return json.loads(
        zlib.decompressobj(DEFLATE_WINDOW, zdict=DOCUMENT_DICTIONARY).decompress(packed))


def given_back(when: PartialDate | None) -> bool:
    """Whether a version's stored fact gives this date of its document back as dump_date
    dumps it: a stored date (see relationships.stored) is its text and whether it is
    approximate, which parse back to the same date, so only a derivation is lost."""
    return when is None or when.derivation is None


def in_role_order(actors: Sequence[Participation]) -> bool:
    """Whether a version's stored fact gives its actors back in their order: the fact keeps
    them by role (sources, then targets, then participants)."""
    last = 0
    for participation in actors:
        rank = ROLE_INDEX[participation.role]
        if rank < last:
            return False
        last = rank
    return True



def stored_document_of(development: Development, recorded_at: datetime, at: int) -> str:
    """What the view keeps of a version's document (dump_development): the fields the row's
    columns and its fact do not hold, or hold otherwise (a moment recorded in another zone, a
    date with its derivation, actors not in the order of their roles), made from the aggregate
    without dumping the others (a property test holds it to that definition, stored_document
    in tests/unit/test_readmodel.py): the view writes one for every event. `at`: the
    moment as its row's column keeps it (see micros)."""
    content = development.content
    rest: dict[str, Any] = {"key": development.key,
                            "provenance": dump_provenance(development.provenance)}
    # Its column gives a moment back in UTC (see column_values): the same text when it was
    # recorded in UTC, as eventsourcing records them.
    if recorded_at.tzinfo is not UTC:
        moment = recorded_at.isoformat()
        if moment != (EPOCH + timedelta(microseconds=at)).isoformat():
            rest["recorded_at"] = moment
    if not given_back(development.ended):
        rest["ended"] = dump_date(development.ended)
    # The summary and items are the fact's as they are.
    if not in_role_order(content.actors):
        rest["actors"] = [{"actor": p.actor, "role": p.role.value} for p in content.actors]
    if not given_back(content.date):
        rest["date"] = dump_date(content.date)
    rest["sources"] = [dump_source(source) for source in content.sources]
    if not given_back(content.planned_for):
        rest["planned_for"] = dump_date(content.planned_for)
    rest["place"] = content.place
    rest["quote"] = content.quote
    return encode_compact(rest)


def read_document(row: Mapping[str, Any], fact: Sequence[Any] | None = None) -> dict[str, Any]:
    """A version's document from its row (see stored_document_of and pack_document); `fact`,
    its stored fact already parsed."""
    rest = unpack_document(bytes(row["document"]))
    given = {**column_values(row), **fact_values(json.loads(row["fact"]) if fact is None
                                                  else fact)}
    document = {key: rest.pop(key) if key in rest else given[key]
                for key in DOCUMENT_KEYS if key in rest or key in given}
    document.update(rest)  # fields beyond DOCUMENT_KEYS, in their order
    return document


def fact_of(row: Mapping[str, Any], fact: Sequence[Any] | None = None) -> Fact:
    """A version's fact from its row (see FACT_COLUMNS); `fact`, its stored fact already
    parsed."""
    return Fact.from_stored(
        str(row["development_id"]),  # PostgreSQL gives a UUID
        row["version"], row["kind"], row["status"], row["certainty"], row["retracted"],
        row["reported_from"], json.loads(row["fact"]) if fact is None else fact)


def in_force(axes: Axes, alias: str = "v", every_version: bool = False
             ) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) on the rows of `alias` (development versions)
    for the version of each development in force on the axes (see timeline.axes),
    retracted ones left out; with `every_version`, every version reported and recorded by then,
    retracted ones included (a replay as the news arrived).

    Now, it is the current version; as known at T alone, the one whose record-time interval
    holds T; otherwise the latest version reported by R and recorded by T, which a lookup of the
    versions' primary key finds (O(versions of the development))."""
    if not axes.versioned:
        return ([] if every_version else [f"{alias}.retracted = 0",
                                          f"{alias}.superseded_at IS NULL"]), []
    axis_conditions, params = [], []
    if axes.reported_by is not None:
        axis_conditions.append("{w}.reported_from <= ?")
        params.append(axes.reported_by.isoformat())
    if axes.known_at is not None:
        axis_conditions.append("{w}.recorded_at <= ?")
        params.append(micros(axes.known_at))
    where = [c.format(w=alias) for c in axis_conditions]
    if every_version:
        return where, params
    if axes.reported_by is None:  # record time alone: its interval
        return [f"{alias}.retracted = 0", *where,
                f"({alias}.superseded_at IS NULL OR {alias}.superseded_at > ?)"], [*params, *params]
    later = " AND ".join(c.format(w="w") for c in axis_conditions)
    newer = (f"NOT EXISTS (SELECT 1 FROM {{development_versions}} w WHERE w.development_id ="
             f" {alias}.development_id AND w.version > {alias}.version AND {later})")
    where += [f"{alias}.retracted = 0", newer]
    return where, [*params, *params]


MUTUAL_KINDS = frozenset(kind.value for kind in MUTUAL_TIES)


# The words of a chapter row, for its deflation: the kinds of ties, in the JSON it packs.
CHAPTER_DICTIONARY = ",".join(f'["{kind.value}",1,1,0]' for kind in TieKind).encode()


def pack_run(run: Sequence[Any], state: Callable[[Any], Tally],
             rest: Callable[[Any], list[Any]]) -> bytes:
    """A run of a busy pair's chapters as a row keeps them, the first's key in the row's
    columns: `[[state, *rest], [key, change, *rest], ...]`, the first chapter's `state` in
    full (Tally.dumped), each later one's as the change from the one before it
    (Tally.change_to), then the rest of each (`rest`), deflated: a change of a few moments
    is a few counts, so that chapters four times as many cost the view little more."""
    items: list[Any] = []
    for i, chapter in enumerate(run):
        if i == 0:
            items.append([state(chapter).dumped(), *rest(chapter)])
        else:
            items.append([chapter.key, state(run[i - 1]).change_to(state(chapter)),
                          *rest(chapter)])
    return deflated(encode_compact(items), CHAPTER_DICTIONARY)


def unpack_run(pair: tuple[str, str], key: tuple[Any, ...], packed: bytes,
               made: Callable[[tuple[Any, ...], Tally | None, list[Any]], Any],
               since: tuple[Any, ...] | None = None, states: bool = True) -> list[Any]:
    """The chapters of a row (see pack_run), the first at `key`, each `made` of its key, its
    state and the rest of it. From `since` (a key), only the chapter it falls in (the row's
    first, where it falls in none) and those after it, and only the first of them with its
    state, the others with None; with `states` false, none of them with it: a page resumes
    a pair from one chapter, and needs of the others their keys and positions alone (see
    ViewQueries.read_chapters). Each state is the one before moved in place, copied only
    where it is kept."""
    (state, *rest), *later = inflated(packed, CHAPTER_DICTIONARY)
    items = [(key, state, rest), *((tuple(key_), change, rest) for key_, change, *rest in later)]
    at = 0 if since is None else max(0, bisect_right(items, since, key=lambda item: item[0]) - 1)
    tally = Tally.loaded(pair, state) if states else None
    found = []
    for i, (key_, change, rest) in enumerate(items):
        if tally is not None and i:
            tally.change(change)
        if i < at:
            continue
        if since is None:
            found.append(made(key_, None if tally is None else tally.copy(), rest))
        else:
            found.append(made(key_, tally, rest))
            tally = None  # the later ones need no state
    return found


def pack_chapters(chapters: Sequence[Chapter]) -> bytes:
    """A run of chapters in world time (see pack_run), each with its state up to a date
    (where it differs) as the change from its state to now, and its positions."""
    return pack_run(chapters, lambda chapter: chapter.now, lambda chapter: [
        None if chapter.until is None else chapter.now.change_to(chapter.until),
        chapter.positions])


def unpack_chapters(pair: tuple[str, str], key: ChapterKey, packed: bytes,
                    since: ChapterKey | None = None, states: bool = True) -> list[Chapter]:
    """The chapters of a row of pair_chapters (see pack_chapters; `since` and `states` as
    unpack_run takes them)."""
    return unpack_run(pair, key, packed, lambda key, now, rest: Chapter(
        key, now, None if rest[0] is None or now is None else now.changed(rest[0]), rest[1]),
        since, states)


def pack_report_chapters(chapters: Sequence[ReportChapter]) -> bytes:
    """A run of chapters by report (see pack_run), each with its reports and the versions in
    force before it."""
    return pack_run(chapters, lambda chapter: chapter.tally,
                    lambda chapter: [chapter.reports, chapter.before])


def unpack_report_chapters(pair: tuple[str, str], key: ReportKey, packed: bytes,
                           since: ReportKey | None = None, states: bool = True
                           ) -> list[ReportChapter]:
    """The chapters of a row of pair_report_chapters (see pack_report_chapters; `since` and
    `states` as unpack_run takes them)."""
    return unpack_run(pair, key, packed,
                      lambda key, tally, rest: ReportChapter(key, tally, *rest), since, states)


def rows_for(chapters: int, per_row: int) -> int:
    """The rows that hold at least this many chapters, `per_row` to a row."""
    return -(-chapters // per_row)


def pack_outline(outline: Mapping[str, Any]) -> str:
    """An outline (Relationship.outline) as pair_outlines keeps it: compact JSON without
    what the row's columns hold (the pair, the stance) or what follows from the rest (a
    tie's `mutual` from its kind, `active` from its `until`), each tie's direction as 1
    (from the pair's first actor) or 0: `[score, [[kind, 1|0, since, until, certainty],
    ...], developments, expected, possible]`, about a fifth of the JSON served."""
    first = outline["pair"][0]
    counts = outline["counts"]
    return json.dumps([
        outline["score"],
        [[tie["kind"], int(tie["from"] == first), tie["since"], tie["until"], tie["certainty"]]
         for tie in outline["ties"]],
        counts["developments"], counts["expected"], counts["possible"],
    ], separators=COMPACT)


def outline_row(state: Relationship | tuple[str, str]) -> tuple[str, str]:
    """A pair's stance and packed outline, as pair_outlines keeps them, from its state (or
    the row itself, made already)."""
    if isinstance(state, tuple):
        return state
    return state.stance._value_, pack_outline(state.outline())


def unpack_outlines(rows: Sequence[Mapping[str, Any]]
                    ) -> list[tuple[tuple[str, str], dict[str, Any] | None]]:
    """Each row's pair and its outline as served (see pack_outline), or None where the row
    holds none (a marked pair); all of them parsed by one json.loads."""
    kept = iter(json.loads("[" + ",".join(r["outline"] for r in rows if r["outline"] is not None)
                           + "]"))
    found: list[tuple[tuple[str, str], dict[str, Any] | None]] = []
    for row in rows:
        a, b = pair = (row["a"], row["b"])
        if row["outline"] is None:
            found.append((pair, None))
            continue
        score, ties, developments, expected, possible = next(kept)
        found.append((pair, {
            "pair": [a, b], "stance": row["stance"], "score": score,
            "ties": [{"kind": kind, "from": a if forward else b, "to": b if forward else a,
                      "mutual": kind in MUTUAL_KINDS, "since": since, "until": until,
                      "active": until is None, "certainty": certainty}
                     for kind, forward, since, until, certainty in ties],
            "counts": {"developments": developments, "expected": expected,
                       "possible": possible},
        }))
    return found


def affordable(pairs: Sequence[tuple[str, str]], sizes: Mapping[tuple[str, str], int],
               budget: int) -> int:
    """How many of the pairs, in order, hold at most `budget` links together, given their
    `sizes` (see ViewQueries.count_links; a pair it left uncounted is past the budget): the
    first pair always."""
    held = 0
    for i, pair in enumerate(pairs):
        held += sizes.get(pair, budget + 1)
        if held > budget and i:
            return i
    return len(pairs)


class Packed(NamedTuple):
    """A run of chapters as a row keeps it (see pack_chapters): the first one's key, the row's
    bytes, and the positions a page reads for them, at most (see Chapter.cost)."""

    key: tuple[Any, ...]
    chapters: bytes
    cost: int


def packed(chapters: Sequence[Chapter] | Sequence[ReportChapter]) -> Packed:
    """A run of chapters in world time or by report, packed as soon as made (see
    fold_chapters, report_chapters)."""
    pack = pack_chapters if isinstance(chapters[0], Chapter) else pack_report_chapters
    return Packed(chapters[0].key, pack(chapters),  # type: ignore[arg-type]
                  sum(chapter.cost for chapter in chapters))


class Book(NamedTuple):
    """A busy pair's chapters, of its replay in world time and by report (see pair_chapters),
    in runs packed as rows: both or neither."""

    happened: list[Packed]
    reported: list[Packed]


class Listed(NamedTuple):
    """A page of a list, and the key the next page starts after (None: the last page)."""

    items: list[dict[str, Any]]
    next: Any


def of_datasets(datasets: Sequence[str], alias: str, where: list[str], params: list[Any]
                ) -> None:
    """Add the condition that the rows of `alias` came from one of `datasets` (none: any)."""
    if datasets:
        where.append(f"{alias}.dataset IN ({', '.join('?' * len(datasets))})")
        params += list(datasets)


@dataclass(frozen=True)
class LogHead:
    """Where to find the end of an application's log: its name (the view's tracking key),
    its events table and that table's position column."""

    application_name: str
    events: str
    position: str


class Among(NamedTuple):
    """The links a query selects by a list: of these pairs, of these developments (every
    version), of these (development id, version), or of these pairs at these positions (its
    versions' positions, for each pair: the links of a chapter, see pair_chapters)."""

    pairs: Sequence[tuple[str, str]] = ()
    developments: Sequence[str] = ()
    versions: Sequence[tuple[str, int]] = ()
    positions: Mapping[tuple[str, str], Sequence[int]] = {}  # never changed: a shared default

    CHUNK = 400  # values per IN list: SQLite takes at most 500 branches of a UNION ALL

    def branches(self) -> list[tuple[str, list[Any]]]:
        """Conditions on the links `l`, each with its parameters, one per chunk of the list."""
        found: list[tuple[str, list[Any]]] = []
        # Two columns as ORed equalities: SQLite reads `(x, y) IN (VALUES ...)` with a scan of
        # the whole table, and each equality with its index. A link references its version
        # by position: the developments' versions are found by their key first.
        versions = "l.position IN (SELECT w.position FROM {{development_versions}} w WHERE {})"
        for columns, values, within in (
                (("l.a", "l.b"), self.pairs, "{}"),
                (("w.development_id",), self.developments, versions),
                (("w.development_id", "w.version"), self.versions, versions)):
            values = list(values)
            for i in range(0, len(values), self.CHUNK):
                chunk = values[i:i + self.CHUNK]
                if len(columns) == 2:
                    term = f"({columns[0]} = ? AND {columns[1]} = ?)"
                    found.append((within.format(f"({' OR '.join([term] * len(chunk))})"),
                                  [v for pair in chunk for v in pair]))
                else:
                    found.append((within.format(
                        f"{columns[0]} IN ({', '.join('?' * len(chunk))})"), chunk))
        # Every link at the positions of all the pairs, one list: select_links keeps each
        # pair's own. A branch per pair made a statement of hundreds of branches,
        # which PostgreSQL took longer to plan than to run (90 ms for a page's chapters).
        everywhere = sorted({p for positions in self.positions.values() for p in positions})
        for i in range(0, len(everywhere), self.CHUNK):
            chunk = everywhere[i:i + self.CHUNK]
            found.append((f"l.position IN ({', '.join('?' * len(chunk))})", chunk))
        return found or [("1 = 0", [])]


class VersionRow(NamedTuple):
    """A row of development_versions, its fields in the order INSERT_VERSIONS names them."""

    development_id: str
    version: int
    position: int
    recorded_at: int  # micros
    superseded_at: int | None  # micros; None while it is the current version
    kind: str
    status: str
    certainty: str
    retracted: int
    earliest: str
    latest: str
    reported_from: str  # ISO day
    begins: str  # ISO day
    # The fact the relationship rules need beyond the columns above, as compact JSON (see
    # relationships.StoredFact): what a relationship query reads of a version.
    fact: str
    # The document without what its columns and its fact hold, deflated (see pack_document).
    document: bytes
    dataset: str  # where the development came from (see vocabulary.Dataset)


class LinkRow(NamedTuple):
    """A row of development_links: one directed link of a version (see relationships.links),
    keyed by its pair; what a query filters on and reads is its version's row, referenced by
    its position."""

    a: str
    b: str
    position: int  # the version's row
    from_a: int  # 1: the link goes from a to b; 0: from b to a


class MomentRow(NamedTuple):
    """A row of development_moments: a day on which a version changes where it stands (see
    relationships.moments_of), keyed in a replay's order. Written once: what in_force filters
    on is read from its version's row."""

    day: str  # ISO day
    step: int
    earliest: str
    development_id: str  # in the key: a replay's order breaks ties by it (see Moment.key)
    position: int  # the version's row
    now_only: int


class ParticipantRow(NamedTuple):
    """A row of development_actors: an actor a version names (its role is in the version's
    document), and the version's row."""

    actor: str
    position: int


class Superseded(NamedTuple):
    """A version written by an earlier run that a version of this run supersedes: the
    parameters of the UPDATE of its row and of its links, by primary key."""

    superseded_at: int
    development_id: str
    version: int


class Version(NamedTuple):
    """A version of a development as the view writes it: its development_versions row and
    its fact (from which its participants and links follow)."""

    row: VersionRow
    fact: Fact


class VersionWrites(NamedTuple):
    """Every row a run of versions writes (see plan_writes), each list in log order."""

    superseded: list[Superseded]
    versions: list[VersionRow]
    participants: list[ParticipantRow]
    links: list[LinkRow]
    moments: list[MomentRow]


def actor_document(actor: Actor) -> dict[str, Any]:
    """An actor as the view keeps and serves it."""
    return {
        "id": actor.actor_id,
        "name": actor.name,
        "kind": actor.kind.value,
        "aliases": list(actor.aliases),
        "belongs_to": list(actor.belongs_to),
        "version": actor.version,
    }


def prepare_version(development: Development, position: int, recorded_at: datetime) -> Version:
    """The view's row for a development as it stands now: taken at once, so the aggregate
    may go on to its next version in place (no copy per event)."""
    content = development.content
    # A version recorded without a source counts in knowledge time from the day it was
    # recorded here: nothing earlier proves it was known.
    fact = Fact.of(development, development.reported_on or recorded_at.date())
    at = micros(recorded_at)
    return Version(
        VersionRow(
            development_id=fact.id,
            version=development.version,
            position=position,
            recorded_at=at,
            superseded_at=None,
            kind=content.kind.value,
            status=development.status.value,
            certainty=content.certainty.value,
            retracted=int(development.retracted),
            earliest=content.date.earliest.isoformat(),
            latest=content.date.latest.isoformat(),
            reported_from=fact.reported_from.isoformat(),  # type: ignore[union-attr]
            begins=fact.begins.isoformat(),
            fact=encode_compact(fact.stored()),
            document=pack_document(stored_document_of(development, recorded_at, at)),
            dataset=development.dataset.value,
        ),
        fact,
    )


class ActorRow(NamedTuple):
    """An actor as the view writes it (see actor_document)."""

    document: dict[str, Any]


Rows = Version | ActorRow


@singledispatch
def rows_of(aggregate: Any, position: int, recorded_at: datetime) -> Rows | None:
    """What the view writes for an aggregate as one of its events left it, whatever the event
    (the view shows the aggregate, not the event); None for an aggregate it does not show."""
    return None


@rows_of.register
def _(actor: Actor, position: int, recorded_at: datetime) -> Rows | None:
    return ActorRow(actor_document(actor))


@rows_of.register
def _(development: Development, position: int, recorded_at: datetime) -> Rows | None:
    return prepare_version(development, position, recorded_at)


def superseded_in_run(versions: Sequence[Version]) -> list[VersionRow]:
    """The versions' rows, each with its `superseded_at` already set when a later version of
    the same development in the run supersedes it: a row is written once, never updated."""
    next_at: dict[str, int] = {}  # development id -> recorded_at of its next version
    rows: list[VersionRow] = []
    for version in reversed(versions):
        row = version.row
        at = next_at.get(row.development_id)
        rows.append(row if at is None else row._replace(superseded_at=at))
        next_at[row.development_id] = row.recorded_at
    rows.reverse()
    return rows


def superseded_before_run(versions: Sequence[Version]) -> list[Superseded]:
    """The versions written by earlier runs that this run's versions supersede: the one
    before each development's first version in the run. The projection writes a row for every
    event of a development, so that is always the version numbered one less."""
    seen: set[str] = set()
    found: list[Superseded] = []
    for version in versions:
        row = version.row
        if row.development_id not in seen:
            seen.add(row.development_id)
            if row.version > 1:
                found.append(Superseded(row.recorded_at, row.development_id, row.version - 1))
    return found


def participant_rows(row: VersionRow, fact: Fact) -> list[ParticipantRow]:
    """The actors a version names, each once, in the order of their roles."""
    named = dict.fromkeys((*fact.sources, *fact.targets, *fact.participants))
    return [ParticipantRow(actor_id, row.position) for actor_id in named]


def link_rows(row: VersionRow, version: Version,
              states: Mapping[str, Iterable[str]]) -> list[LinkRow]:
    """The links a version makes (its actors lifted to their `states`)."""
    # Each once: two members of one state may link it to the same actor.
    return list(dict.fromkeys(
        LinkRow(*pair_of(source, target), row.position, int(source < target))
        for source, target in links(version.fact, states)
    ))


def moment_rows(row: VersionRow, fact: Fact) -> list[MomentRow]:
    """The days on which a version changes where it stands, to now (see moments_of)."""
    return [
        MomentRow(day.isoformat(), int(step), row.earliest, row.development_id, row.position,
                  int(now_only))
        for day, step, now_only in moments_of(fact)
    ]


def named_actors(versions: Iterable[Version]) -> set[str]:
    """Every actor the versions name, in any role."""
    return {actor_id for version in versions
            for actor_ids in (version.fact.sources, version.fact.targets, version.fact.participants)
            for actor_id in actor_ids}


def plan_writes(versions: Sequence[Version], states: Mapping[str, Iterable[str]]) -> VersionWrites:
    """Every row a run of versions (in log order) writes, given the states each actor they
    name belongs to (see ViewQueries._states_of)."""
    rows = superseded_in_run(versions)
    participants: list[ParticipantRow] = []
    linked: list[LinkRow] = []
    moments: list[MomentRow] = []
    for row, version in zip(rows, versions, strict=True):
        participants += participant_rows(row, version.fact)
        linked += link_rows(row, version, states)
        moments += moment_rows(row, version.fact)
    return VersionWrites(superseded_before_run(versions), rows, participants, linked, moments)


# What write_versions runs, each statement once per run with its rows (see VersionWrites).
# A superseded version is updated by the whole primary key: every event of a development wrote
# a row, so the current one is the previous version. (By id and "superseded_at IS NULL",
# PostgreSQL without statistics walked the partial index of current versions instead: 10-20 ms
# per row at 1M.) Its links reference it, so they need no update.
SUPERSEDE_VERSIONS = (
    "UPDATE {development_versions} SET superseded_at = ? WHERE development_id = ? AND version = ?"
)
INSERT_VERSIONS = (
    "INSERT INTO {development_versions} (development_id, version, position, recorded_at,"
    " superseded_at, kind, status, certainty, retracted, earliest, latest, reported_from,"
    " begins, fact, document, dataset)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_PARTICIPANTS = (
    "INSERT INTO {development_actors} (actor, position) VALUES (?, ?) ON CONFLICT DO NOTHING"
)
INSERT_LINKS = (
    "INSERT INTO {development_links} (a, b, position, from_a)"
    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
INSERT_MOMENTS = (
    "INSERT INTO {development_moments} (day, step, earliest, development_id, position,"
    " now_only) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
# The pairs whose outline a run changes (see pair_marks), marked with the run's last
# position.
MARK_PAIRS = (
    "INSERT INTO {pair_marks} (a, b, marked) VALUES (?, ?, ?)"
    " ON CONFLICT (a, b) DO UPDATE SET marked = excluded.marked"
)
# Each pair's outline as the outliner writes it (see pair_outlines), in place of the last.
WRITE_CHAPTERS = (
    "INSERT INTO {pair_chapters} (a, b, day, step, earliest, development_id, chapters)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
WRITE_REPORT_CHAPTERS = (
    "INSERT INTO {pair_report_chapters} (a, b, day, development_id, version, chapters)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
# The keys of the rows of chapters (see pair_chapters, pair_report_chapters).
CHAPTER_KEY = ("a", "b", "day", "step", "earliest", "development_id")
REPORT_CHAPTER_KEY = ("a", "b", "day", "development_id", "version")
# A row of chapters of a pair that had chapters: written only where its bytes changed (see
# write_outlines).
RENEW = (" ON CONFLICT ({key}) DO UPDATE SET chapters = excluded.chapters"
         " WHERE kept.chapters <> excluded.chapters")
RENEW_CHAPTERS = (WRITE_CHAPTERS.replace("{pair_chapters}", "{pair_chapters} AS kept")
                  + RENEW.format(key=", ".join(CHAPTER_KEY)))
RENEW_REPORT_CHAPTERS = (
    WRITE_REPORT_CHAPTERS.replace("{pair_report_chapters}", "{pair_report_chapters} AS kept")
    + RENEW.format(key=", ".join(REPORT_CHAPTER_KEY)))
OUTLINE_PAIRS = (
    "INSERT INTO {pair_outlines} (a, b, stance, outline) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (a, b) DO UPDATE SET stance = excluded.stance, outline = excluded.outline"
)


def as_of_date(row: Mapping[str, Any], as_of: date | None) -> dict[str, Any]:
    """A development's document from its row as it stood on a world date: the status in force
    then, and where it stood (counts, expected, possible; None when cancelled). As it is
    stored without one."""
    fact = json.loads(row["fact"])
    document = read_document(row, fact)
    if as_of is None:
        return document
    return {**document, **fact_of(row, fact).on(as_of)}


class ViewBusy(Exception):
    """Another process is applying events to the view: a reader answers from the view as it
    is rather than queue behind it."""


class ViewBehind(Exception):
    """The view did not reach the position a reader asked for within the time allowed."""

    def __init__(self, wanted: int, state: ViewState) -> None:
        super().__init__(f"the read model is at position {state.position}, not yet {wanted}")
        self.wanted = wanted
        self.state = state


class ViewState(NamedTuple):
    """Where the view stands: the last position it applied, and the log's last position."""

    position: int
    head: int

    @property
    def lag(self) -> int:
        return self.head - self.position


class AlreadyProjected(IntegrityError):
    """Another process applied these events first: its tracking record is ahead of ours.

    Only this is a reason to skip events; any other error while writing the view is raised.
    """


class ViewQueries(Dialect):
    """The read model's tables and queries, written once for both stores (see store.Dialect)."""

    VIEW_TABLES = ("actors", "development_versions", "development_links", "development_actors",
                   "development_moments", "pair_outlines", "pair_marks", "pair_chapters",
                   "pair_report_chapters")
    # view_generation counts the resets of the view (see reset): kept through them.
    TABLES = (*VIEW_TABLES, "view_shape", "view_generation")
    # The applications whose events fill the view (their names key its tracking records).
    FOLLOWS = ("Timeline",)
    COUNT_CHUNK = 25  # pairs counted per statement under a budget (see count_links)
    # The moments of a busy pair's chapter (see pair_chapters): a page of a replay folds at
    # most this many of each of its pairs' moments before its own. A row keeps a run of
    # chapters_per_row of them, packed (see pack_chapters): one chapter a row of 32 moments
    # made a page of the whole store's replay grow 3-8 times from 10k to 1M developments,
    # and a row for each of 16 moments brought the read model on PostgreSQL to the log's
    # bytes at 100k (see the benchmarks).
    chapter_moments = 8
    chapters_per_row = 4
    datastore: Any
    _insert_tracking: Any
    table_migration_identifier: str
    _actors_at: tuple[int, dict[str, Any]] | None = None  # (position, actors' documents)

    def view_statements(self) -> list[str]:
        statements = [
            """CREATE TABLE IF NOT EXISTS {actors} (
                id TEXT PRIMARY KEY, document TEXT NOT NULL, version BIGINT NOT NULL)""",
            # Keyed by its event's position: an integer the rows below reference (on SQLite, the
            # table's own rowid), where the development's id and version would take 40 bytes in
            # each of them.
            """CREATE TABLE IF NOT EXISTS {development_versions} (
                position {position_key},
                development_id {uuid} NOT NULL, version BIGINT NOT NULL,
                recorded_at BIGINT NOT NULL, superseded_at BIGINT,
                kind TEXT NOT NULL, status TEXT NOT NULL, certainty TEXT NOT NULL,
                retracted INTEGER NOT NULL, earliest TEXT NOT NULL, latest TEXT NOT NULL,
                reported_from TEXT NOT NULL, begins TEXT NOT NULL, fact TEXT NOT NULL,
                document {blob} NOT NULL, dataset TEXT NOT NULL)""",
            # A development's versions: superseding one, in_force's newer version, and the
            # links of some developments or versions (see Among).
            """CREATE UNIQUE INDEX IF NOT EXISTS development_versions_key
                ON {development_versions} (development_id, version)""",
            # The current versions in world-date order: the common listing.
            """CREATE INDEX IF NOT EXISTS development_versions_current
                ON {development_versions} (earliest, latest, development_id)
                WHERE superseded_at IS NULL""",
            """CREATE INDEX IF NOT EXISTS development_versions_recorded
                ON {development_versions} (recorded_at)""",
            # The versions as the news arrived: a page of a replay by report (select_reports).
            """CREATE INDEX IF NOT EXISTS development_versions_reported
                ON {development_versions} (reported_from, development_id, version)""",
            # The directed links each version makes (see relationships.links), keyed by pair.
            # Each references its version's row, which holds what a relationship query filters
            # on and reads (record-time interval, knowledge-time day, retraction, first world
            # day and document), stored once: a query is one index range scan of the pair
            # and a lookup of each link's version by its key (see select_links).
            *self._keyed("development_links", "a TEXT NOT NULL, b TEXT NOT NULL,"
                         " position BIGINT NOT NULL, from_a INTEGER NOT NULL",
                         "a, b, position, from_a", "development_links_by_a", "a, b"),
            """CREATE INDEX IF NOT EXISTS development_links_by_b
                ON {development_links} (b, a)""",
            # A version's links: whether it has one (a page of a replay by report), and the
            # links of the versions on a page of a replay (see Among).
            """CREATE INDEX IF NOT EXISTS development_links_by_version
                ON {development_links} (position)""",
            # The actors each version names (in any role: its document says which), for the
            # listing of an actor's developments, which looks a version up by its position.
            *self._keyed("development_actors", "actor TEXT NOT NULL, position BIGINT NOT NULL",
                         "actor, position", "development_actors_by_version", "position"),
            # The days on which each version changes where it stands (relationships.moments_of),
            # keyed in a replay's order: a page of a replay in world time is a range of this key
            # after its cursor (select_moments), not a fold of history. One B-tree, written
            # once per version: what in_force filters on is read from the version's row.
            """CREATE TABLE IF NOT EXISTS {development_moments} (
                day TEXT NOT NULL, step INTEGER NOT NULL, earliest TEXT NOT NULL,
                development_id {uuid} NOT NULL, position BIGINT NOT NULL,
                now_only INTEGER NOT NULL,
                PRIMARY KEY (day, step, earliest, development_id, position)){without_rowid}""",
            # Each pair's outline as it stands now (Relationship.outline), so that a page of
            # the list of relationships reads a row per pair, not the pairs' histories. Written
            # by the outliner only (see ReadModel.outline_pairs): a row per pair where
            # something stands, written again when the pair changed.
            """CREATE TABLE IF NOT EXISTS {pair_outlines} (
                a TEXT NOT NULL, b TEXT NOT NULL, stance TEXT NOT NULL, outline TEXT NOT NULL,
                PRIMARY KEY (a, b)){without_rowid}""",
            # An actor's pairs (a < b in each): (actor, x) in the key, (y, actor) here.
            """CREATE INDEX IF NOT EXISTS pair_outlines_by_b ON {pair_outlines} (b, a)""",
            # The list with a stance, in pair order.
            """CREATE INDEX IF NOT EXISTS pair_outlines_by_stance
                ON {pair_outlines} (stance, a, b)""",
            # The pairs whose links changed since their outline was made (or that have none
            # yet), each with the position of the last run that changed them: a list folds
            # a marked pair itself, and the outliner outlines it anew. Apart from the
            # outlines, since every run marks its pairs again: on PostgreSQL an update of a
            # column no index holds stays in its page (a HOT update, given the room), where
            # one in the outlines' table left a dead row and an entry in each of its indexes
            # (1.10x the log's bytes at 100k developments, against 0.94x without outlines).
            """CREATE TABLE IF NOT EXISTS {pair_marks} (
                a TEXT NOT NULL, b TEXT NOT NULL, marked BIGINT NOT NULL,
                PRIMARY KEY (a, b)){without_rowid}{churned}""",
            """CREATE INDEX IF NOT EXISTS pair_marks_by_b ON {pair_marks} (b, a)""",
            # The chapters of each busy pair's history in world time (relationships.Chapter):
            # where each begins, the pair's state just before it and the positions of its
            # links, so that a page of a replay folds a chapter of each of its pairs, not
            # their histories (see Queries.replay_page). Written by the outliner with the
            # pair's outline, so a marked pair's chapters are not read.
            """CREATE TABLE IF NOT EXISTS {pair_chapters} (
                a TEXT NOT NULL, b TEXT NOT NULL, day TEXT NOT NULL, step INTEGER NOT NULL,
                earliest TEXT NOT NULL, development_id {uuid} NOT NULL, chapters {blob} NOT NULL,
                PRIMARY KEY (a, b, day, step, earliest, development_id)){without_rowid}""",
            # The same for a replay as the news arrived (relationships.ReportChapter): where
            # each begins (a report), the pair's state then, the positions of its reports and
            # of the versions in force before it of the developments reported in it.
            """CREATE TABLE IF NOT EXISTS {pair_report_chapters} (
                a TEXT NOT NULL, b TEXT NOT NULL, day TEXT NOT NULL,
                development_id {uuid} NOT NULL, version BIGINT NOT NULL,
                chapters {blob} NOT NULL,
                PRIMARY KEY (a, b, day, development_id, version)){without_rowid}""",
            "CREATE TABLE IF NOT EXISTS {view_shape} (version BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS {view_generation} (generation BIGINT NOT NULL)",
        ]
        return [self.sql(s, without_rowid=self.without_rowid, position_key=self.position_key,
                         blob=self.blob, uuid=self.uuid, churned=self.churned)
                for s in statements]

    def _keyed(self, table: str, columns: str, key: str, index: str, indexed: str
               ) -> list[str]:
        """A table of rows written once per version and read by a range of `indexed`.

        On SQLite, the rows themselves are a B-tree in the order of their whole `key` (WITHOUT
        ROWID): the table is its only index. PostgreSQL keeps rows in a heap beside each index;
        a unique index of the whole key would copy every row again, where a plain index of
        `indexed` holds each of its values once with the rows that have it (B-tree
        deduplication: a third of the bytes, measured at 10k developments). Rows are not
        written twice (see link_rows, participant_rows), so no key has to refuse them."""
        if self.index_organized:
            return [(f"CREATE TABLE IF NOT EXISTS {{{table}}} ({columns},"
                     f" PRIMARY KEY ({key})){{without_rowid}}")]
        return [f"CREATE TABLE IF NOT EXISTS {{{table}}} ({columns})",
                f"CREATE INDEX IF NOT EXISTS {index} ON {{{table}}} ({indexed})"]

    def create_table(self) -> None:
        """The library creates the tables; then a view of another shape (see VIEW_SHAPE) is
        dropped and created anew, and the next catch-up rebuilds it from the events."""
        self.create_library_tables()
        with self.datastore.transaction(commit=True) as c:
            self.lock_schema(c)
            # A write first: on SQLite it takes the write lock at once (waiting its turn), so
            # processes opening the store together check the shape one after the other.
            c.execute(self.sql("UPDATE {view_shape} SET version = version"))
            # The count of resets, kept through them and through changes of shape.
            c.execute(self.sql("INSERT INTO {view_generation} (generation) SELECT 0"
                               " WHERE NOT EXISTS (SELECT 1 FROM {view_generation})"))
            c.execute(self.sql("SELECT version FROM {view_shape}"))
            row = c.fetchone()
            if row is not None and row["version"] == VIEW_SHAPE:
                return
            for table in self.VIEW_TABLES:
                c.execute(f"DROP TABLE IF EXISTS {self.table(table)}")
            # Only the positions of the applications this view follows: the tracking table
            # may be shared (on SQLite, by every process recorder in the file).
            c.execute(
                self.sql("DELETE FROM {tracking} WHERE application_name IN ({names})",
                         tracking=self.tracking_table(),
                         names=", ".join("?" for _ in self.FOLLOWS)),
                self.FOLLOWS,
            )
            c.execute(self.sql("DELETE FROM {view_shape}"))
            for statement in self.view_statements():
                c.execute(statement)
            c.execute(self.sql("INSERT INTO {view_shape} (version) VALUES (?)"), (VIEW_SHAPE,))

    def create_library_tables(self, attempts: int = 3) -> None:
        """The library's tracking table, as the library creates it. The library reads whether
        the table exists before its transaction that creates it, so a process opening a store
        together with another (two server workers on a new store) can find, in that
        transaction, the migration the other just recorded: an IntegrityError that failed the
        worker's start. Read again: the table is there now, and nothing is left to record."""
        for attempt in range(attempts):
            try:
                super().create_table()  # type: ignore[misc]
                return
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
                log.info("the tracking table was created by another process; reading again")

    def tracking_table(self) -> str:
        raise NotImplementedError

    def apply_batch(self, application_name: str, after: int, last: int, write: Any,
                    bulk: bool = False, wait: bool = True) -> None:
        """Run `write(cursor)` for a run of events and move the tracking record from `after`
        to `last`, atomically. If any other process moved it meanwhile, nothing is written
        (IntegrityError): this run, or part of it, was applied already. `bulk` for a rebuild's
        long runs (see Dialect.writing); without `wait`, ViewBusy when another process is
        applying events at that moment (see Dialect.lock_view)."""
        tracking = self.tracking_table()
        with self.writing(bulk) as c:
            if not self.lock_view(c, wait):
                raise ViewBusy(f"{application_name}: another process is applying events")
            # First statement: takes the write lock at once, and checks the predecessor.
            if after == 0:
                try:
                    c.execute(
                        self.sql("INSERT INTO {tracking} (application_name, notification_id)"
                                 " VALUES (?, ?) RETURNING notification_id", tracking=tracking),
                        (application_name, last),
                    )
                except self.integrity_errors:  # another process recorded its first run meanwhile
                    raise AlreadyProjected(f"{application_name} was projected meanwhile") from None
            else:
                c.execute(
                    self.sql("UPDATE {tracking} SET notification_id = ? WHERE"
                             " application_name = ? AND notification_id = ?"
                             " RETURNING notification_id", tracking=tracking),
                    (last, application_name, after),
                )
            if c.fetchone() is None:
                raise AlreadyProjected(f"{application_name} was projected past {after} meanwhile")
            # The actors' documents are a function of the log up to a position: those this
            # process read while applying up to `after` still hold for the next run.
            kept, self._actors_at = self._actors_at, None
            RUN.actors = kept[1] if kept is not None and kept[0] == after else {}
            try:
                write(c)
                self._actors_at = (last, RUN.actors)
            finally:
                RUN.actors = None

    # --- writing (called by the projection) -----------------------------------------------

    def apply(self, tracking: Tracking, write: Any) -> None:
        """Run `write(cursor)` and record `tracking`, atomically.

        The tracking record goes first: it takes SQLite's write lock at once (so concurrent
        writers queue instead of failing) and raises IntegrityError if this event was already
        applied, before anything else is written.
        """
        with self.datastore.transaction(commit=True) as c:
            self.lock_view(c, wait=True)
            try:
                self._insert_tracking(c, tracking)
            except IntegrityError as error:
                raise AlreadyProjected(str(error)) from None
            write(c)

    def write_rows(self, c: Any, rows: Sequence[Rows]) -> None:
        """Write prepared rows (see rows_of) in log order: each run of versions together, an
        actor between them (later links follow the actor's memberships as of its event)."""
        for kind, run in groupby(rows, type):
            if kind is ActorRow:
                for actor in run:
                    self.write_actor(c, actor.document)  # type: ignore[union-attr]
            else:
                self.write_versions(c, list(run))  # type: ignore[arg-type]

    def write_actor(self, c: Any, document: dict[str, Any]) -> None:
        """Write an actor's document (see actor_document)."""
        if getattr(RUN, "actors", None) is not None:
            RUN.actors = {}  # memberships may have changed
        c.execute(
            self.sql(
                "INSERT INTO {actors} (id, document, version) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET document = excluded.document,"
                " version = excluded.version"
            ),
            (document["id"], json.dumps(document), document["version"]),
        )

    def write_versions(self, c: Any, versions: Sequence[Version]) -> None:
        """Write prepared development versions (see prepare_version) and their links, in log
        order (see plan_writes for the rows).

        Each statement runs once for all of them (executemany: one pipeline of round trips
        on PostgreSQL). Only versions written by earlier runs are updated, by their primary
        key; one superseded within the run is written with its `superseded_at` already set.
        """
        writes = plan_writes(versions, self._states_of(c, named_actors(versions)))
        marked = versions[-1].row.position
        # The pairs the run changes: those its versions link, and those the versions they
        # supersede linked (a correction may move a development to another pair).
        changed = {(link.a, link.b) for link in writes.links}
        replaced = Among(versions=[(superseded.development_id, superseded.version)
                                   for superseded in writes.superseded])
        for chosen, keys in replaced.branches() if writes.superseded else ():
            c.execute(self.sql(f"SELECT l.a, l.b FROM {{development_links}} l WHERE {chosen}"),
                      keys)
            changed |= {(row["a"], row["b"]) for row in c.fetchall()}
        for statement, rows in (
            (SUPERSEDE_VERSIONS, writes.superseded),
            (INSERT_VERSIONS, writes.versions),
            (INSERT_PARTICIPANTS, writes.participants),
            (INSERT_LINKS, writes.links),
            (INSERT_MOMENTS, writes.moments),
            (MARK_PAIRS, [(a, b, marked) for a, b in sorted(changed)]),
        ):
            if rows:
                c.executemany(self.sql(statement), rows)

    def _states_of(self, c: Any, actor_ids: Iterable[str]) -> dict[str, set[str]]:
        """For each actor, the states it belongs to, following belongs_to through
        organisations (Carl Bildt -> ECFR, Sweden -> {sweden})."""
        # Within one transaction (a run of events) each actor is read once.
        cache: dict[str, dict[str, Any] | None] | None = getattr(RUN, "actors", None)
        if cache is None:
            cache = {}

        def document(actor_id: str) -> dict[str, Any] | None:
            if actor_id not in cache:
                c.execute(self.sql("SELECT document FROM {actors} WHERE id = ?"), (actor_id,))
                row = c.fetchone()
                cache[actor_id] = json.loads(row["document"]) if row else None
            return cache[actor_id]

        def states(actor_id: str, seen: frozenset[str]) -> set[str]:
            found: set[str] = set()
            for owner in (document(actor_id) or {}).get("belongs_to", []):
                if owner in seen:
                    continue
                owner_document = document(owner)
                if owner_document and owner_document["kind"] == "state":
                    found.add(owner)
                else:
                    found |= states(owner, seen | {owner})
            return found

        return {actor_id: states(actor_id, frozenset({actor_id})) for actor_id in actor_ids}

    # --- reading ----------------------------------------------------------------------------

    def select_actors(self, actor_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """All actors (or the named ones), by actor_id. O(actors returned)."""
        with self.reading() as c:
            if actor_ids is None:
                c.execute(self.sql("SELECT document FROM {actors} ORDER BY id"))
            else:
                wanted = list(actor_ids)
                marks = ",".join("?" * len(wanted))
                c.execute(
                    self.sql(f"SELECT document FROM {{actors}} WHERE id IN ({marks}) ORDER BY id"),
                    wanted,
                )
            return [json.loads(row["document"]) for row in c.fetchall()]

    def select_members(self, actor_ids: Iterable[str]) -> set[str]:
        """The actors and, transitively, every actor that belongs to them. O(actors)."""
        with self.reading() as c:
            c.execute(self.sql("SELECT id, document FROM {actors}"))
            rows = c.fetchall()
        belongs = {row["id"]: json.loads(row["document"])["belongs_to"] for row in rows}
        found = set(actor_ids)
        while True:
            more = {actor_id for actor_id, owners in belongs.items() if found & set(owners)} - found
            if not more:
                return found
            found |= more

    def select_developments(self, **query: Any) -> list[dict[str, Any]]:
        """The developments of developments_page, without a bound on the rows read."""
        return self.developments_page(**query).items

    def developments_page(
        self,
        *,
        actors: Sequence[str] = (),
        kind: str | None = None,
        status: str | None = None,
        certainty: str | None = None,
        datasets: Sequence[str] = (),
        start: date | None = None,
        end: date | None = None,
        axes: Axes = NOW,
        after: tuple[str, str, str] | None = None,
        limit: int | None = None,
        scan: int | None = None,
    ) -> Listed:
        """Developments in world-date order, each in the version in force on the axes; as of a
        date, only those begun by then, each with the status in force and where it stands;
        and the key the next page starts after (see Listed).

        A development is in [start, end] when its period overlaps it; with `datasets`, it
        came from one of them. Retracted ones are left out. `after` is the (earliest, latest,
        id) of the last row of the previous page.
        Cost: one index range scan of the developments in force, O(rows returned) without
        filters; the filters (`datasets` among them) are checked on at most `scan` of them (the
        page is then shorter than `limit`, even empty, and `next` says where the scan stopped),
        so a rare filter never reads the whole store.

        One function, over 50 lines, because each filter adds its condition to one statement:
        split up, the conditions and their parameters would have to travel between pieces.
        """
        in_axes, in_params = in_force(axes)
        if after is not None:
            in_axes.append("(v.earliest, v.latest, v.development_id) > (?, ?, ?)")
            in_params += list(after)
        where: list[str] = []
        params: list[Any] = []
        # As of a date the status is the one in force then, known only once the fact is read.
        by_status = status if axes.as_of is not None else None
        for column, value in (("kind", kind), ("status", status if by_status is None else None),
                              ("certainty", certainty)):
            if value is not None:
                where.append(f"v.{column} = ?")
                params.append(value)
        if end is not None:  # the end of the index range: the scan stops there
            in_axes.append("v.earliest <= ?")
            in_params.append(end.isoformat())
        for condition, value in (("v.latest >= ?", start), ("v.begins <= ?", axes.as_of)):
            if value is not None:
                where.append(condition)
                params.append(value.isoformat())
        of_datasets(datasets, "v", where, params)
        if actors:
            where.append(
                "EXISTS (SELECT 1 FROM {development_actors} a WHERE a.position = v.position"
                " AND a.actor IN"
                f" ({','.join('?' * len(actors))}))"
            )
            params += list(actors)
        order = " ORDER BY v.earliest, v.latest, v.development_id"
        # The rows read: the developments in force after the cursor, `scan` of them at most.
        scanned = ("SELECT v.* FROM {development_versions} v WHERE " + " AND ".join(in_axes)
                   + ("" if scan is None else order + " LIMIT ?"))
        scanned_params = [*in_params, *([] if scan is None else [scan])]
        statement = (f"SELECT v.earliest, v.latest, {', '.join(DOCUMENT_COLUMNS)}"
                     f" FROM ({scanned}) v" + "".join(f" {'WHERE' if i == 0 else 'AND'} {w}"
                                                  for i, w in enumerate(where)) + order)
        statement_params = [*scanned_params, *params]
        if limit is not None and by_status is None:
            statement += " LIMIT ?"
            statement_params.append(limit + 1)  # the one more tells that a next page exists
        with self.reading() as c:
            c.execute(self.sql(statement), statement_params)
            rows = c.fetchall()
        found = []
        for row in rows:
            document = as_of_date(row, axes.as_of)
            if by_status is None or document["status"] == by_status:
                found.append(document)
        if limit is not None and len(found) > limit:
            last = found[limit - 1]
            day = PartialDate.parse(last["date"]["value"])
            return Listed(found[:limit], (day.earliest.isoformat(), day.latest.isoformat(),
                                          last["id"]))
        if scan is None:
            return Listed(found, None)
        # Short of `limit`: the end of the list, or the end of the rows a page may read.
        with self.reading() as c:
            c.execute(self.sql(f"SELECT COUNT(*) AS n, MAX(v.earliest) AS earliest FROM"
                               f" ({scanned}) v"), scanned_params)
            if c.fetchone()["n"] < scan:
                return Listed(found, None)
            c.execute(self.sql(f"SELECT v.earliest, v.latest, v.development_id FROM ({scanned})"
                               " v ORDER BY v.earliest DESC, v.latest DESC,"
                               " v.development_id DESC LIMIT 1"), scanned_params)
            last = c.fetchone()
        return Listed(found, (last["earliest"], last["latest"], str(last["development_id"])))

    def select_links(
        self,
        *,
        pair: tuple[str, str] | None = None,
        actor: str | None = None,
        among: Among | None = None,
        axes: Axes = NOW,
        datasets: Sequence[str] = (),
        every_version: bool = False,
        unless_behind: LogHead | None = None,
        superseded: bool = False,
        after: tuple[str, str, int] | None = None,
        limit: int | None = None,
    ) -> list[Linked] | None:
        """The links of one pair, of one actor's pairs, of those `among` some pairs,
        developments or versions, or of all pairs, in the version of each development in force
        on the axes, of developments begun by `axes.as_of`; with
        `every_version`, of every version reported and recorded by then (see in_force); with
        `datasets`, only of developments from those datasets.

        With `unless_behind`, the same statement also reads whether the view has applied the
        whole log, and None is returned if it has not (the caller catches up and asks again):
        read-your-writes in one round trip to the store. With a `limit`, the first links in
        the order of (pair, position), after the key `after`: the links a page at a time.
        `superseded`: only of versions no longer current.

        Cost: an index range scan on (a, b), or on (a, b) and (b, a): O(links of the pair, or
        of the actor's pairs, over all their versions), whatever the length of the rest of the
        history; `among`, one index lookup per pair, development or version. With none of
        them, O(all links).

        Over 50 lines because the statement, its lag check and the decoding of its rows are
        one round trip to the store, read together (see the benchmarks' query figures).
        """
        where, wanted = in_force(axes, "v", every_version)
        if axes.as_of is not None:
            where.append("v.begins <= ?")
            wanted.append(axes.as_of.isoformat())
        of_datasets(datasets, "v", where, wanted)
        # One range scan of the pair index (or of both, for an actor), and each link's version
        # by its primary key: the filters and the fact are its columns (not its document).
        selected = ["l.a", "l.b", "l.from_a", "l.position", *FACT_COLUMNS]
        select = (
            f"SELECT {', '.join(selected)}, CAST(NULL AS BIGINT) AS lag"
            " FROM {development_links} l JOIN {development_versions} v"
            " ON v.position = l.position"
        )
        if pair is not None:
            branches = [("l.a = ? AND l.b = ?", list(pair_of(*pair)))]
        elif actor is not None:
            branches = [("l.a = ?", [actor]), ("l.b = ?", [actor])]
        elif among is not None:
            branches = among.branches()
        else:
            branches = [("1 = 1", [])]
        if superseded:
            where.append("v.superseded_at IS NOT NULL")
        if after is not None:
            where.append("(l.a, l.b, l.position) > (?, ?, ?)")
            wanted.extend(after)
        statement = " UNION ALL ".join(
            f"{select} WHERE {chosen}" + "".join(f" AND {w}" for w in where)
            for chosen, _ in branches
        )
        params = [value for _, keys in branches for value in (*keys, *wanted)]
        if limit is not None:
            statement += " ORDER BY 1, 2, 4 LIMIT ?"  # a, b, position (see `selected`)
            params.append(limit)
        if unless_behind is not None:
            # The view's lag in the same statement: read-your-writes in one round trip.
            nulls = ", ".join(["NULL"] * len(selected))
            statement += f" UNION ALL SELECT {nulls}, " + self._lag_sql(unless_behind)
            params.append(unless_behind.application_name)
        with self.reading() as c:
            c.execute(self.sql(statement), params)
            rows = c.fetchall()
        if among is not None and among.positions:  # each pair's links at its own positions
            at = {pair: set(positions) for pair, positions in among.positions.items()}
            rows = [row for row in rows if row["fact"] is None
                    or row["position"] in at.get((row["a"], row["b"]), ())]
        # Each version's row once (a version makes several links), and all their stored facts
        # parsed by one json.loads: a call per row costs three Python-level frames around the
        # same C parser.
        first: dict[tuple[Any, int], Any] = {}
        for row in rows:
            if row["fact"] is None:  # the lag row
                if row["lag"]:
                    return None
                continue
            first.setdefault((row["development_id"], row["version"]), row)
        stored = json.loads("[" + ",".join(row["fact"] for row in first.values()) + "]")
        facts = {key: fact_of(row, fact)
                 for (key, row), fact in zip(first.items(), stored, strict=True)}
        found: list[Linked] = []
        for row in rows:
            if row["fact"] is None:
                continue
            fact = facts[row["development_id"], row["version"]]
            a, b = row["a"], row["b"]  # the pair, as the store keys it (pair_of)
            if row["from_a"]:
                found.append(Linked.of_pair(fact, a, b, (a, b), row["position"]))
            else:
                found.append(Linked.of_pair(fact, b, a, (a, b), row["position"]))
        return found

    def count_links(self, pairs: Sequence[tuple[str, str]], axes: Axes,
                    every_version: bool = False, datasets: Sequence[str] = (),
                    budget: int | None = None, chunk: int | None = None
                    ) -> dict[tuple[str, str], int]:
        """How many links each pair has on the axes (from one of `datasets`, when given), as
        select_links would read them: counted in the pair index, each link's version by its
        primary key (what the filters read), without decoding a fact (what folding the pairs
        would cost). With a `budget`, the pairs are counted in order, COUNT_CHUNK at a time,
        until the links counted pass it: the pairs left out were not counted (a page that
        stops at SCAN_LINKS links need not count the links of the pairs it will not show);
        `chunk` pairs at a time instead, when given."""
        where, wanted = in_force(axes, "v", every_version)
        if axes.as_of is not None:
            where.append("v.begins <= ?")
            wanted.append(axes.as_of.isoformat())
        of_datasets(datasets, "v", where, wanted)
        found: dict[tuple[str, str], int] = {}
        chunk = len(pairs) if budget is None else chunk or self.COUNT_CHUNK
        total = 0
        with self.reading() as c:
            for start in range(0, len(pairs), max(chunk, 1)):
                part = pairs[start:start + chunk]
                counted = dict.fromkeys(part, 0)
                for chosen, keys in Among(pairs=part).branches():
                    c.execute(self.sql(
                        "SELECT l.a, l.b, COUNT(*) AS n FROM {development_links} l"
                        " JOIN {development_versions} v ON v.position = l.position"
                        f" WHERE {chosen}"
                        + "".join(f" AND {w}" for w in where) + " GROUP BY l.a, l.b"),
                        [*keys, *wanted])
                    counted.update({(row["a"], row["b"]): row["n"] for row in c.fetchall()})
                found.update(counted)
                total += sum(counted.values())
                if budget is not None and total > budget:
                    break
        return found

    def select_moments(self, axes: Axes, after: Sequence[Any] | None, until: date | None,
                       start: date | None, limit: int, inclusive: bool = False,
                       datasets: Sequence[str] = ()) -> list[tuple[Any, ...]]:
        """The next `limit` moments of a replay in world time (relationships.moments_of) after
        the key `after` (from its moment on, `inclusive`), in the replay's order, each as (day,
        step, earliest, development id, version): of the version of each development in force
        on the axes (from one of `datasets`, when given), up to `until` and from `start`.
        O(limit): an index range scan."""
        where, params = in_force(axes, "v")
        of_datasets(datasets, "v", where, params)
        if until is not None:
            where += ["m.day <= ?", "m.now_only = 0"]
            params.append(until.isoformat())
        if start is not None:
            where.append("m.day >= ?")
            params.append(start.isoformat())
        return self._next_in_order(
            "{development_moments} m JOIN {development_versions} v ON v.position = m.position",
            ("m.day", "m.step", "m.earliest", "m.development_id"),
            ("v.version",), where, params, after, inclusive, limit)

    def select_reports(self, axes: Axes, after: Sequence[Any] | None, start: date | None,
                       limit: int, inclusive: bool = False, datasets: Sequence[str] = ()
                       ) -> list[tuple[Any, ...]]:
        """The next `limit` reports of a replay as the news arrived after the key `after` (from
        its report on, `inclusive`), each as (day, development id, version): every version with
        a link, reported and recorded by the axes (from one of `datasets`, when given), in the
        replay's order, from `start`. O(limit): an index range scan."""
        where, params = in_force(axes, "v", every_version=True)
        of_datasets(datasets, "v", where, params)
        where.append("EXISTS (SELECT 1 FROM {development_links} l WHERE l.position ="
                     " v.position)")
        if start is not None:
            where.append("v.reported_from >= ?")
            params.append(start.isoformat())
        return self._next_in_order(
            "{development_versions} v", ("v.reported_from", "v.development_id", "v.version"),
            (), where, params, after, inclusive, limit)

    def _next_in_order(self, source: str, order: Sequence[str], more: Sequence[str],
                       where: list[str], params: list[Any], after: Sequence[Any] | None,
                       inclusive: bool, limit: int) -> list[tuple[Any, ...]]:
        """The `order` columns (then the `more` columns) of the first `limit` rows of `source`
        that meet `where`, in that order, after the key `after` (from it on, `inclusive`)."""
        if after is not None:
            where = [*where, (f"({', '.join(order)}) {'>=' if inclusive else '>'}"
                             f" ({', '.join('?' * len(order))})")]
            params = [*params, *after[:len(order)]]
        else:
            # A bound every row meets (the first column is text): without one, SQLite scans
            # the order with a Bloom filter on the joined versions, which it builds from all
            # of them first (the first page at 1M developments: 0.23 s of its 0.39).
            where = [*where, f"{order[0]} >= ''"]
        columns = [*order, *more]
        statement = (f"SELECT {', '.join(columns)} FROM {source}"
                     + "".join(f" {'WHERE' if i == 0 else 'AND'} {w}"
                               for i, w in enumerate(where))
                     + f" ORDER BY {', '.join(order)} LIMIT ?")
        with self.reading() as c:
            c.execute(self.sql(statement), [*params, limit])
            # A development's id as text on either store (PostgreSQL gives a UUID).
            return [tuple(str(value) if isinstance(value, UUID) else value
                          for value in (row[column.partition(".")[2]] for column in columns))
                    for row in c.fetchall()]

    def select_pairs(self, axes: Axes, after: tuple[str, str] | None, limit: int,
                     actor: str | None = None, datasets: Sequence[str] = ()
                     ) -> list[tuple[str, str]]:
        """The next `limit` pairs after `after` (of one actor, or all), in key order, that have
        a link in force on the axes (from one of `datasets`, when given): a page of
        relationships found in the pair index, so that only the page's pairs are folded.

        Each pair is one seek of the index: the first link after the pair before it that
        stands on the axes. O(limit) seeks however many links each pair holds (a DISTINCT over
        the links read every link of every pair it passed: at 100k developments, 0.8 s for a
        page of 500 pairs), plus the links of pairs with none in force, which a seek passes."""
        where, params = in_force(axes, "v")
        if axes.as_of is not None:
            where.append("v.begins <= ?")
            params.append(axes.as_of.isoformat())
        of_datasets(datasets, "v", where, params)
        standing = "".join(f" AND {w}" for w in where)
        found: list[tuple[str, str]] = []
        with self.reading() as c:

            def seek(condition: str, keys: list[str], order: str) -> tuple[str, str] | None:
                c.execute(self.sql(
                    "SELECT l.a, l.b FROM {development_links} l"
                    " JOIN {development_versions} v ON v.position = l.position"
                    f" WHERE {condition}{standing} ORDER BY {order} LIMIT 1"), [*keys, *params])
                row = c.fetchone()
                return None if row is None else (row["a"], row["b"])

            # Each bound is a range of one index column after equalities: SQLite reads a
            # row-value bound `(l.a, l.b) > (?, ?)` as `l.a >= ?`, and so reads every link of
            # the pair before it again.
            if actor is None:
                a, b = after or ("", "")
                while len(found) < limit and (
                        pair := seek("l.a = ? AND l.b > ?", [a, b], "l.b")
                        or seek("l.a > ?", [a], "l.a, l.b")):
                    found.append(pair)
                    a, b = pair
                return found
            # An actor's pairs (a < b in each) are two ranges: (y, actor) in the (b, a) index,
            # then (actor, x) in the (a, b) index, which all come after them in pair order.
            p, q = after or ("", "")
            if p < actor:  # (y, actor) > (p, q): y > p, or y = p when actor > q
                condition = "l.b = ? AND l.a >= ?" if actor > q else "l.b = ? AND l.a > ?"
                keys = [actor, p]
                while len(found) < limit and (pair := seek(condition, keys, "l.a")):
                    found.append(pair)
                    condition, keys = "l.b = ? AND l.a > ?", [actor, pair[0]]
            if p <= actor:  # (actor, x) > (p, q): every x, or x > q when p is the actor
                keys = [actor, q if p == actor else ""]
                while len(found) < limit and (pair := seek("l.a = ? AND l.b > ?", keys, "l.b")):
                    found.append(pair)
                    keys = [actor, pair[1]]
        return found

    def select_outlines(self, after: tuple[str, str] | None, limit: int,
                        actor: str | None = None, stance: str | None = None
                        ) -> list[tuple[tuple[str, str], dict[str, Any] | None]]:
        """The next `limit` pairs after `after` (of one actor, or all) with their outlines as
        they stand now (see pair_outlines), in pair order: an outline is None where the pair
        is marked (its outline is to be folded anew, see pair_marks), whatever its stance;
        with `stance`, only the outlined pairs of that stance, and the marked pairs.

        One statement, so one snapshot of the tables on either store (on PostgreSQL each
        statement has its own: a pair marked or outlined between two of them was read twice,
        or not at all). O(limit): each branch is a range of one index after the cursor (an
        actor's pairs with a `stance` are filtered in their range: fewer than the actors),
        and an outline is read only if its pair has no mark (one probe of the marks' key)."""
        p, q = after or ("", "")
        # Each range: a condition, its parameters and the order of its index.
        # After (p, q) in pair order: the rest of p's pairs, then the pairs after p; each a
        # range of one index column after equalities (see select_pairs).
        ranges: list[tuple[str, list[Any], str]] = []
        if actor is None:
            ranges = [("a = ? AND b > ?", [p, q], "a, b"), ("a > ?", [p], "a, b")]
        else:
            # An actor's pairs (a < b in each): (y, actor) in the (b, a) indexes, then
            # (actor, x) in the keys, which all come after them in pair order.
            if p < actor:  # (y, actor) > (p, q): y > p, or y = p when actor > q
                ranges.append((f"b = ? AND a {'>=' if actor > q else '>'} ?", [actor, p],
                               "b, a"))
            if p <= actor:  # (actor, x) > (p, q): every x, or x > q when p is the actor
                ranges.append(("a = ? AND b > ?", [actor, q if p == actor else ""], "a, b"))
        # Each range twice: the outlined pairs (of the stance; by its index, without an
        # actor) whose pair has no mark, and the marked pairs.
        outlined = "SELECT a, b, stance, outline FROM {pair_outlines} o WHERE "
        unmarked = " AND NOT EXISTS (SELECT 1 FROM {pair_marks} m WHERE m.a = o.a AND m.b = o.b)"
        marked = "SELECT a, b, NULL AS stance, NULL AS outline FROM {pair_marks} WHERE "
        branches: list[tuple[str, list[Any], str]] = []
        for condition, params, order in ranges:
            if stance is None:
                branches.append((outlined + condition + unmarked, params, order))
            elif actor is None:
                branches.append((f"{outlined}stance = ? AND {condition}{unmarked}",
                                 [stance, *params], f"stance, {order}"))
            else:
                branches.append((f"{outlined}{condition} AND stance = ?{unmarked}",
                                 [*params, stance], order))
            branches.append((marked + condition, params, order))
        if not branches:
            return []
        statement = " UNION ALL ".join(
            f"SELECT * FROM ({select} ORDER BY {order} LIMIT ?) AS r{i}"
            for i, (select, _, order) in enumerate(branches)) + " ORDER BY a, b LIMIT ?"
        with self.reading() as c:
            c.execute(self.sql(statement),
                      [value for _, params, _ in branches for value in (*params, limit)]
                      + [limit])
            return unpack_outlines(c.fetchall())

    def marked_pairs(self, limit: int, after: tuple[str, str] | None = None
                     ) -> list[tuple[str, str, int]]:
        """The first `limit` marked pairs (see pair_marks) after the pair `after`, each with
        its mark."""
        p, q = after or ("", "")
        with self.reading() as c:
            c.execute(self.sql("SELECT a, b, marked FROM {pair_marks}"
                               " WHERE a > ? OR (a = ? AND b > ?) ORDER BY a, b LIMIT ?"),
                      (p, p, q, limit))
            return [(row["a"], row["b"], row["marked"]) for row in c.fetchall()]

    def generation(self) -> int:
        """How many times the view was reset (see reset): an outliner's turn is of one."""
        with self.reading() as c:
            c.execute(self.sql("SELECT generation FROM {view_generation}"))
            row = c.fetchone()
            return 0 if row is None else row["generation"]

    def count_marked(self) -> int:
        with self.reading() as c:
            c.execute(self.sql("SELECT COUNT(*) AS n FROM {pair_marks}"))
            return c.fetchone()["n"]

    def write_outlines(self, outlined: Sequence[tuple[str, str, int, Any]], generation: int,
                       chapters: Mapping[tuple[str, str], Book] | None = None) -> bool:
        """Write each (a, b, mark, its Relationship now or its outline_row, or None where
        nothing of the pair stands), with the pair's `chapters` (none: it has too few
        moments), and take its mark away, unless a later run marked the pair meanwhile: its
        outline is then folded anew at the next turn. A pair where nothing stands has no
        outline. Nothing is written, and False returned, if the view was reset since
        `generation` was read: a rebuild marks its pairs with the same positions again."""
        if not outlined:
            return True
        chapters = chapters or {}
        with self.writing() as c:
            # The view's lock, which a projection run holds too: on PostgreSQL their row
            # locks, taken in different orders, would otherwise risk a deadlock. Held, no
            # run marks a pair until the commit: the marks read below are the last.
            self.lock_view(c, wait=True)
            # A write first: on SQLite it takes the write lock at once (a read first, and a
            # write after another process's, would fail), and it finds the generation.
            c.execute(self.sql("UPDATE {view_generation} SET generation = generation"
                               " WHERE generation = ? RETURNING generation"), (generation,))
            if c.fetchone() is None:
                return False
            pairs = [(a, b) for a, b, _, _ in outlined]
            first, last = min(pairs), max(pairs)
            within = ("(a > ? OR (a = ? AND b >= ?)) AND (a < ? OR (a = ? AND b <= ?))",
                      (first[0], *first, last[0], *last))
            c.execute(self.sql(f"SELECT a, b, marked FROM {{pair_marks}} WHERE {within[0]}"),
                      within[1])
            marks = {(row["a"], row["b"]): row["marked"] for row in c.fetchall()}
            fresh = [(a, b, state) for a, b, mark, state in outlined
                     if marks.get((a, b)) == mark]
            kept = [(a, b, *outline_row(state)) for a, b, state in fresh if state is not None]
            books = {(a, b): chapters[(a, b)] for a, b, _ in fresh if (a, b) in chapters}
            for statement, rows in (
                ("DELETE FROM {pair_marks} WHERE a = ? AND b = ?",
                 [(a, b) for a, b, _ in fresh]),
                (OUTLINE_PAIRS, kept),
                ("DELETE FROM {pair_outlines} WHERE a = ? AND b = ?",
                 [(a, b) for a, b, state in fresh if state is None]),
            ):
                if rows:
                    c.executemany(self.sql(statement), rows)
            pairs = {(a, b) for a, b, _ in fresh}
            for table, key, write, renew, runs in (
                ("pair_chapters", CHAPTER_KEY, WRITE_CHAPTERS, RENEW_CHAPTERS,
                 lambda book: book.happened),
                ("pair_report_chapters", REPORT_CHAPTER_KEY, WRITE_REPORT_CHAPTERS,
                 RENEW_REPORT_CHAPTERS, lambda book: book.reported),
            ):
                self._write_chapters(c, table, key, within, pairs, write, renew, {
                    pair: [(*pair, *run.key, run.chapters) for run in runs(book)]
                    for pair, book in books.items()})
        return True

    def _write_chapters(self, c: Any, table: str, key: Sequence[str],
                        within: tuple[str, Sequence[Any]], pairs: set[tuple[str, str]],
                        write: str, renew: str,
                        rows: Mapping[tuple[str, str], list[tuple[Any, ...]]]) -> None:
        """Make the rows of chapters of `pairs` in `table` these `rows` (none for a pair not
        in them): the rows they had that the new ones do not key go, and of those they key,
        only the ones whose bytes changed are written (`renew`). A write to a busy pair
        changes the chapters from its moment on, mostly the last few rows: rewriting all of
        them took the busiest pair of a million developments thousands of rows a write (and
        left as many dead rows on PostgreSQL). The pairs' rows are found in one range of the
        key (`within`): few pairs have any."""
        columns = ", ".join(key)
        c.execute(self.sql(f"SELECT {columns} FROM {{{table}}} WHERE {within[0]}"), within[1])
        had: dict[tuple[str, str], set[tuple[Any, ...]]] = {}
        for row in c.fetchall():
            found = tuple(str(row[name]) if name == "development_id" else row[name]
                          for name in key)  # PostgreSQL gives a UUID
            if found[:2] in pairs:
                had.setdefault(found[:2], set()).add(found)
        new = [row for pair in pairs if pair not in had for row in rows.get(pair, ())]
        renewed = [row for pair in had for row in rows.get(pair, ())]
        keys = {tuple(str(part) for part in row[:-1]) for row in renewed}
        gone = [found for pair in had for found in had[pair]
                if tuple(str(part) for part in found) not in keys]
        matching = " AND ".join(f"{name} = ?" for name in key)
        for statement, written in ((f"DELETE FROM {{{table}}} WHERE {matching}", gone),
                                   (write, new), (renew, renewed)):
            if written:
                c.executemany(self.sql(statement), written)

    def read_chapters(self, wanted: Sequence[tuple[tuple[str, str], Sequence[Any] | None,
                                                   Sequence[Any] | None, int | None]],
                      reported: bool = False) -> dict[tuple[str, str], list[Any]]:
        """For each (pair, first, last, count): the pair's chapter in which the key `first`
        falls (its first chapter, with None), then those after it that begin by `last` (any,
        with None), at most `count` of them (any number, with None); in order. Chapters of
        its replay in world time (relationships.Chapter), or `reported`, of its replay by
        report (ReportChapter). A pair with no chapters (its history is short, or it is
        marked, so that its chapters may be stale: see pair_marks) is not in the answer. Read
        as rows of runs of chapters (see pack_chapters, _chapter_rows)."""
        rows: dict[tuple[str, str], list[tuple[tuple[Any, ...], bytes]]] = {}
        unpack = unpack_report_chapters if reported else unpack_chapters
        for row in self._chapter_rows(wanted, reported):
            ident = str(row["development_id"])  # PostgreSQL gives a UUID
            first_key = ((row["day"], ident, row["version"]) if reported
                         else (row["day"], row["step"], row["earliest"], ident))
            rows.setdefault((row["a"], row["b"]), []).append((first_key, row["chapters"]))
        found: dict[tuple[str, str], list[Any]] = {}
        for pair, first, last, count in wanted:
            if pair not in rows:
                continue
            its = sorted(rows[pair], key=lambda row: row[0])
            # The row the kept chapters begin in (the first, where `first` precedes them
            # all), unpacked from the chapter `first` falls in, with that chapter's state
            # alone: the page resumes from it; of the later ones it needs keys and positions.
            at = (0 if first is None else
                  max(0, bisect_right(its, tuple(first), key=lambda row: row[0]) - 1))
            chapters = unpack(pair, its[at][0], its[at][1],
                              its[at][0] if first is None else tuple(first))
            for key, packed in its[at + 1:]:
                chapters += unpack(pair, key, packed, states=False)
            kept = [chapter for chapter in chapters if last is None or chapter.key <= tuple(last)]
            if kept:
                found[pair] = kept if count is None else kept[:count + 1]
        return found

    def _chapter_rows(self, wanted: Sequence[tuple[tuple[str, str], Sequence[Any] | None,
                                                    Sequence[Any] | None, int | None]],
                      reported: bool) -> list[Any]:
        """The rows of chapters read_chapters expands: for each pair, the row in which `first`
        falls and enough rows after it for `count` chapters, none beginning after `last`. One
        statement for up to 200 pairs, each two ranges of the key (PostgreSQL: see there)."""
        table, order = (("pair_report_chapters", "day, development_id, version") if reported
                        else ("pair_chapters", "day, step, earliest, development_id"))
        key = f"({order})"
        marks = ", ".join("?" for _ in order.split(","))
        unmarked = "NOT EXISTS (SELECT 1 FROM {pair_marks} m WHERE m.a = ? AND m.b = ?)"
        found: list[Any] = []
        for start in range(0, len(wanted), 200):
            branches: list[tuple[str, list[Any]]] = []
            for pair, first, last, count in wanted[start:start + 200]:
                where = f"a = ? AND b = ? AND {unmarked}"
                params: list[Any] = [*pair, *pair]
                if last is not None:
                    where, params = f"{where} AND {key} <= ({marks})", [*params, *last]
                if first is None:  # the first chapter and those after it, in one range
                    limit = ("" if count is None
                             else f" LIMIT {rows_for(count + 1, self.chapters_per_row):d}")
                    branches.append((f"{where} ORDER BY {order}{limit}", params))
                    continue
                backwards = order.replace(",", " DESC,") + " DESC"
                branches.append((f"{where} AND {key} <= ({marks}) ORDER BY {backwards} LIMIT 1",
                                 [*params, *first]))
                limit = ("" if count is None
                         else f" LIMIT {rows_for(count, self.chapters_per_row):d}")
                branches.append((f"{where} AND {key} > ({marks}) ORDER BY {order}{limit}",
                                 [*params, *first]))
            statement = " UNION ALL ".join(
                f"SELECT * FROM (SELECT a, b, {order}, chapters FROM {{{table}}} WHERE {where})"
                f" AS c{i}" for i, (where, _) in enumerate(branches))
            with self.reading() as c:
                c.execute(self.sql(statement), [v for _, params in branches for v in params])
                found += c.fetchall()
        return found

    def select_versions(self, developments: Sequence[str]) -> list[VersionRef]:
        """Every version with a link (of any pair) of these developments: the reports of a
        replay by report (see relationships.reports_of)."""
        found = []
        with self.reading() as c:
            for start in range(0, len(developments), Among.CHUNK):
                chunk = developments[start:start + Among.CHUNK]
                c.execute(self.sql(
                    "SELECT v.reported_from, v.development_id, v.version, v.position FROM"
                    " {development_versions} v WHERE v.development_id IN"
                    f" ({', '.join('?' * len(chunk))}) AND EXISTS (SELECT 1 FROM"
                    " {development_links} l WHERE l.position = v.position)"), chunk)
                found += [VersionRef(row["reported_from"], str(row["development_id"]),
                                     row["version"], row["position"]) for row in c.fetchall()]
        return found

    def select_facts(self, positions: Iterable[int]) -> dict[int, tuple[VersionRef, Fact]]:
        """The versions at these positions, each as a replay by report names it and its
        fact."""
        positions = sorted(set(positions))
        found = {}
        with self.reading() as c:
            for start in range(0, len(positions), Among.CHUNK):
                chunk = positions[start:start + Among.CHUNK]
                c.execute(self.sql(
                    f"SELECT v.position, {', '.join(FACT_COLUMNS)} FROM {{development_versions}} v"
                    f" WHERE v.position IN ({', '.join('?' * len(chunk))})"), chunk)
                for row in c.fetchall():
                    fact = fact_of(row)
                    found[row["position"]] = (VersionRef(row["reported_from"], fact.id,
                                                         fact.version, row["position"]), fact)
        return found

    def compact(self, progress: Progress | None = None) -> None:
        """Rebuild the view's indexes packed, after a bulk load wrote most of them, reporting
        each table done (see PostgresTimelineView; SQLite's deleted and split pages are
        reused as they are)."""

    def release_marks(self) -> None:
        """Give the marks' table's space back once no pair is marked (see pair_marks): a
        bulk load marked every pair again and again, and the outliner took each mark away
        (see PostgresTimelineView; on SQLite deleted rows free their pages)."""

    def lag(self, head: LogHead) -> int:
        """How many positions of the events table lie beyond the view's tracking record."""
        with self.reading() as c:
            c.execute(self.sql("SELECT " + self._lag_sql(head) + " AS lag"),
                      (head.application_name,))
            return c.fetchone()["lag"]

    def state(self, head: LogHead) -> ViewState:
        """The view's position and the log's, in one statement."""
        with self.reading() as c:
            c.execute(
                self.sql(
                    "SELECT COALESCE((SELECT MAX({position}) FROM {events}), 0) AS head,"
                    " COALESCE((SELECT MAX(notification_id) FROM {tracking}"
                    " WHERE application_name = ?), 0) AS position",
                    events=head.events, position=head.position, tracking=self.tracking_table(),
                ),
                (head.application_name,),
            )
            row = c.fetchone()
            return ViewState(row["position"], row["head"])

    def _lag_sql(self, head: LogHead) -> str:
        """An expression for the lag, with one parameter: the application's name."""
        return self.sql(
            "COALESCE((SELECT MAX({position}) FROM {events}), 0)"
            " - COALESCE((SELECT MAX(notification_id) FROM {tracking}"
            " WHERE application_name = ?), 0)",
            events=head.events, position=head.position, tracking=self.tracking_table(),
        )

    def reset(self, application_name: str) -> None:
        """Forget everything, tracking included, in one transaction: the next catch-up rebuilds
        the view from the first event."""
        with self.datastore.transaction(commit=True) as c:
            self.lock_view(c, wait=True)
            c.execute(
                self.sql("DELETE FROM {tracking} WHERE application_name = ?",
                         tracking=self.tracking_table()),
                (application_name,),
            )
            self.clear(c, [self.table(table) for table in self.VIEW_TABLES])
            # Marks are positions, which the rebuild marks again: an outliner's turn begun
            # before the reset must not write (see write_outlines).
            c.execute(self.sql("UPDATE {view_generation} SET generation = generation + 1"))

    def clear(self, c: Any, tables: Sequence[str]) -> None:
        """Delete every row of the tables (see PostgresTimelineView)."""
        for table in tables:
            c.execute(f"DELETE FROM {table}")

    def analyze(self, tables: Sequence[str] | None = None) -> None:
        """Refresh the planner's statistics after a bulk load (of the view's tables, or of
        `tables`), so that queries use the pair indexes (PostgreSQL, without them, may scan
        instead)."""
        with self.datastore.transaction(commit=True) as c:
            for table in self.VIEW_TABLES if tables is None else tables:
                c.execute(f"ANALYZE {self.table(table)}")

    def count_versions(self) -> int:
        with self.reading() as c:
            c.execute(self.sql("SELECT COUNT(*) AS n FROM {development_versions}"))
            return c.fetchone()["n"]


class Election:
    """Who is this store's background projector: `try_acquire` is True for one holder at a
    time, until it releases (or its process ends)."""

    def try_acquire(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class FileElection(Election):
    """An exclusive lock on a file beside a SQLite database: the processes serving one file
    (gunicorn's workers) elect one projector, and the kernel frees the lock when its holder
    dies, so another takes over."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: Any = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        held = open(self.path, "a+b")  # noqa: SIM115 (held open for as long as it is elected)
        try:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            held.close()
            return False
        self._file = held
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the lock
            self._file = None


class ProcessElection(Election):
    """An election within one process: for an in-memory store, which no other process sees."""

    _locks: ClassVar[dict[str, threading.Lock]] = {}
    _guard = threading.Lock()

    def __init__(self, name: str) -> None:
        with self._guard:
            self.lock = self._locks.setdefault(name, threading.Lock())
        self.held = False

    def try_acquire(self) -> bool:
        if not self.held:
            self.held = self.lock.acquire(blocking=False)
        return self.held

    def release(self) -> None:
        if self.held:
            self.held = False
            self.lock.release()


class TimelineView(ViewQueries, SQLiteDialect, SQLiteTrackingRecorder):
    """The read model on SQLite, in the events' own database file."""

    def election(self) -> Election:
        """The lock that elects this store's background projector (see Projector)."""
        name = self.datastore.pool.db_name
        if name.startswith("file:") or name == ":memory:":  # in memory: this process alone
            return ProcessElection(name)
        return FileElection(f"{os.path.abspath(name)}-projector")

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.view_statements()]

    def tracking_table(self) -> str:
        return "tracking"


class TimelineProjection(Projection[ViewQueries]):
    """Folds the application's events into the view, one transaction per event."""

    name = "timeline"
    # Aggregates kept from one run to the next (the latest of each stream, up to this many):
    # a catch-up in runs of 500 read each development's earlier events again from the store
    # at every run that continued it.
    kept_aggregates = 20_000

    def __init__(self, view: ViewQueries, repository: Repository) -> None:
        super().__init__(view)
        # The aggregate as of each event: the same code that enforces the rules builds the view.
        self.repository = repository
        self._latest: dict[Any, Any] = {}  # stream id -> its latest aggregate, oldest first
        self._preparing = threading.Lock()  # the kept aggregates move on in place

    def process_event(self, domain_event: Any, tracking: Tracking) -> bool:  # type: ignore[override]
        """Apply one event; False when another process (an API process catching up, or the
        worker) had already applied it, which its tracking record proves."""
        rows = rows_of(
            self._aggregate_at(domain_event, {}), tracking.notification_id,
            domain_event.timestamp,
        )
        try:
            # An event of an aggregate the view does not show is still tracked: not read again.
            self.view.apply(tracking, lambda c: self.view.write_rows(c, [rows] if rows else []))
        except AlreadyProjected:
            return False
        return True

    def process_batch(self, events: Iterable[tuple[Any, int]], application_name: str,
                      after: int, bulk: bool = False, wait: bool = True) -> bool:
        """Apply a run of (event, position) in one transaction, the view's tracking moving
        from `after` to the last position; False when another process got there first.
        `bulk` for a rebuild's long runs; without `wait`, ViewBusy rather than wait for
        another process applying events. The events may be decoded as they are taken: each
        is let go once its rows are made."""
        # Rebuild each aggregate and prepare its rows first, outside the view's transaction:
        # reading the event store while holding the view's write lock would wait on ourselves
        # in memory stores. Each stream's latest aggregate is kept for the next run, whose
        # events it moves on when it is their predecessor (see _aggregate_at).
        prepared: list[Rows] = []
        with self._preparing:
            latest = self._latest
            for domain_event, position in events:
                aggregate = self._aggregate_at(domain_event, latest)
                latest.pop(domain_event.originator_id, None)  # now the most recent
                latest[domain_event.originator_id] = aggregate
                rows = rows_of(aggregate, position, domain_event.timestamp)
                if rows is not None:
                    prepared.append(rows)
            for stream in list(latest)[:max(len(latest) - self.kept_aggregates, 0)]:
                del latest[stream]
        try:
            self.view.apply_batch(
                application_name, after, position,  # the run's last
                lambda c: self.view.write_rows(c, prepared), bulk, wait,
            )
        except AlreadyProjected:
            return False
        return True

    def _aggregate_at(self, domain_event: Any, latest: dict[Any, Any]) -> Any:
        """The aggregate as of this event: the stream's latest aggregate of the run moved on
        in place when it is the one before, else read from the store."""
        if domain_event.originator_version == 1:
            return domain_event.mutate(None)
        previous = latest.get(domain_event.originator_id)
        if previous is not None and previous.version == domain_event.originator_version - 1:
            return domain_event.mutate(previous)
        originator_id: UUID = domain_event.originator_id
        return self.repository.get(originator_id, version=domain_event.originator_version)


def give_back_memory() -> None:
    """Return the C heap's free memory to the system, where the C library can (glibc's
    malloc_trim; elsewhere nothing).

    A bulk run frees its page cache and thousands of decoded events at once, and a turn of
    outlining the folds of hundreds of pairs, but glibc keeps freed memory in its heap: after
    the runs of a rebuild of 1M developments it held about 60 MiB of it, and outlining grew
    the process from 184 to 320 MiB with few more live objects, on top of which the busiest
    pair (40k links) set the rebuild's peak.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


# The process's own symbols hold the C library's: glibc has malloc_trim, others may not.
_malloc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run a bulk load with the cyclic garbage collector running less often.

    A rebuild holds a run of thousands of decoded events and aggregates (no cycles among them)
    while it applies them; at the default threshold the collector went over them again and
    again, about a fifth of a rebuild's time at 300k developments. What lived before is set
    aside (frozen) so that it is not traversed either, unless the process froze objects of its
    own (a server that forks workers may): those stay as they are. The collector is the
    process's, so overlapping bulk loads share one setting, and the last to end restores it.
    """
    with _collections.lock:
        if _collections.depth == 0:
            _collections.threshold = gc.get_threshold()
            _collections.freeze = gc.get_freeze_count() == 0
            if _collections.freeze:
                gc.freeze()
            gc.set_threshold(50_000, *_collections.threshold[1:])
        _collections.depth += 1
    try:
        yield
    finally:
        with _collections.lock:
            _collections.depth -= 1
            if _collections.depth == 0:
                gc.set_threshold(*_collections.threshold)
                if _collections.freeze:
                    gc.unfreeze()


class _Collections:
    """The collector's settings as fewer_collections found them, and how many loads run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.threshold: tuple[int, ...] = ()
        self.freeze = False


_collections = _Collections()


log = logging.getLogger(__name__)


class Projector:
    """The background projector of a serving process: a thread that catches the view up with
    the log, so that no request waits for a backlog (see ReadModel.catch_up_for_read).

    One per store at a time: each serving process (gunicorn's workers) has one, and an
    election (see TimelineView.election) lets only its holder apply events; the others try
    again at each interval, so one takes over when the holder ends. The thread starts when a
    read first finds a backlog, and then looks at the log every `interval` seconds.
    """

    interval = 1.0  # seconds between looks at the log, and between tries of the election
    retry_delay = 5.0  # seconds to wait after the store failed, before trying again

    def __init__(self, read_model: ReadModel, election: Election) -> None:
        self.read_model = read_model
        self.election = election
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def wake(self) -> None:
        """Catch up now: start the thread if it is not running yet."""
        with self._start:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(
                    target=self._run, name=f"projector-{self.read_model.name}", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                if self.election.try_acquire():
                    self._catch_up()
            except Exception:  # the store failed: say so, and try again later
                log.exception("the background projector failed; retrying in %g s",
                              self.retry_delay)
                self._stopping.wait(self.retry_delay)
                continue
            self._wake.wait(self.interval)

    def _catch_up(self) -> None:
        """Apply runs of events until none is left, checking between runs for a stop."""
        self.read_model.catch_up_in_runs(self._stopping.is_set)

    def close(self) -> None:
        """Stop after the run being applied (it commits whole, or not at all)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self.election.release()


class ReadModel:
    """An application's view kept current with its log: the projection's housekeeping
    (catching up, the lag, a rebuild), and reads that find the view current first."""

    catch_up_batch = 500  # events applied per read-model transaction when catching up
    # A background projector further behind than long_backlog applies runs of long_run
    # events (see next_run).
    long_backlog = 5000
    long_run = 5000
    # Larger when rebuilding: no reader is waiting, and each run rewrites fewer pages (see
    # SQLiteDialect.BULK_CACHE_KIB). With the larger cache, a rebuild of 300k developments
    # peaked at 347 MB, against 98 MB in runs of 5000 with the usual cache.
    rebuild_batch = 20_000
    # The pairs outlined per transaction, and the links they hold at most (but for one pair):
    # a write waits for one such turn (see outline_pairs).
    outline_pairs_run = 500
    outline_links = 20_000
    # Pairs counted per statement: a statement per 25 pairs (a page's count) was a third of
    # outlining every pair at 100k developments, one per 500 wastes a count of busy pairs.
    outline_count_chunk = 125
    poll_interval = 0.02  # seconds between looks at the view while a reader waits for it

    def __init__(self, app: Application) -> None:
        self.name = app.name
        self.recorder: Any = app.recorder
        self.mapper = app.mapper
        # The store's factory chooses the view's recorder (TRACKING_RECORDER_TOPIC).
        self.view: ViewQueries = app.factory.tracking_recorder()  # type: ignore[assignment]
        self.projection = TimelineProjection(self.view, app.repository)
        # The largest backlog a read applies itself (TIMELINE_READ_CATCH_UP): beyond it, a
        # read answers at once from the view as it stands while a background projector
        # catches up; "all": every read applies the whole backlog first.
        self.read_catch_up: int | None = None
        self.configure_reads(app.env.get("TIMELINE_READ_CATCH_UP") or READ_CATCH_UP)
        # Who else projects this store: "worker" (PostgreSQL: `timeline worker`), else
        # nobody until a serving process starts its projector (see serve).
        self.worker_projects = app.env.get("TIMELINE_PROJECTOR") == "worker"
        self.serving = False  # a serving process answers at once (see catch_up_for_read)
        self.projector: Projector | None = None
        self._reading = threading.Lock()  # held by the thread of this process catching up

    BOOK_MOMENTS = 5000  # the moments of the busy pairs whose versions are read together
    BOOK_LINKS = 5000  # the links of those versions read at a time

    def configure_reads(self, setting: int | str) -> None:
        """Set the largest backlog a read applies itself: a whole number, or "all"."""
        text = str(setting).strip()
        if text != "all" and not text.isdigit():
            raise StoreError(f"read_catch_up={setting!r}: give a whole number, or all")
        self.read_catch_up = None if text == "all" else int(text)

    def serve(self) -> None:
        """Keep the view current in the background of a serving process, where no worker
        does (see Projector): reads then never wait for a backlog."""
        self.serving = True
        if self.projector is None and not self.worker_projects:
            self.projector = Projector(self, self.view.election())  # type: ignore[attr-defined]
            if self.view.count_marked():  # pairs left to outline (see outline_pairs)
                self.projector.wake()

    def close(self) -> None:
        """Stop the background projector, if this process runs one."""
        if self.projector is not None:
            self.projector.close()

    def current(self) -> ViewQueries:
        """The view, after a read's catch-up (see catch_up_for_read)."""
        self.catch_up_for_read()
        return self.view

    def catch_up_for_read(self, lag: int | None = None) -> int:
        """The catch-up a read does (given the lag when the caller just read it); returns how
        many events it applied.

        In a serving process (see serve), a read applies a small backlog (read_catch_up
        events at most) itself, so a write is read back at once, and only when no one else is
        applying events at that moment; a larger backlog is left to the background projector
        (or the worker), and the read answers from the view as it stands. Any other process
        (a command) applies the whole backlog first: on PostgreSQL, unless another process is
        applying events at that moment.
        """
        if self.read_catch_up is None or not (self.serving or self.worker_projects):
            return self.catch_up()
        if not self.serving:
            return self._catch_up_unless_busy(None)
        if lag is None:
            lag = self.lag()
        if lag == 0:
            return 0
        if lag > self.read_catch_up:
            if self.projector is not None:
                self.projector.wake()
            return 0
        applied = self._catch_up_unless_busy(self.read_catch_up)
        if applied and self.projector is not None:
            self.projector.wake()  # to outline the pairs they changed (see outline_pairs)
        return applied

    def _catch_up_unless_busy(self, limit: int | None) -> int:
        if not self._reading.acquire(blocking=False):
            return 0  # another thread of this process is at it: answer from the view as it is
        try:
            return self.catch_up(limit=limit, wait=False)
        finally:
            self._reading.release()

    def state(self) -> ViewState:
        """The view's position and the log's."""
        return self.view.state(self.log_head)

    def reach(self, position: int | None, timeout: float) -> ViewState:
        """Where the view stands after a read's catch-up, once it has applied at least
        `position`: waits up to `timeout` seconds for it (catching up meanwhile as a read
        does), else ViewBehind. The answer to read-your-writes when a worker projects."""
        state = self.state()
        if state.lag and self.catch_up_for_read(state.lag):
            state = self.state()
        if position is None or state.position >= position:
            return state
        deadline = time.monotonic() + timeout
        while state.position < position:
            if time.monotonic() >= deadline:
                raise ViewBehind(position, state)
            time.sleep(self.poll_interval)
            self.catch_up_for_read()
            state = self.state()
        return state

    def catch_up(self, batch: int | None = None, bulk: bool = False,
                 limit: int | None = None, wait: bool = True,
                 progress: Progress | None = None) -> int:
        """Apply to the view every event it has not seen yet (or `limit` of them at most);
        returns how many it applied.

        Several processes may catch up at once: the tracking record makes one of them win
        each event, and the other moves on to what is left. `batch` events are applied per
        transaction; `bulk` for a rebuild's (see Dialect.writing). Without `wait`, it stops
        as soon as another process is applying events (see Dialect.lock_view). `progress`
        hears of each committed run.
        """
        applied = 0
        behind = self.lag()
        if not behind:  # the common case, in one statement
            return applied
        if progress is not None:
            progress(PROJECTED, applied, behind)
        while limit is None or applied < limit:
            size = batch or self.catch_up_batch
            if limit is not None:
                size = min(size, limit - applied)
            after = self.view.max_tracking_id(self.name) or 0
            notifications = self.recorder.select_notifications(
                start=after, limit=size, inclusive_of_start=False
            )
            if not notifications:
                return applied
            # One transaction for the run; if another process moved on meanwhile, read again.
            try:
                if self._process(notifications, after, bulk, wait):
                    applied += len(notifications)
                    if progress is not None:
                        # Events recorded meanwhile are applied too: the total grows with them.
                        progress(PROJECTED, applied, max(behind, applied))
            except ViewBusy:
                return applied
        return applied

    def _process(self, notifications: Sequence[Any], after: int, bulk: bool, wait: bool
                 ) -> bool:
        """Apply one run of notifications (see catch_up)."""
        # A run holds hundreds of decoded events and their rows, with no cycles among them:
        # the collector going over them again and again was a sixth of a catch-up's time in
        # runs of 500 (as it was of a rebuild's, see fewer_collections).
        with fewer_collections():
            # Decoded one at a time as the projection takes them: a run's decoded events
            # are never all held at once.
            events = ((self.mapper.to_domain_event(n), n.id) for n in notifications)
            return self.projection.process_batch(events, self.name, after, bulk, wait)

    def next_run(self) -> int:
        """How many events a background projector applies in its next transaction: runs of
        catch_up_batch near the log's end, so that a write waits for at most a short one;
        runs of long_run while more than long_backlog events behind (after a bulk write by
        another process, or a restart): in runs of 500, commits and inserts were a third of a
        catch-up's time on SQLite (profiled at 100k; runs of 5000: 1.5x the events/s of 500
        at 100k developments; a write then waits for one run's write transaction: a median of
        279 ms, against 53 ms for runs of 500)."""
        return self.long_run if self.lag() > self.long_backlog else self.catch_up_batch

    def catch_up_in_runs(self, stopping: Callable[[], bool] = lambda: False) -> int:
        """Apply the backlog as a background projector does: runs of next_run events, one
        transaction each, until none is left or `stopping()`, then outline the pairs they
        changed (see outline_pairs); returns how many events it applied."""
        applied = 0
        while not stopping():
            run = self.next_run()
            done = self.catch_up(run, limit=run)
            applied += done
            if done < run:
                # After a long backlog (a bulk write by another process), with statistics.
                # Not compacted (see compact_after): the projector would apply nothing
                # meanwhile, and a bulk command compacts the view it loads itself.
                self.outline_pairs(stopping, after_bulk=applied > self.long_backlog)
                break
        return applied

    def compact_after(self, applied: int, progress: Progress | None = None) -> None:
        """Pack the view's indexes (ViewQueries.compact) once `applied` events were applied in
        bulk, if they are at least half of the view (a rebuild, a first load): a smaller
        load leaves most of each index as it was, and would pay for all of it."""
        if applied and applied * 2 >= self.view.count_versions():
            self.view.compact(progress)

    def outline_pairs(self, stopping: Callable[[], bool] = lambda: False,
                      progress: Progress | None = None, after_bulk: bool = False) -> int:
        """Fold anew each pair whose links changed since its outline was made (the marked
        pairs, see ViewQueries.pair_marks) and keep its outline, a transaction per turn of
        at most outline_pairs_run pairs holding outline_links links (or one pair), until
        none is left or `stopping()`; returns how many pairs it outlined.

        Lists of relationships read the outlines (see Queries.relationships_page), so that a
        page costs a row per pair; they fold the marked pairs themselves, so an outline is
        never stale, only slower until this has run. A pair marked again meanwhile (another
        process applied events) keeps its mark, for the next turn.

        `after_bulk`: the planner's statistics are refreshed first. Outlining reads each pair's
        links by the pair index, and PostgreSQL without statistics of a freshly loaded view
        planned it so that one turn's statement ran for minutes (100k developments)."""
        view = self.view
        if after_bulk:
            view.analyze()
        outlined = 0
        total = 0
        if progress is not None:
            total = view.count_marked()
            if total:
                progress(OUTLINED, outlined, total)
        after: tuple[str, str] | None = None
        # One pass over the pairs in pair order: a pair marked again behind the pass (a busy
        # pair written all the while) waits for the next call, so that a call ends.
        while not stopping():
            generation = view.generation()
            marked = view.marked_pairs(self.outline_pairs_run, after)
            if not marked:
                break
            pairs = [(a, b) for a, b, _ in marked]
            sizes = view.count_links(pairs, NOW, budget=self.outline_links,
                                     chunk=self.outline_count_chunk)
            marked = marked[:affordable(pairs, sizes, self.outline_links)]
            with fewer_collections():
                folded = fold_chapters(
                    view.select_links(among=Among(pairs=pairs[:len(marked)])),
                    view.chapter_moments, view.chapters_per_row, packed)
                # Each state's outline, and its facts let go before the chapters by report
                # read the older versions of the busy pairs: the busiest pair's, one at a
                # time.
                outlines = {pair: outline_row(state) for pair, state in folded.states.items()}
                chapters, shares = folded.chapters, folded.shares
                del folded
                if not view.write_outlines(
                        [(a, b, mark, outlines.get((a, b))) for a, b, mark in marked],
                        generation, self.books(chapters, shares)):
                    after = None  # reset meanwhile: start the pass again, on the new view
                    continue
            after = marked[-1][:2]
            outlined += len(marked)
            if after_bulk:
                # A turn frees what it folded; left in the C heap, the turns' leftovers grew a
                # 1M rebuild's memory by half while outlining (see give_back_memory).
                give_back_memory()
            if progress is not None:
                # Pairs marked meanwhile are outlined too: the total grows with them.
                progress(OUTLINED, outlined, max(total, outlined))
        if after_bulk and outlined:
            view.release_marks()
            # The statistics taken above had (nearly) every pair marked, and few outlined:
            # with them, the planners read a page by scanning instead of a range of a key.
            view.analyze(["pair_outlines", "pair_marks"])
        return outlined

    def books(self, chapters: Mapping[tuple[str, str], list[Packed]],
              current: Mapping[tuple[str, str], Mapping[str, tuple[int, Share]]]
              ) -> dict[tuple[str, str], Book]:
        """The busy pairs' chapters in world time (see fold_chapters), each with those of its
        replay by report (see report_chapters): from every version with a link of each
        development that linked it, and each version's part in the pair as it stands now.
        The current versions' parts come from the fold (`current`, see Folded); the older
        versions are read for a few pairs at a time (BOOK_MOMENTS moments of them
        together), BOOK_LINKS links at a time, each one's part kept (a Share), not its
        links: a turn of the busiest pairs holds few facts at once."""
        view = self.view
        found: dict[tuple[str, str], Book] = {}
        group: list[tuple[str, str]] = []
        held = 0
        for number, pair in enumerate(sorted(chapters), 1):
            group.append(pair)
            held += sum(run.cost for run in chapters[pair])
            if held < self.BOOK_MOMENTS and number < len(chapters):
                continue
            shares = {each: {position: share for position, share in current[each].values()}
                      for each in group}
            developments: dict[str, set[tuple[str, str]]] = {}
            for each in group:
                for ident in current[each]:
                    developments.setdefault(ident, set()).add(each)
            after: tuple[str, str, int] | None = None
            while True:
                linked = view.select_links(among=Among(pairs=group), every_version=True,
                                           superseded=True, after=after,
                                           limit=self.BOOK_LINKS)
                full = len(linked) == self.BOOK_LINKS  # type: ignore[arg-type]
                by_version: dict[tuple[tuple[str, str], int], list[Linked]] = {}
                for link in linked or ():
                    by_version.setdefault((link.pair, link.position), []).append(link)
                if full:  # the last version's other link may come with the next links
                    del by_version[next(reversed(by_version))]
                for (each, position), made in by_version.items():
                    ident = made[0].fact.id
                    shares[each][position] = share_of(own_fold(each, made), ident)
                    developments.setdefault(ident, set()).add(each)
                if not full:
                    break
                after = (*max(by_version)[0], max(by_version)[1])
            versions: dict[tuple[str, str], list[VersionRef]] = {}
            for ref in view.select_versions(sorted(developments)):
                for each in developments[ref.ident]:
                    versions.setdefault(each, []).append(ref)
            for each in group:
                found[each] = Book(chapters[each], report_chapters(
                    each, versions[each], shares[each], view.chapter_moments,
                    view.chapters_per_row, packed))
            group, held = [], 0
        return found

    def lag(self) -> int:
        """How many events the view has not applied yet."""
        return self.view.lag(self.log_head)

    def catch_up_bulk(self, progress: Progress | None = None, batch: int | None = None
                      ) -> int:
        """Apply the whole backlog on the bulk path (runs of `batch` events, by default
        rebuild_batch), then outline the pairs it changed: what a command that wrote many
        events does before it returns, so that no read finds them unapplied."""
        with fewer_collections():
            applied = self.catch_up(batch or self.rebuild_batch, bulk=True, progress=progress)
        give_back_memory()
        self.outline_pairs(progress=progress, after_bulk=applied > 0)
        self.compact_after(applied, progress)
        return applied

    def rebuild(self, progress: Progress | None = None) -> int:
        """Throw the read model away and project it again from the first event."""
        self.view.reset(self.name)
        return self.catch_up_bulk(progress)

    @cached_property
    def log_head(self) -> LogHead:
        return LogHead(
            self.name, self.recorder.table(self.recorder.events_table_name),
            self.recorder.position,
        )

    def links(self, **query: Any) -> list[Linked]:
        """The view's links (see ViewQueries.select_links), once the view holds the whole log:
        checked in the query's own transaction, caught up first only when something waits."""
        found = self.view.select_links(**query, unless_behind=self.log_head)
        if found is None:
            self.catch_up_for_read()
            found = self.view.select_links(**query)
        return found  # type: ignore[return-value]
