"""The PostgreSQL store: the library's PostgreSQL recorders, with the same additions as on SQLite.

The SQL lives in store.EventLog, readmodel.ViewQueries and the store.Tables classes; this module
gives each a PostgreSQL dialect (schema-qualified tables, %s placeholders) and the PostgreSQL
forms of what differs: triggers, the moment the chain is sealed, and importing explicit
positions.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresRecorder,
    PostgresTrackingRecorder,
)
from eventsourcing.utils import retry
from psycopg.sql import SQL

from timeline.progress import REINDEXED, Progress
from timeline.readmodel import ViewQueries, rows_for
from timeline.store import Dialect, EventLog, StoreError, T, create_tables, derived_name

log = logging.getLogger(__name__)

SCHEMA_LOCK = 0x74696D656C696E65  # "timeline": the advisory lock held while creating tables
VIEW_LOCK = 0x76696577  # "view": with the schema's hash, the lock of one schema's read model

# Settings of every session the service opens, unless the store URL says parallel_query=on.
# Its reads are index range scans over a few hundred rows; a parallel plan's worker start-up
# alone costs 6-7 ms, yet at 1M developments, with wide link rows, the planner chose one for an
# actor whose plain plan takes 0.05 ms (see the README's benchmarks). A table's
# parallel_workers = 0 did not stop it; the session's setting does. They are sent when the
# connection starts, so they cost no round trip; a pooler that refuses such options (PgBouncer
# before 1.20, or later without ignore_startup_parameters) needs parallel_query=on.
SESSION_OPTIONS = "-c max_parallel_workers_per_gather=0"
NIL = str(UUID(int=0))  # the lowest development id, for a key before every other


class TimelinePostgresFactory(PostgresFactory):
    """The library's PostgreSQL persistence module, with the service's session settings."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        if self.env.get("TIMELINE_PARALLEL_QUERY", "off") == "on":
            return
        # The pool is not open yet: every connection it makes starts with these options, then
        # any the operator gave in PGOPTIONS (which an explicit `options` would replace, and
        # which come last so that they win).
        options = [SESSION_OPTIONS, os.environ.get("PGOPTIONS", "")]
        self.datastore.pool.kwargs["options"] = " ".join(filter(None, options))

    def access_recorder(self, tables: type[T]) -> T:
        """A recorder of `tables` (tokens, idempotency records) in this store's schema."""
        return create_tables(tables, PostgresTables, self)


class PostgresDialect(Dialect):
    placeholder = "%s"
    integrity_errors = (IntegrityError, psycopg.IntegrityError)
    datastore: PostgresDatastore

    def table(self, name: str) -> str:
        return f'"{self.datastore.schema}"."{name}"'

    def add_statements(self, statements: Sequence[str]) -> None:
        """Append DDL to the library's list, which its create_table() runs in order."""
        self.sql_create_statements.extend(SQL(s) for s in statements)  # type: ignore[attr-defined]

    def lock_schema(self, c: Any) -> None:
        # Processes that start together (gunicorn workers, a worker beside them) would
        # otherwise deadlock replacing the same triggers: one creates, the others wait.
        c.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))

    def lock_view(self, c: Any, wait: bool) -> bool:
        # A lock per schema, held to the end of the transaction: the worker waits for it,
        # a reader that finds it taken answers from the view as it is instead of queueing
        # behind another's catch-up (and then behind each insert's table lock).
        if wait:
            c.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                      (VIEW_LOCK, self.datastore.schema))
            return True
        c.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s)) AS locked",
                  (VIEW_LOCK, self.datastore.schema))
        return bool(c.fetchone()["locked"])

    def reading(self) -> Any:
        # The library's connections are in autocommit mode, where a transaction costs a
        # BEGIN and a ROLLBACK round trip; one statement alone already reads one snapshot.
        return self.datastore.cursor()

    def _create_table(self, curs: Any) -> None:
        self.lock_schema(curs)
        super()._create_table(curs)  # type: ignore[misc]


APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.timeline_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'timeline: % is append-only: % is refused (the immutable log rule); '
        'record a correction or retraction instead', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$"""
# Row triggers fire on every UPDATE, including the one an INSERT ... ON CONFLICT DO UPDATE
# makes, so upserts are refused too (PostgreSQL has no REPLACE).
APPEND_ONLY_TRIGGER = """
CREATE OR REPLACE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION {schema}.timeline_append_only()"""
NO_TRUNCATE_TRIGGER = """
CREATE OR REPLACE TRIGGER {name} BEFORE TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION {schema}.timeline_append_only()"""
TRIGGERS = ((APPEND_ONLY_TRIGGER, "append_only"), (NO_TRUNCATE_TRIGGER, "no_truncate"))


class PostgresTimelineRecorder(EventLog, PostgresDialect, PostgresApplicationRecorder):
    """The library's PostgreSQL application recorder, made append-only and tamper-evident.

    Each insert locks the events table (so that positions are issued in commit order), reads
    the chain's tail under that lock, inserts the events and writes their chain hashes, all in
    one transaction: no other writer can slip in between the tail read and the seal.
    """

    position = "notification_id"

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        if datastore.enable_db_functions:
            # The library's insert function writes the events itself, where nothing seals
            # them: a log written that way would have no chain.
            raise StoreError(
                "POSTGRES_ENABLE_DB_FUNCTIONS is not supported: Timeline seals each event's "
                "hash in the insert's transaction, which the library's insert function skips"
            )
        super().__init__(datastore, **kwargs)
        schema = f'"{datastore.schema}"'
        statements = [
            self.sql(self.HASH_TABLE, position_key=self.position_key),
            self.sql(self.HEADS_TABLE, without_rowid=""),
            self.sql(self.TREE_TABLE, position_key=self.position_key, blob=self.blob),
            APPEND_ONLY_FUNCTION.format(schema=schema),
        ]
        for name in self.append_only_tables():
            for trigger, suffix in TRIGGERS:
                # Distinct after PostgreSQL cuts names at 63 bytes (see derived_name).
                statements.append(trigger.format(
                    name=f'"{derived_name(name, suffix)}"', table=self.table(name),
                    schema=schema,
                ))
        self.add_statements(statements)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert (one transaction in a pipeline: the table's lock, NOTIFY, the
        INSERT), with the chain sealed in it, in as few round trips as the library's alone.

        The marks (the tail, and the positions the log must not end before) are read under
        the lock in the same round trip as the insert, and checked before anything commits:
        a log that ended early takes no write. The library's own insert_events re-raises an
        error of its insert step only after committing the transaction, so the check cannot
        live in its hooks without a round trip of its own before the insert.
        """
        if not stored_events:
            return None
        failure: Exception | None = None
        positions: Sequence[int] = []
        with self.datastore.get_connection() as conn:  # which translates psycopg's errors
            with conn.pipeline() as pipeline:
                try:
                    with conn.transaction(), conn.cursor() as curs, conn.cursor() as marked:
                        self._lock_table(curs)
                        marked.execute(self._marks_sql(), self._marks_params())
                        self.record_beside(curs, stored_events, **kwargs)
                        self._notify_channel(curs)
                        PostgresAggregateRecorder._insert_stored_events(self, curs, stored_events)
                        # One round trip for all of the above; a conflicting version fails here.
                        pipeline.sync()
                        positions = self._fetch_ids_after_insert_events(curs, stored_events)
                        self._seal(curs, positions, stored_events, marked.fetchone())
                # Re-raised once the pipeline has ended, as the library does (psycopg warns about
                # a pipeline left by an error); the transaction has already rolled back.
                except Exception as error:  # noqa: BLE001
                    failure = error
            if failure is not None:
                raise failure
        return positions

    def _insert_hashes(self, c: Any, rows: Sequence[tuple[int, str, str]]) -> None:
        # One statement for an append of several events, not executemany's one INSERT per
        # event; each column is sent as one string (positions and hex hashes hold no space),
        # which psycopg sends as it is, where it escapes every element of a text[] one by one.
        # A thousand rows: 4 ms, against 7 ms as text arrays and 12 ms one by one. A single
        # row goes as VALUES: 62 µs a statement from the client, against 106 µs for the unnest.
        if len(rows) <= 1:
            super()._insert_hashes(c, rows)
            return
        positions, hashes, previous = zip(*rows, strict=True)
        c.execute(
            self.sql(
                "INSERT INTO {event_hashes} (position, hash, previous_hash)"
                " SELECT * FROM unnest(string_to_array(?, ' ')::bigint[],"
                " string_to_array(?, ' '), string_to_array(?, ' '))"
            ),
            (" ".join(map(str, positions)), " ".join(hashes), " ".join(previous)),
        )

    def _add_leaves(self, c: Any, leaves: Sequence[bytes], size: int, last: str | None) -> None:
        # Inside the library's pipeline, a SELECT that followed the executemany of the hashes
        # on the same cursor sometimes fetched the INSERT's result instead ("the last operation
        # didn't produce records (command status: INSERT 0 1)"): half the runs of a synth of
        # 18,000 developments failed. The tree's statements get a cursor of their own, both on
        # an append (the seal grows the tree here) and in build_tree (through _grow_tree).
        with c.connection.cursor() as own:
            super()._add_leaves(own, leaves, size, last)

    def _insert_tree_rows(self, c: Any, rows: Sequence[tuple[int, bytes]]) -> None:
        # A batch's rows in one statement, one round trip, whatever its size.
        c.execute(
            self.sql("INSERT INTO {event_tree_rows} (leaf, hashes)"
                     " SELECT * FROM unnest(?::bigint[], ?::bytea[])"),
            ([leaf for leaf, _ in rows], [hashes for _, hashes in rows]),
        )

    def stream_key(self, originator_id: UUID) -> Any:
        return originator_id

    def _lock_for_import(self, c: Any) -> None:
        self._lock_table(c)

    def _after_import(self, c: Any) -> None:
        # Explicit positions leave the sequence behind; new events must follow the imported.
        c.execute(
            self.sql(
                "SELECT setval(pg_get_serial_sequence('{events}', 'notification_id'),"
                " (SELECT COALESCE(MAX(notification_id), 0) + 1 FROM {events}), false)"
            )
        )


class PostgresTimelineView(ViewQueries, PostgresDialect, PostgresTrackingRecorder):
    """The read model on PostgreSQL, in the store's schema."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.add_statements(self.view_statements())

    def tracking_table(self) -> str:
        return self.table(self.tracking_table_name)

    def clear(self, c: Any, tables: Sequence[str]) -> None:
        # A DELETE leaves every row it deletes in the tables' files as a dead tuple until a
        # vacuum: a rebuild after it doubled the view's bytes on disk. TRUNCATE gives the
        # files back at commit (and waits for the readers of the view meanwhile).
        c.execute(f"TRUNCATE {', '.join(tables)}")

    compact_wait = "10s"  # how long compact waits for older transactions (see there)

    def compact(self, progress: Progress | None = None) -> None:
        # A bulk load inserts each index's entries all over it, and a B-tree page splits
        # half full: at 100k developments the view took 1.05x the log's bytes, its indexes
        # built anew 0.94x (and fewer pages to read). Rebuilt concurrently, so that reads and
        # writes go on meanwhile; not in a transaction, so waiting at most lock_timeout for
        # older transactions. One interrupted leaves an invalid copy of an index, which
        # every insert still writes: those are dropped first.
        with self.datastore.get_connection() as conn:
            try:
                conn.execute(f"SET lock_timeout = '{self.compact_wait}'")
                self._drop_invalid_indexes(conn)
                for done, table in enumerate(self.VIEW_TABLES):
                    if progress is not None:
                        progress(REINDEXED, done, len(self.VIEW_TABLES))
                    conn.execute(f"REINDEX TABLE CONCURRENTLY {self.table(table)}")
                if progress is not None:
                    progress(REINDEXED, len(self.VIEW_TABLES), len(self.VIEW_TABLES))
            except psycopg.Error as error:
                # Another transaction held on past the timeout, say: packing is an economy,
                # never a reason to fail the command that loaded the view. The indexes stay
                # as they were.
                log.warning("the read model's indexes were left as they were: %s", error)
                with contextlib.suppress(psycopg.Error):
                    self._drop_invalid_indexes(conn)
            finally:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("RESET lock_timeout")

    def _drop_invalid_indexes(self, conn: Any) -> None:
        schema = self.datastore.schema
        for row in conn.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_class t ON t.oid = i.indrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND t.relname = ANY(%s) AND NOT i.indisvalid",
                (schema, list(self.VIEW_TABLES))).fetchall():
            conn.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{schema}"."{row["relname"]}"')

    def _chapter_rows(self, wanted: Sequence[tuple[tuple[str, str], Sequence[Any] | None,
                                                    Sequence[Any] | None, int | None]],
                      reported: bool) -> list[Any]:
        # The pairs as arrays, each pair's two ranges of the key in a lateral subquery: one
        # plan for any number of pairs. A UNION ALL of a branch per range, as on SQLite,
        # took PostgreSQL 0.25 s to plan for 200 pairs (and 16 ms to run).
        table, columns, types, lowest = (
            ("pair_report_chapters", ("day", "development_id", "version"),
             ("text", "uuid", "bigint"), ("", NIL, -1)) if reported else
            ("pair_chapters", ("day", "step", "earliest", "development_id"),
             ("text", "bigint", "text", "uuid"), ("", -1, "", NIL)))
        if not wanted:
            return []
        per_row = self.chapters_per_row
        firsts = [first or lowest for _, first, _, _ in wanted]
        lasts = [last or lowest for _, _, last, _ in wanted]
        limits = [None if count is None else
                  rows_for(count + (first is None), per_row) for _, first, _, count in wanted]
        arrays = [[pair[0] for pair, *_ in wanted], [pair[1] for pair, *_ in wanted],
                  [first is not None for _, first, _, _ in wanted],
                  *([str(key[i]) if kind == "uuid" else key[i] for key in firsts]
                    for i, kind in enumerate(types)),
                  [last is not None for _, _, last, _ in wanted],
                  *([str(key[i]) if kind == "uuid" else key[i] for key in lasts]
                    for i, kind in enumerate(types)),
                  limits]
        kinds = ["text", "text", "boolean", *types, "boolean", *types, "bigint"]
        first_key = ", ".join(f"w.f{i}" for i in range(len(columns)))
        last_key = ", ".join(f"w.l{i}" for i in range(len(columns)))
        key = ", ".join(f"t.{column}" for column in columns)
        backwards = ", ".join(f"t.{column} DESC" for column in columns)
        selected = f"t.a, t.b, {key}, t.chapters FROM {{{table}}} t WHERE t.a = w.a AND t.b = w.b"
        by_last = f"(NOT w.has_last OR ({key}) <= ({last_key}))"
        statement = (
            f"SELECT c.* FROM unnest({', '.join(f'?::{kind}[]' for kind in kinds)}) AS w(a, b,"
            f" has_first, {', '.join(f'f{i}' for i in range(len(columns)))}, has_last,"
            f" {', '.join(f'l{i}' for i in range(len(columns)))}, lim)"
            f" CROSS JOIN LATERAL ((SELECT {selected} AND w.has_first AND ({key}) <= ({first_key})"
            f" AND {by_last} ORDER BY {backwards} LIMIT 1) UNION ALL (SELECT {selected}"
            f" AND ({key}) > ({first_key}) AND {by_last} ORDER BY {key} LIMIT w.lim)) c"
            " WHERE NOT EXISTS (SELECT 1 FROM {pair_marks} m WHERE m.a = w.a AND m.b = w.b)")
        with self.reading() as c:
            c.execute(self.sql(statement), arrays)
            return c.fetchall()  # type: ignore[no-any-return]

    def release_marks(self) -> None:
        # Each mark a bulk load took away is a dead row (with an entry in each index) until
        # a vacuum, whose index pages are never given back: about 4 MB at 100k developments.
        # Under the view's lock no run marks a pair, so an empty table stays empty.
        marks = self.table("pair_marks")
        with self.datastore.transaction(commit=True) as c:
            self.lock_view(c, wait=True)
            c.execute(f"SELECT EXISTS (SELECT 1 FROM {marks}) AS marked")
            if not c.fetchone()["marked"]:
                c.execute(f"TRUNCATE {marks}")


class PostgresTables(PostgresDialect, PostgresRecorder):
    """The PostgreSQL side of a store.Tables class."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore)
        self.add_statements(self.table_statements())  # type: ignore[attr-defined]
