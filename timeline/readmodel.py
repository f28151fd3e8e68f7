"""The read model: a materialised view of actors and of every version of every development.

The view is an eventsourcing tracking recorder: each event's rows are written in the same
transaction as its tracking record, so each event is applied exactly once, even when several
processes catch up at the same moment or one of them dies half-way.

Development versions are kept bitemporally: each row holds the record-time interval
[recorded_at, superseded_at) in which it was the current version, and its world-date period
[earliest, latest]. "As known at T" is then an indexed range condition, not a replay.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, singledispatch
from itertools import groupby
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.application import Application, Repository
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.projection import Projection
from eventsourcing.sqlite import SQLiteTrackingRecorder

from timeline.domain import Actor, Development
from timeline.progress import PROJECTED, Progress
from timeline.relationships import Fact, Linked, links, pair_of
from timeline.schemas import dump_development
from timeline.store import Dialect, SQLiteDialect
from timeline.vocabulary import Role

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The shape of the view's tables. A store whose view was built in another shape has its view
# dropped and rebuilt from the events when it is opened (the events are the truth; the view is
# derived), so upgrading Timeline never needs a hand-written migration of the view.
VIEW_SHAPE = 3  # 3: each link carries its version's fact and record-time interval


# What one thread keeps while it applies a run of events in one transaction.
RUN = threading.local()


def micros(moment: datetime) -> int:
    """Record time as integer microseconds since the epoch: exact (no float rounding), and
    ordered as numbers."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def known_versions(known_at: datetime | None, alias: str = "v") -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) on the rows of `alias` (development versions, or
    their links) for the versions current at `known_at` (default: now), retracted ones left
    out."""
    if known_at is None:
        return [f"{alias}.retracted = 0", f"{alias}.superseded_at IS NULL"], []
    at = micros(known_at)
    current = f"({alias}.superseded_at IS NULL OR {alias}.superseded_at > ?)"
    return [f"{alias}.retracted = 0", f"{alias}.recorded_at <= ? AND {current}"], [at, at]


@dataclass(frozen=True)
class LogHead:
    """Where to find the end of an application's log: its name (the view's tracking key),
    its events table and that table's position column."""

    application_name: str
    events: str
    position: str


class VersionRow(NamedTuple):
    """A row of development_versions, its fields in the table's column order."""

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
    document: str


class LinkRow(NamedTuple):
    """A row of development_links: one directed link of a version (see relationships.links),
    with what a relationship query filters on and reads, copied from its version."""

    a: str
    b: str
    source: str
    target: str
    development_id: str
    version: int
    recorded_at: int
    superseded_at: int | None
    retracted: int
    latest: str
    fact: str  # the fact as its links store it (see Version.stored_fact)


class ParticipantRow(NamedTuple):
    """A row of development_actors: an actor a version names, in one role."""

    actor: str
    development_id: str
    version: int
    role: str


class Superseded(NamedTuple):
    """A version written by an earlier run that a version of this run supersedes: the
    parameters of the UPDATE of its row and of its links, by primary key."""

    superseded_at: int
    development_id: str
    version: int


class Version(NamedTuple):
    """A version of a development as the view writes it: its development_versions row, its
    fact (from which its participants and links follow) and the fact as its links store it."""

    row: VersionRow
    fact: Fact
    stored_fact: str


class VersionWrites(NamedTuple):
    """Every row a run of versions writes (see plan_writes), each list in log order."""

    superseded: list[Superseded]
    versions: list[VersionRow]
    participants: list[ParticipantRow]
    links: list[LinkRow]


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
    fact = Fact.of(development)
    return Version(
        VersionRow(
            development_id=str(development.id),
            version=development.version,
            position=position,
            recorded_at=micros(recorded_at),
            superseded_at=None,
            kind=content.kind.value,
            status=development.status.value,
            certainty=content.certainty.value,
            retracted=int(development.retracted),
            earliest=content.date.earliest.isoformat(),
            latest=content.date.latest.isoformat(),
            document=json.dumps(dump_development(development, recorded_at)),
        ),
        fact,
        json.dumps(fact.row()),
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
    """The actors a version names, each in its role."""
    return [
        ParticipantRow(slug, row.development_id, row.version, role.value)
        for role, slugs in ((Role.SOURCE, fact.sources), (Role.TARGET, fact.targets),
                            (Role.PARTICIPANT, fact.participants))
        for slug in slugs
    ]


def link_rows(row: VersionRow, version: Version,
              states: Mapping[str, Iterable[str]]) -> list[LinkRow]:
    """The links a version makes (its actors lifted to their `states`), each carrying the
    version's record-time interval, retraction, world date and stored fact."""
    return [
        LinkRow(*pair_of(source, target), source, target, row.development_id, row.version,
                row.recorded_at, row.superseded_at, row.retracted, row.latest,
                version.stored_fact)
        for source, target in links(version.fact, states)
    ]


def named_actors(versions: Iterable[Version]) -> set[str]:
    """Every actor the versions name, in any role."""
    return {slug for version in versions
            for slugs in (version.fact.sources, version.fact.targets, version.fact.participants)
            for slug in slugs}


def plan_writes(versions: Sequence[Version], states: Mapping[str, Iterable[str]]) -> VersionWrites:
    """Every row a run of versions (in log order) writes, given the states each actor they
    name belongs to (see ViewQueries._states_of)."""
    rows = superseded_in_run(versions)
    participants: list[ParticipantRow] = []
    linked: list[LinkRow] = []
    for row, version in zip(rows, versions, strict=True):
        participants += participant_rows(row, version.fact)
        linked += link_rows(row, version, states)
    return VersionWrites(superseded_before_run(versions), rows, participants, linked)


# What write_versions runs, each statement once per run with its rows (see VersionWrites).
# A superseded version and its links are updated by the whole primary key: every event of a
# development wrote a row, so the current one is the previous version. (By id and
# "superseded_at IS NULL", PostgreSQL without statistics walked the partial index of current
# versions instead: 10-20 ms per row at 1M.)
SUPERSEDE_VERSIONS = (
    "UPDATE {development_versions} SET superseded_at = ? WHERE development_id = ? AND version = ?"
)
SUPERSEDE_LINKS = (
    "UPDATE {development_links} SET superseded_at = ? WHERE development_id = ? AND version = ?"
)
INSERT_VERSIONS = (
    "INSERT INTO {development_versions} (development_id, version, position, recorded_at,"
    " superseded_at, kind, status, certainty, retracted, earliest, latest, document)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_PARTICIPANTS = (
    "INSERT INTO {development_actors} (actor, development_id, version, role)"
    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
INSERT_LINKS = (
    "INSERT INTO {development_links} (a, b, source, target, development_id, version,"
    " recorded_at, superseded_at, retracted, latest, fact)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


class AlreadyProjected(IntegrityError):
    """Another process applied these events first: its tracking record is ahead of ours.

    Only this is a reason to skip events; any other error while writing the view is raised.
    """


class ViewQueries(Dialect):
    """The read model's tables and queries, written once for both stores (see store.Dialect)."""

    VIEW_TABLES = ("actors", "development_versions", "development_links", "development_actors")
    TABLES = (*VIEW_TABLES, "view_shape")
    datastore: Any
    _insert_tracking: Any
    table_migration_identifier: str
    _actors_at: tuple[int, dict[str, Any]] | None = None  # (position, actors' documents)

    def view_statements(self) -> list[str]:
        statements = [
            """CREATE TABLE IF NOT EXISTS {actors} (
                slug TEXT PRIMARY KEY, document TEXT NOT NULL, version BIGINT NOT NULL)""",
            """CREATE TABLE IF NOT EXISTS {development_versions} (
                development_id TEXT NOT NULL, version BIGINT NOT NULL,
                position BIGINT NOT NULL,
                recorded_at BIGINT NOT NULL, superseded_at BIGINT,
                kind TEXT NOT NULL, status TEXT NOT NULL, certainty TEXT NOT NULL,
                retracted INTEGER NOT NULL, earliest TEXT NOT NULL, latest TEXT NOT NULL,
                document TEXT NOT NULL,
                PRIMARY KEY (development_id, version))""",
            # The current versions in world-date order: the common listing.
            """CREATE INDEX IF NOT EXISTS development_versions_current
                ON {development_versions} (earliest, latest, development_id)
                WHERE superseded_at IS NULL""",
            """CREATE INDEX IF NOT EXISTS development_versions_recorded
                ON {development_versions} (recorded_at)""",
            # The directed links each version makes (see relationships.links), keyed by pair,
            # each with what a relationship query filters on and reads (its version's
            # record-time interval, retraction, world date and compact fact): one index range
            # scan answers the query, with no lookup of the version per link.
            """CREATE TABLE IF NOT EXISTS {development_links} (
                a TEXT NOT NULL, b TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL,
                development_id TEXT NOT NULL, version BIGINT NOT NULL,
                recorded_at BIGINT NOT NULL, superseded_at BIGINT,
                retracted INTEGER NOT NULL, latest TEXT NOT NULL, fact TEXT NOT NULL,
                PRIMARY KEY (a, b, development_id, version, source, target)){without_rowid}""",
            """CREATE INDEX IF NOT EXISTS development_links_by_b
                ON {development_links} (b, a)""",
            # To mark a superseded version's links.
            """CREATE INDEX IF NOT EXISTS development_links_by_version
                ON {development_links} (development_id, version)""",
            """CREATE TABLE IF NOT EXISTS {development_actors} (
                actor TEXT NOT NULL, development_id TEXT NOT NULL, version BIGINT NOT NULL,
                role TEXT NOT NULL,
                PRIMARY KEY (actor, development_id, version, role)){without_rowid}""",
            "CREATE TABLE IF NOT EXISTS {view_shape} (version BIGINT NOT NULL)",
        ]
        return [self.sql(s, without_rowid=self.without_rowid) for s in statements]

    def create_table(self) -> None:
        """The library creates the tables; then a view of another shape (see VIEW_SHAPE) is
        dropped and created anew, and the next catch-up rebuilds it from the events."""
        super().create_table()  # type: ignore[misc]
        with self.datastore.transaction(commit=True) as c:
            self.lock_schema(c)
            # A write first: on SQLite it takes the write lock at once (waiting its turn), so
            # processes opening the store together check the shape one after the other.
            c.execute(self.sql("UPDATE {view_shape} SET version = version"))
            c.execute(self.sql("SELECT version FROM {view_shape}"))
            row = c.fetchone()
            if row is not None and row["version"] == VIEW_SHAPE:
                return
            for table in self.VIEW_TABLES:
                c.execute(f"DROP TABLE IF EXISTS {self.table(table)}")
            # Every application's position, but not the library's own migration marker.
            c.execute(
                self.sql("DELETE FROM {tracking} WHERE application_name <> ?",
                         tracking=self.tracking_table()),
                (self.table_migration_identifier,),
            )
            c.execute(self.sql("DELETE FROM {view_shape}"))
            for statement in self.view_statements():
                c.execute(statement)
            c.execute(self.sql("INSERT INTO {view_shape} (version) VALUES (?)"), (VIEW_SHAPE,))

    def tracking_table(self) -> str:
        raise NotImplementedError

    def apply_batch(self, application_name: str, after: int, last: int, write: Any,
                    bulk: bool = False) -> None:
        """Run `write(cursor)` for a run of events and move the tracking record from `after`
        to `last`, atomically. If any other process moved it meanwhile, nothing is written
        (IntegrityError): this run, or part of it, was applied already. `bulk` for a rebuild's
        long runs (see Dialect.writing)."""
        tracking = self.tracking_table()
        with self.writing(bulk) as c:
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
                "INSERT INTO {actors} (slug, document, version) VALUES (?, ?, ?)"
                " ON CONFLICT (slug) DO UPDATE SET document = excluded.document,"
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
        for statement, rows in (
            (SUPERSEDE_VERSIONS, writes.superseded),
            (SUPERSEDE_LINKS, writes.superseded),
            (INSERT_VERSIONS, writes.versions),
            (INSERT_PARTICIPANTS, writes.participants),
            (INSERT_LINKS, writes.links),
        ):
            if rows:
                c.executemany(self.sql(statement), rows)

    def _states_of(self, c: Any, slugs: Iterable[str]) -> dict[str, set[str]]:
        """For each actor, the states it belongs to, following belongs_to through
        organisations (Carl Bildt -> ECFR, Sweden -> {sweden})."""
        # Within one transaction (a run of events) each actor is read once.
        cache: dict[str, dict[str, Any] | None] | None = getattr(RUN, "actors", None)
        if cache is None:
            cache = {}

        def document(slug: str) -> dict[str, Any] | None:
            if slug not in cache:
                c.execute(self.sql("SELECT document FROM {actors} WHERE slug = ?"), (slug,))
                row = c.fetchone()
                cache[slug] = json.loads(row["document"]) if row else None
            return cache[slug]

        def states(slug: str, seen: frozenset[str]) -> set[str]:
            found: set[str] = set()
            for owner in (document(slug) or {}).get("belongs_to", []):
                if owner in seen:
                    continue
                owner_document = document(owner)
                if owner_document and owner_document["kind"] == "state":
                    found.add(owner)
                else:
                    found |= states(owner, seen | {owner})
            return found

        return {slug: states(slug, frozenset({slug})) for slug in slugs}

    # --- reading ----------------------------------------------------------------------------

    def select_actors(self, slugs: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """All actors (or the named ones), by slug. O(actors returned)."""
        with self.reading() as c:
            if slugs is None:
                c.execute(self.sql("SELECT document FROM {actors} ORDER BY slug"))
            else:
                wanted = list(slugs)
                marks = ",".join("?" * len(wanted))
                c.execute(
                    self.sql(f"SELECT document FROM {{actors}} WHERE slug IN ({marks}) ORDER BY slug"),
                    wanted,
                )
            return [json.loads(row["document"]) for row in c.fetchall()]

    def select_members(self, slugs: Iterable[str]) -> set[str]:
        """The actors and, transitively, every actor that belongs to them. O(actors)."""
        with self.reading() as c:
            c.execute(self.sql("SELECT slug, document FROM {actors}"))
            rows = c.fetchall()
        belongs = {row["slug"]: json.loads(row["document"])["belongs_to"] for row in rows}
        found = set(slugs)
        while True:
            more = {slug for slug, owners in belongs.items() if found & set(owners)} - found
            if not more:
                return found
            found |= more

    def select_developments(
        self,
        *,
        actors: Sequence[str] = (),
        kind: str | None = None,
        status: str | None = None,
        certainty: str | None = None,
        start: date | None = None,
        end: date | None = None,
        known_at: datetime | None = None,
        after: tuple[str, str, str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Developments as known at `known_at` (default: now), in world-date order.

        A development is in [start, end] when its period overlaps it. Retracted ones are left
        out. `after` is the (earliest, latest, id) of the last row of the previous page.
        Cost: one index range scan, O(rows returned) on current knowledge.

        One function, over 50 lines, because each filter adds its condition to one statement:
        split up, the conditions and their parameters would have to travel between pieces.
        """
        where, params = known_versions(known_at)
        for column, value in (("kind", kind), ("status", status), ("certainty", certainty)):
            if value is not None:
                where.append(f"v.{column} = ?")
                params.append(value)
        if start is not None:
            where.append("v.latest >= ?")
            params.append(start.isoformat())
        if end is not None:
            where.append("v.earliest <= ?")
            params.append(end.isoformat())
        if actors:
            where.append(
                "EXISTS (SELECT 1 FROM {development_actors} a WHERE a.development_id ="
                " v.development_id AND a.version = v.version AND a.actor IN"
                f" ({','.join('?' * len(actors))}))"
            )
            params += list(actors)
        if after is not None:
            where.append("(v.earliest, v.latest, v.development_id) > (?, ?, ?)")
            params += list(after)
        statement = (
            "SELECT v.document FROM {development_versions} v WHERE "
            + " AND ".join(where)
            + " ORDER BY v.earliest, v.latest, v.development_id"
        )
        if limit is not None:
            statement += " LIMIT ?"
            params.append(limit)
        with self.reading() as c:
            c.execute(self.sql(statement), params)
            return [json.loads(row["document"]) for row in c.fetchall()]

    def select_links(
        self,
        *,
        pair: tuple[str, str] | None = None,
        actor: str | None = None,
        known_at: datetime | None = None,
        as_of: date | None = None,
        unless_behind: LogHead | None = None,
    ) -> list[Linked] | None:
        """The links of one pair, of one actor's pairs, or of all pairs, as known at
        `known_at` (default: now), of developments dated on or before `as_of`.

        With `unless_behind`, the same statement also reads whether the view has applied the
        whole log, and None is returned if it has not (the caller catches up and asks again):
        read-your-writes in one round trip to the store.

        Cost: an index range scan on (a, b), or on (a, b) and (b, a): O(links of the pair, or
        of the actor's pairs, over all their versions), whatever the length of the rest of the
        history. With neither pair nor actor, O(all links).

        Over 50 lines because the statement, its lag check and the decoding of its rows are
        one round trip to the store, read together (see the benchmarks' query figures).
        """
        where, wanted = known_versions(known_at, "l")
        if as_of is not None:
            where.append("l.latest <= ?")
            wanted.append(as_of.isoformat())
        # Each link carries what the filters need and the fact the answer needs: one range
        # scan of the pair index (or of both, for an actor), whatever the planner's statistics
        # say, and no lookup of the version per link.
        select = (
            "SELECT l.source, l.target, l.fact, CAST(NULL AS BIGINT) AS lag"
            " FROM {development_links} l"
        )
        if pair is not None:
            branches = [("l.a = ? AND l.b = ?", list(pair_of(*pair)))]
        elif actor is not None:
            branches = [("l.a = ?", [actor]), ("l.b = ?", [actor])]
        else:
            branches = [("1 = 1", [])]
        statement = " UNION ALL ".join(
            f"{select} WHERE {chosen} AND " + " AND ".join(where) for chosen, _ in branches
        )
        params = [value for _, keys in branches for value in (*keys, *wanted)]
        if unless_behind is not None:
            # The view's lag in the same statement: read-your-writes in one round trip.
            statement += " UNION ALL SELECT NULL, NULL, NULL, " + self._lag_sql(unless_behind)
            params.append(unless_behind.application_name)
        found: list[Linked] = []
        facts: dict[str, Fact] = {}  # one Fact per development version, shared by its links
        with self.reading() as c:
            c.execute(self.sql(statement), params)
            rows = c.fetchall()
        for row in rows:
            stored = row["fact"]
            if stored is None:  # the lag row
                if row["lag"]:
                    return None
                continue
            fact = facts.get(stored)
            if fact is None:
                fact = facts[stored] = Fact.from_row(json.loads(stored))
            found.append(Linked(fact, row["source"], row["target"]))
        return found

    def lag(self, head: LogHead) -> int:
        """How many positions of the events table lie beyond the view's tracking record."""
        with self.reading() as c:
            c.execute(self.sql("SELECT " + self._lag_sql(head) + " AS lag"),
                      (head.application_name,))
            return c.fetchone()["lag"]

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
            c.execute(
                self.sql("DELETE FROM {tracking} WHERE application_name = ?",
                         tracking=self.tracking_table()),
                (application_name,),
            )
            for table in self.VIEW_TABLES:
                c.execute(f"DELETE FROM {self.table(table)}")

    def analyze(self) -> None:
        """Refresh the planner's statistics after a bulk load, so that queries use the pair
        indexes (PostgreSQL, without them, may scan instead)."""
        with self.datastore.transaction(commit=True) as c:
            for table in self.VIEW_TABLES:
                c.execute(f"ANALYZE {self.table(table)}")

    def count_versions(self) -> int:
        with self.reading() as c:
            c.execute(self.sql("SELECT COUNT(*) AS n FROM {development_versions}"))
            return c.fetchone()["n"]


class TimelineView(ViewQueries, SQLiteDialect, SQLiteTrackingRecorder):
    """The read model on SQLite, in the events' own database file."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.view_statements()]

    def tracking_table(self) -> str:
        return "tracking"


class TimelineProjection(Projection[ViewQueries]):
    """Folds the application's events into the view, one transaction per event."""

    name = "timeline"

    def __init__(self, view: ViewQueries, repository: Repository) -> None:
        super().__init__(view)
        # The aggregate as of each event: the same code that enforces the rules builds the view.
        self.repository = repository

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

    def process_batch(self, events: list[tuple[Any, int]], application_name: str,
                      after: int, bulk: bool = False) -> bool:
        """Apply a run of (event, position) in one transaction, the view's tracking moving
        from `after` to the last position; False when another process got there first.
        `bulk` for a rebuild's long runs."""
        # Rebuild each aggregate and prepare its rows first, outside the view's transaction:
        # reading the event store while holding the view's write lock would wait on ourselves
        # in memory stores.
        latest: dict[Any, Any] = {}  # the latest aggregate of each stream within the run
        prepared: list[Rows] = []
        for domain_event, position in events:
            aggregate = self._aggregate_at(domain_event, latest)
            latest[domain_event.originator_id] = aggregate
            rows = rows_of(aggregate, position, domain_event.timestamp)
            if rows is not None:
                prepared.append(rows)
        try:
            self.view.apply_batch(
                application_name, after, events[-1][1],
                lambda c: self.view.write_rows(c, prepared), bulk,
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


class ReadModel:
    """An application's view kept current with its log: the projection's housekeeping
    (catching up, the lag, a rebuild), and reads that find the view current first."""

    catch_up_batch = 500  # events applied per read-model transaction when catching up
    # Larger when rebuilding: no reader is waiting, and each run rewrites fewer pages (see
    # SQLiteDialect.BULK_CACHE_KIB). With the larger cache, a rebuild of 300k developments
    # peaked at 347 MB, against 98 MB in runs of 5000 with the usual cache.
    rebuild_batch = 20_000

    def __init__(self, app: Application) -> None:
        self.name = app.name
        self.recorder: Any = app.recorder
        self.mapper = app.mapper
        # The store's factory chooses the view's recorder (TRACKING_RECORDER_TOPIC).
        self.view: ViewQueries = app.factory.tracking_recorder()  # type: ignore[assignment]
        self.projection = TimelineProjection(self.view, app.repository)

    def current(self) -> ViewQueries:
        """The view, once it holds the whole log: whoever just wrote reads what they wrote."""
        self.catch_up()
        return self.view

    def catch_up(
        self, batch: int | None = None, bulk: bool = False, progress: Progress | None = None
    ) -> int:
        """Apply to the view every event it has not seen yet; returns how many it applied.

        Queries call this first, so whoever just wrote reads what they wrote. Several
        processes may catch up at once: the tracking record makes one of them win each event,
        and the other moves on to what is left. `batch` events are applied per transaction;
        `bulk` for a rebuild's (see Dialect.writing). `progress` hears of each committed run.
        """
        applied = 0
        behind = self.lag()
        if not behind:  # the common case, in one statement
            return applied
        if progress is not None:
            progress(PROJECTED, applied, behind)
        while True:
            after = self.view.max_tracking_id(self.name) or 0
            notifications = self.recorder.select_notifications(
                start=after, limit=batch or self.catch_up_batch, inclusive_of_start=False
            )
            if not notifications:
                return applied
            events = [(self.mapper.to_domain_event(n), n.id) for n in notifications]
            # One transaction for the run; if another process moved on meanwhile, read again.
            if self.projection.process_batch(events, self.name, after, bulk):
                applied += len(events)
                if progress is not None:
                    # Events recorded meanwhile are applied too: the total grows with them.
                    progress(PROJECTED, applied, max(behind, applied))

    def lag(self) -> int:
        """How many events the view has not applied yet."""
        return self.view.lag(self.log_head)

    def rebuild(self, progress: Progress | None = None) -> int:
        """Throw the read model away and project it again from the first event."""
        self.view.reset(self.name)
        with fewer_collections():
            applied = self.catch_up(self.rebuild_batch, bulk=True, progress=progress)
        self.view.analyze()
        return applied

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
            self.catch_up()
            found = self.view.select_links(**query)
        return found  # type: ignore[return-value]
