"""The event store: one setting, TIMELINE_STORE, mapped onto eventsourcing's persistence modules.

`sqlite:///timeline.db` (a file, relative to the working directory; `sqlite:////abs/path.db`
for an absolute path) is the default; `memory://` is a private in-memory SQLite database for
tests and experiments. `postgresql://user:password@host:port/dbname?schema=NAME` is the
production store, through the library's PostgreSQL module (see timeline/postgres.py).

The custom recorders subclass the library's, as its searchabletimestamps example does, so every
write still goes through the library's insert path; their SQL is written once for both stores.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import fields
from datetime import date
from enum import Enum
from functools import cache, cached_property
from typing import Any, TypeVar
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError, JSONTranscoder, StoredEvent, Transcoding
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteRecorder,
)
from eventsourcing.sqlite import SQLiteFactory as LibrarySQLiteFactory

from timeline import merkle
from timeline.audit import (
    GENESIS,
    DamagedLog,
    LogEndsEarly,
    LogFileError,
    LoggedEvent,
    LogMarks,
    StreamGap,
    chain_digest,
    chain_hash,
)
from timeline.domain import Content, PartialDate, Participation, Provenance, Source, stored_date
from timeline.proofcache import ProofCache
from timeline.vocabulary import ActorKind, Certainty, Dataset, Kind, Role, Status, by_value

DEFAULT_STORE = "sqlite:///timeline.db"


class StoreError(Exception):
    """The store setting cannot be used."""


def store_url(url: str | None = None) -> str:
    """The store URL in force: the argument, else TIMELINE_STORE, else the default."""
    return url or os.environ.get("TIMELINE_STORE") or DEFAULT_STORE


def persistence_env(url: str) -> dict[str, str]:
    """The eventsourcing environment for a store URL."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        # A shared-cache memory database, so that the application and its read model (separate
        # connections in one process) see the same data; a fresh name isolates each store.
        name = f"file:timeline-{uuid4().hex}?mode=memory&cache=shared"
        return {**SQLITE, "SQLITE_DBNAME": name}
    if parts.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not path:
            raise StoreError(
                f"{url!r}: give a file, as sqlite:///relative/path.db or sqlite:////abs/path.db"
            )
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise StoreError(f"{url!r}: the directory {directory} does not exist")
        # Writers from several processes wait for each other rather than fail at once.
        return {**SQLITE, "SQLITE_DBNAME": path, "SQLITE_LOCK_TIMEOUT": "30"}
    if parts.scheme in ("postgresql", "postgres"):
        return postgres_env(parts)
    raise StoreError(
        f"{url!r} is not a store URL: use sqlite:///path.db, memory:// or "
        "postgresql://user:password@host:port/dbname[?schema=NAME]"
    )


SQLITE = {
    "PERSISTENCE_MODULE": "timeline.store:SQLiteFactory",
    "APPLICATION_RECORDER_TOPIC": "timeline.store:TimelineRecorder",
    "TRACKING_RECORDER_TOPIC": "timeline.readmodel:TimelineView",
}

# The library's PostgreSQL module, as timeline.postgres configures it (imported only when used:
# psycopg is an optional dependency).
POSTGRES_MODULE = "timeline.postgres:TimelinePostgresFactory"

# Query parameters of a postgresql:// URL, and the eventsourcing settings they become.
POSTGRES_OPTIONS = {
    "schema": "POSTGRES_SCHEMA",
    "pool_size": "POSTGRES_POOL_SIZE",
    "max_overflow": "POSTGRES_MAX_OVERFLOW",
    "connect_timeout": "POSTGRES_CONNECT_TIMEOUT",
    "lock_timeout": "POSTGRES_LOCK_TIMEOUT",
    "max_waiting": "POSTGRES_MAX_WAITING",
    "parallel_query": "TIMELINE_PARALLEL_QUERY",  # see timeline/postgres.py
    "pre_ping": "POSTGRES_PRE_PING",  # the pool checks a connection before handing it out
    "read_catch_up": "TIMELINE_READ_CATCH_UP",  # see ReadModel.read_catch_up
}
# Options that take a word; the first is the default.
SWITCHES = {"parallel_query": ("off", "on"), "pre_ping": ("on", "off")}
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class SQLiteConnections(SQLiteConnectionPool):
    """The library's SQLite connections, with a statement cache that holds our statements.

    eventsourcing 9.5 opens connections with `cached_statements=True`, which sqlite3 reads as
    a cache of one statement: every statement but the last one was prepared again each time,
    which made each write to the read model cost 40-80 µs instead of 10-20.
    """

    STATEMENT_CACHE = 256

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()  # WAL mode, row factory, as the library sets
        raw = connection._sqlite_conn
        replacement = sqlite3.connect(
            database=self.db_name,
            uri=True,
            check_same_thread=False,
            isolation_level=None,
            cached_statements=self.STATEMENT_CACHE,
            timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
        )
        replacement.row_factory = raw.row_factory
        raw.close()
        return SQLiteConnection(sqlite_conn=replacement, max_age=self.max_age)


class SQLiteFactory(LibrarySQLiteFactory):
    """The library's SQLite persistence module, with SQLiteConnections, and the tables kept
    beside the events (see access_recorder)."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        pool = self.datastore.pool
        self.datastore.pool = SQLiteConnections(
            db_name=pool.db_name, lock_timeout=pool.lock_timeout, pool_size=pool.pool_size,
            max_overflow=pool.max_overflow, pool_timeout=pool.pool_timeout,
            max_age=pool.max_age, pre_ping=pool.pre_ping,
        )

    def access_recorder(self, tables: type[T]) -> T:
        """A recorder of `tables` (tokens, idempotency records) in this store's database."""
        return create_tables(tables, SQLiteTables, self)


def postgres_env(parts: SplitResult) -> dict[str, str]:
    """postgresql://user:password@host:port/dbname?schema=NAME&pool_size=N&max_overflow=N
    &connect_timeout=SECONDS&lock_timeout=SECONDS&max_waiting=N&parallel_query=off|on
    &pre_ping=on|off&read_catch_up=N|all"""
    dbname = parts.path.lstrip("/")
    if not dbname or not parts.hostname:
        raise StoreError(
            "a PostgreSQL store URL needs a host and a database: "
            "postgresql://user:password@host:port/dbname[?schema=NAME]"
        )
    options = parse_qs(parts.query)
    unknown = set(options) - set(POSTGRES_OPTIONS)
    if unknown:
        raise StoreError(
            f"unknown PostgreSQL store options {', '.join(sorted(unknown))};"
            f" known: {', '.join(POSTGRES_OPTIONS)}"
        )
    env = {
        "PERSISTENCE_MODULE": POSTGRES_MODULE,
        "APPLICATION_RECORDER_TOPIC": "timeline.postgres:PostgresTimelineRecorder",
        "TRACKING_RECORDER_TOPIC": "timeline.postgres:PostgresTimelineView",
        "POSTGRES_DBNAME": unquote(dbname),
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or getpass.getuser()),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": "public",
        "POSTGRES_POOL_SIZE": "5",
        "POSTGRES_MAX_OVERFLOW": "10",
        "POSTGRES_CONNECT_TIMEOUT": "10",
        # Kept off: in 9.5.6 its insert function is shared by the applications of one schema.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "TIMELINE_PARALLEL_QUERY": SWITCHES["parallel_query"][0],
        # A pooled connection is checked (an empty statement) before use: one dropped by a
        # failover or a server restart is replaced instead of failing a request.
        "POSTGRES_PRE_PING": SWITCHES["pre_ping"][0],
        # The worker projects (see ReadModel.catch_up_for_read).
        "TIMELINE_PROJECTOR": "worker",
    }
    for option, values in options.items():
        value = values[-1]
        if option == "schema" and not IDENTIFIER.match(value):
            raise StoreError(f"schema {value!r}: use letters, digits and underscores")
        if option in SWITCHES and value not in SWITCHES[option]:
            raise StoreError(f"{option}={value!r}: give {' or '.join(SWITCHES[option])}")
        if option == "read_catch_up":
            if value != "all" and not value.isdigit():
                raise StoreError(f"read_catch_up={value!r}: give a whole number, or all")
        elif option not in ("schema", *SWITCHES) and not value.replace(".", "", 1).isdigit():
            raise StoreError(f"{option}={value!r}: give a number")
        env[POSTGRES_OPTIONS[option]] = value
    return env


def prepare(env: dict[str, str]) -> None:
    """Create what the persistence module expects to exist already: on PostgreSQL, the
    schema (the library creates tables, not schemas)."""
    if env["PERSISTENCE_MODULE"] != POSTGRES_MODULE:
        return
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        raise StoreError(
            "the PostgreSQL store needs psycopg: pip install 'timeline[postgres]'"
        ) from None
    try:
        with psycopg.connect(
            dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"] or None,
            connect_timeout=int(float(env["POSTGRES_CONNECT_TIMEOUT"])), autocommit=True,
        ) as connection:
            connection.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    sql.Identifier(env["POSTGRES_SCHEMA"])
                )
            )
    except psycopg.errors.UniqueViolation:
        pass  # another process created it at the same moment
    except psycopg.Error as error:
        raise StoreError(f"cannot reach the PostgreSQL store: {error}".strip()) from None


# --- SQL written once for both stores ---------------------------------------------------------


class Dialect:
    """Statements are written once, with `?` placeholders and `{name}` for each table; a
    recorder's dialect turns them into its store's SQL."""

    TABLES: tuple[str, ...] = ()
    placeholder = "?"
    without_rowid = ""
    # A table's integer key, the type of bytes and of a development's id (see
    # readmodel.ViewQueries.view_statements).
    position_key = "BIGINT PRIMARY KEY"
    blob = "BYTEA"
    uuid = "UUID"  # 16 bytes, in the order of its text
    # Whether a table keyed WITHOUT ROWID holds its rows in its key's B-tree (SQLite), rather
    # than in a heap beside every index of it (PostgreSQL).
    index_organized = False
    # The room a table whose rows are updated again and again leaves in each page, so that
    # an update stays in its page (see readmodel.ViewQueries.view_statements).
    churned = " WITH (fillfactor = 50)"
    # What a constraint violation raises inside a transaction (before the library's
    # connection wrapper turns the driver's error into its own).
    integrity_errors: tuple[type[Exception], ...] = (IntegrityError,)

    def table(self, name: str) -> str:
        return name

    def lock_schema(self, c: Any) -> None:
        """Make processes that change tables at the same moment take turns (see postgres)."""

    def lock_view(self, c: Any, wait: bool) -> bool:
        """Take the view's lock for this transaction; without `wait`, False if another process
        holds it. On SQLite the transaction's first write takes the database's write lock,
        which is the view's lock too (see postgres)."""
        return True

    def reading(self) -> Any:
        """A cursor for a read of one statement (see postgres)."""
        return self.datastore.transaction(commit=False)  # type: ignore[attr-defined]

    def writing(self, bulk: bool = False) -> Any:
        """A cursor in a write transaction, committed at the end; `bulk` for the long runs of
        inserts of a rebuild (see SQLiteDialect)."""
        return self.datastore.transaction(commit=True)  # type: ignore[attr-defined]

    def sql(self, statement: str, **names: str) -> str:
        key = (statement, *names.items())
        cache = self.__dict__.setdefault("_sql_cache", {})
        if key not in cache:  # statements are few and hot: build each once
            tables = {name: self.table(name) for name in self.TABLES}
            cache[key] = statement.format(**tables, **names).replace("?", self.placeholder)
        return cache[key]


class SQLiteDialect(Dialect):
    without_rowid = " WITHOUT ROWID"
    position_key = "INTEGER PRIMARY KEY"  # the rowid itself: no key stored twice
    blob = "BLOB"
    uuid = "TEXT"
    index_organized = True
    churned = ""
    integrity_errors = (IntegrityError, sqlite3.IntegrityError)

    # The page cache of a connection while it writes a bulk run (KiB). A rebuild's inserts land
    # all over B-trees of millions of rows: with SQLite's default cache (2 MiB) a run rewrites
    # the same pages to the log again and again, and the kernel's time grew to a third of a
    # rebuild (300k developments: 24 of 75 s). 64 MiB projects 100k and 1M developments as fast
    # as 128 MiB did (the same run, 2 December 2026), and a rebuild of 1M peaks 65 MiB lower.
    BULK_CACHE_KIB = 64 * 1024

    @contextmanager
    def writing(self, bulk: bool = False) -> Iterator[Any]:
        if not bulk:
            with super().writing() as c:
                yield c
            return
        with (
            self.datastore.get_connection(commit=True) as connection,  # type: ignore[attr-defined]
            closing(connection.cursor().sqlite_cursor) as settings,
        ):
            usual = settings.execute("PRAGMA cache_size").fetchone()[0]
            settings.execute(f"PRAGMA cache_size = -{self.BULK_CACHE_KIB}")
            try:
                with connection.transaction(commit=True) as c:
                    yield c
            finally:  # the connection goes back to the pool as it was
                settings.execute(f"PRAGMA cache_size = {int(usual)}")


class Tables(Dialect):
    """Tables kept beside the events but not part of the history (tokens, idempotency
    records): their SQL is written once here, and each store's factory gives it its dialect
    and datastore (`factory.access_recorder(cls)`)."""

    def table_statements(self) -> list[str]:
        raise NotImplementedError


T = TypeVar("T", bound=Tables)


class SQLiteTables(SQLiteDialect, SQLiteRecorder):
    """The SQLite side of a Tables class."""

    def construct_create_table_statements(self) -> list[str]:
        return self.table_statements()  # type: ignore[attr-defined]

    def create_table(self) -> None:
        # The write lock first (BEGIN IMMEDIATE), waiting its turn, as the view checks its
        # shape. In the library's deferred transaction, of two processes creating the tables
        # together (gunicorn's workers starting on a store that `timeline seed` made), one
        # sometimes failed at once with "database is locked", and the server with it.
        with self.datastore.get_connection(commit=True) as connection:
            cursor = connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                self._create_table(cursor)
            except BaseException:
                connection.rollback()
                raise
            connection.commit()


@cache
def on_store(tables: type[T], store: type) -> type[T]:
    """`tables` with a store's side mixed in: the SQL of one, the dialect of the other."""
    return type(tables.__name__, (tables, store), {"__module__": tables.__module__})


def create_tables(tables: type[T], store: type, factory: Any) -> T:
    """A recorder of `tables` in a factory's datastore, its tables created when the factory
    creates tables."""
    recorder = on_store(tables, store)(factory.datastore)
    if factory.env_create_table():
        recorder.create_table()
    return recorder


# An identifier's limit on PostgreSQL (longer names are cut, silently); SQLite has none.
MAX_IDENTIFIER = 63


def derived_name(base: str, suffix: str) -> str:
    """`{base}_{suffix}`, cut to the identifier limit so that names derived from one base
    stay distinct: the suffix is kept whole, and a cut base gains a digest of itself."""
    name = f"{base}_{suffix}"
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    keep = MAX_IDENTIFIER - len(suffix) - len(digest) - 2
    return f"{base.encode()[:keep].decode(errors='ignore')}_{digest}_{suffix}"


# The events tables whose hash table was named before each events table had its own.
FIRST_EVENTS_TABLES = ("stored_events", "timeline_events")


class EventLog(Dialect):
    """The log as auditors need it, on top of the library's application recorder: a hash
    chain sealed in each insert's own transaction, reading with hashes, and importing an
    exported log.

    Each events table has its own hash table (`{events}_hashes`) and its own table of the
    heads the service issued (`{events}_heads`); the Timeline application's keep the names
    they had when they were the only ones (`event_hashes`, `event_heads`).
    """

    position = "rowid"  # the column that holds an event's place in the log
    events_table_name: str
    datastore: Any
    # Set by watch_projection: the view whose position the log must never end before.
    projection: tuple[str, str] | None = None

    # Keyed by the rowid itself on SQLite (`INTEGER PRIMARY KEY`): each append writes one
    # B-tree, not a table and an index, and rows added at its end fill its last page before
    # a new one is begun, where a `WITHOUT ROWID` table (an index B-tree, which SQLite
    # rebalances between siblings and whose interior pages copy whole rows) wrote more pages
    # of the log per append. Stores made before keep their layout, which the same statements
    # read and write.
    HASH_TABLE = (
        "CREATE TABLE IF NOT EXISTS {event_hashes} ("
        " position {position_key}, hash TEXT NOT NULL, previous_hash TEXT NOT NULL)"
    )
    HEADS_TABLE = (
        "CREATE TABLE IF NOT EXISTS {event_heads} ("
        " position BIGINT PRIMARY KEY, hash TEXT NOT NULL){without_rowid}"
    )
    # The Merkle tree over the chain hashes (see timeline.merkle), one row per leaf, which the
    # append of the leaf's event writes: row i holds the hash of leaf i (the i-th event), then
    # the hashes of the complete subtrees leaf i closes (levels 1 to the number of trailing
    # one bits of i), 32 bytes each, in level order. Node (level l, index j), which covers
    # leaves j*2^l..(j+1)*2^l-1, is in the row of its last leaf at offset 32*l. So an append
    # writes one row, next to the previous append's: one row per node, each level at the end
    # of its own key range, wrote about two rows an event on as many pages. Stores made before
    # keep that table (`event_tree`: level, idx, hash) as it was; nothing reads it any more.
    # Keyed by the rowid on SQLite, as the hashes are (stores made with `WITHOUT ROWID` keep it).
    TREE_TABLE = (
        "CREATE TABLE IF NOT EXISTS {event_tree_rows} ("
        " leaf {position_key}, hashes {blob} NOT NULL)"
    )

    @property
    def hash_table_name(self) -> str:
        if self.events_table_name in FIRST_EVENTS_TABLES:
            return "event_hashes"
        return derived_name(self.events_table_name, "hashes")

    @property
    def tree_table_name(self) -> str:
        # Not the name of the tree's first layout (`event_tree`, `{events}_tree`, one row per
        # node), which stores made before still hold: a new name tells the layouts apart.
        if self.events_table_name in FIRST_EVENTS_TABLES:
            return "event_tree_rows"
        return derived_name(self.events_table_name, "tree_rows")

    @property
    def heads_table_name(self) -> str:
        if self.events_table_name in FIRST_EVENTS_TABLES:
            return "event_heads"
        return derived_name(self.events_table_name, "heads")

    def append_only_tables(self) -> tuple[str, ...]:
        return (self.events_table_name, self.hash_table_name, self.heads_table_name,
                self.tree_table_name)

    def sql(self, statement: str, **names: str) -> str:
        # Looked up before the table names are built: each append asks for several
        # statements, and building the names each time was a tenth of the append's own work.
        key = (statement, *names.items())
        cache = self.__dict__.setdefault("_log_sql_cache", {})
        if key not in cache:
            tables = {
                "event_hashes": self.table(self.hash_table_name),
                "event_heads": self.table(self.heads_table_name),
                "event_tree_rows": self.table(self.tree_table_name),
                "events": self.table(self.events_table_name),
            }
            cache[key] = super().sql(statement, **{**tables, **names})
        return cache[key]

    def watch_projection(self, tracking_table: str, application_name: str) -> None:
        """Refuse to write while the log ends before this view's tracking position."""
        self.projection = (tracking_table, application_name)

    def _marks_sql(self, end: bool = False) -> str:
        """The tail of the chain, the highest head issued, the view's position, and the last
        leaf of the Merkle tree: what an append reads before it seals, in one statement;
        with `end`, where the events table ends too (which an append does not need: each
        subquery costs the server about 20 µs, on every append)."""
        projected = "0"
        if self.projection is not None:
            projected = (
                f"(SELECT MAX(notification_id) FROM {self.projection[0]}"
                " WHERE application_name = ?)"
            )
        return self.sql(
            "SELECT " + ("(SELECT MAX({position}) FROM {events}) AS events_end," if end else "")
            + " (SELECT position FROM {event_hashes} ORDER BY position DESC LIMIT 1) AS tail,"
            " (SELECT hash FROM {event_hashes} ORDER BY position DESC LIMIT 1) AS tail_hash,"
            " (SELECT MAX(position) FROM {event_heads}) AS issued,"
            " (SELECT MAX(leaf) FROM {event_tree_rows}) AS tree_last,"
            " {projected} AS projected",
            position=self.position, projected=projected,
        )

    def _marks_params(self) -> tuple[Any, ...]:
        return (self.projection[1],) if self.projection is not None else ()

    def log_marks(self) -> LogMarks:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._marks_sql(end=True), self._marks_params())
            row = c.fetchone()
        return LogMarks(row["events_end"] or 0, row["projected"] or 0, row["issued"] or 0)

    def _read_marks(self, c: Any) -> Any:
        c.execute(self._marks_sql(), self._marks_params())
        return c.fetchone()

    @staticmethod
    def _refuse_if_ended_early(marks: Any) -> None:
        """A log that ends before a position already used (its tail removed) takes no write."""
        found = LogMarks(marks["tail"] or 0, marks["projected"] or 0, marks["issued"] or 0)
        problem = found.problem()
        if problem:
            raise LogEndsEarly(f"{problem}; writes are refused until an operator acts")

    def _seal(
        self, c: Any, positions: Sequence[int], stored: Sequence[StoredEvent],
        marks: Any = None,
    ) -> None:
        """Write the chain hashes of events just inserted, in their transaction, and grow the
        Merkle tree by them. The caller holds the store's write lock, so the previous hash
        read here (or in `marks`, read under the same lock) is the true tail."""
        if marks is None:
            marks = self._read_marks(c)
        self._refuse_if_ended_early(marks)  # raised in the append's transaction: no event stays
        previous = marks["tail_hash"] or GENESIS
        rows, digests = [], []
        running = bytes.fromhex(previous)
        for position, event in zip(positions, stored, strict=True):
            running = chain_digest(running, position, self.stream_text(event.originator_id),
                                   event.originator_version, event.topic, event.state)
            digest = running.hex()
            rows.append((position, digest, previous))
            digests.append(running)
            previous = digest
        self._insert_hashes(c, rows)
        tree_last = marks["tree_last"]
        self._add_leaves(c, digests, 0 if tree_last is None else tree_last + 1,
                         marks["tail_hash"])

    def _insert_hashes(self, c: Any, rows: Sequence[tuple[int, str, str]]) -> None:
        """Write the chain hashes of an append: (position, hash, previous hash) rows."""
        c.executemany(
            self.sql("INSERT INTO {event_hashes} (position, hash, previous_hash) VALUES (?, ?, ?)"),
            rows,
        )

    # --- the Merkle tree over the chain hashes (timeline.merkle) --------------------------

    def _tree_size(self, c: Any) -> int:
        c.execute(self.sql("SELECT MAX(leaf) AS last FROM {event_tree_rows}"))
        last = c.fetchone()["last"]
        return 0 if last is None else last + 1

    @staticmethod
    def _node_in(hashes: Any, level: int, index: int) -> bytes:
        """Node (level, index) from the row that holds it (see TREE_TABLE)."""
        digest = bytes(hashes[32 * level:32 * (level + 1)]) if hashes is not None else b""
        if len(digest) != 32:
            raise DamagedLog(f"the Merkle tree has no node at level {level}, index {index}:"
                             " its table was altered outside the recorder")
        return digest

    def _tree_node(self, c: Any) -> Callable[[int, int], bytes]:
        statement = self.sql("SELECT hashes FROM {event_tree_rows} WHERE leaf = ?")

        def complete(level: int, index: int) -> bytes:
            c.execute(statement, (merkle.row_of(level, index),))
            row = c.fetchone()
            return self._node_in(None if row is None else row["hashes"], level, index)

        return complete

    def _grow_tree(self, c: Any, chain_hashes: Sequence[str], size: int | None = None) -> None:
        """Add leaves (chain hashes, in log order) to the tree of `size` leaves (read when not
        given), in the caller's transaction: each closes at most log2(n) complete subtrees,
        whose hashes are written here."""
        self._add_leaves(c, [bytes.fromhex(h) for h in chain_hashes],
                         self._tree_size(c) if size is None else size, None)

    # The tree's right edge as this process last left it: (size, the last leaf's chain hash,
    # the last complete subtree made at each level, which the next appends are hashed with).
    # Nodes never change, and a chain hash commits to every event before it, so while the
    # tree has that size and that last leaf the edge is still true; any other writer, or a
    # rolled-back append, changes them and the edge is read again. It saves a statement on
    # about every other append.
    _edge: tuple[int, str | None, dict[int, bytes]] = (-1, None, {})

    def _add_leaves(self, c: Any, leaves: Sequence[bytes], size: int, last: str | None) -> None:
        if not leaves:
            return
        known_size, known_last, latest = self._edge
        if last is None or (known_size, known_last) != (size, last):
            latest = {}
        # A copy: if the append rolls back, the edge this process keeps is not moved on.
        latest = dict(latest)
        self._insert_tree_rows(c, merkle.grow_rows(size, leaves, latest, self._tree_node(c)))
        if last is not None:
            self._edge = (size + len(leaves), leaves[-1].hex(), latest)

    def _insert_tree_rows(self, c: Any, rows: Sequence[tuple[int, bytes]]) -> None:
        c.executemany(
            self.sql("INSERT INTO {event_tree_rows} (leaf, hashes) VALUES (?, ?)"), rows
        )

    def build_tree(self, batch: int = 10000) -> int:
        """Give a log recorded before the tree existed, or before its rows were kept one per
        leaf, its tree (the leaves it lacks), from the chain hashes, in one transaction under
        the write lock; returns how many leaves were added."""
        count = self.sql("SELECT COUNT(*) AS n FROM {event_hashes}")
        with self.datastore.transaction(commit=False) as c:
            c.execute(count)
            if c.fetchone()["n"] == self._tree_size(c):
                return 0
        # The leaves the tree lacks are skipped once; then each batch follows the last
        # position read (an OFFSET per batch would scan the log again each time).
        first = self.sql(
            "SELECT position, hash FROM {event_hashes} ORDER BY position LIMIT ? OFFSET ?")
        after = self.sql(
            "SELECT position, hash FROM {event_hashes} WHERE position > ?"
            " ORDER BY position LIMIT ?")
        added = 0
        with self.datastore.transaction(commit=True) as c:
            self._lock_for_import(c)
            size = self._tree_size(c)
            c.execute(first, (batch, size))
            while True:
                rows = c.fetchall()
                self._grow_tree(c, [row["hash"] for row in rows], size)
                size += len(rows)
                added += len(rows)
                if len(rows) < batch:
                    return added
                c.execute(after, (rows[-1]["position"], batch))

    def chain_and_tree_sizes(self) -> tuple[int, int]:
        """How many chain hashes the log holds and how many leaves the tree, read in one
        statement: an append writes both in one transaction, so they agree unless rows were
        written outside the recorder. O(events)."""
        statement = self.sql(
            "SELECT (SELECT COUNT(*) FROM {event_hashes}) AS hashes,"
            " (SELECT MAX(leaf) FROM {event_tree_rows}) AS last"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement)
            row = c.fetchone()
        return row["hashes"], 0 if row["last"] is None else row["last"] + 1

    def select_tree_rows(self, start: int, end: int) -> dict[int, bytes]:
        """The stored rows of leaves start..end-1: leaf to its hashes (see TREE_TABLE)."""
        statement = self.sql(
            "SELECT leaf, hashes FROM {event_tree_rows} WHERE leaf >= ? AND leaf < ?")
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, (start, end))
            return {row["leaf"]: bytes(row["hashes"]) for row in c.fetchall()}

    def tree_size(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            return self._tree_size(c)

    def _tree_rows(self, c: Any, leaves: Iterable[int]) -> dict[int, bytes]:
        """The stored rows of the leaves asked for (see TREE_TABLE), in one statement; a leaf
        without a row is left out."""
        wanted = sorted(set(leaves))
        if not wanted:
            return {}
        # One primary-key lookup per leaf, which both planners run as such: a proof costs the
        # same number of lookups at any log size.
        statement = self.sql(
            "SELECT leaf, hashes FROM {event_tree_rows} WHERE leaf IN ("
            + ", ".join("?" * len(wanted)) + ")"
        )
        c.execute(statement, wanted)
        return {row["leaf"]: bytes(row["hashes"]) for row in c.fetchall()}

    @cached_property
    def proof_cache(self) -> ProofCache:
        """This recorder's cache of the tree's upper nodes and latest right edges (see
        timeline.proofcache), made at its first proof."""
        return ProofCache()

    def tree_proof(self, build: Callable[[Callable[[int, int], bytes], int], Any],
                   cached: bool = True) -> Any:
        """`build(subtree, size)` over the stored tree: `subtree(start, end)` is the MTH of
        leaves start..end-1, `size` the tree's size. Two statements at any log size: the size,
        then every stored row holding a hash the proof needs, at once. With `cached`, the
        nodes of the upper levels and the size's right edge come from the proof cache, once
        an earlier proof read them, and a proof reads about as many rows at any size past
        2^FLOOR leaves; without, every hash is read from the store (for checks of the store)."""
        kept = self.proof_cache if cached else None
        with self.reading() as c:
            size = self._tree_size(c)
            anchor, held, known = kept.begin(size) if kept is not None else (None, {}, {})
            # Which nodes a proof reads depends on its sizes and indices only, never on the
            # hashes: a first run of `build` with placeholders lists those the cache lacks.
            wanted: set[tuple[int, int]] = set()

            def note(level: int, index: int) -> bytes:
                wanted.add((level, index))
                return merkle.EMPTY_ROOT

            build(merkle.stored_subtree(note, dict(known), held), size)
            leaves = {merkle.row_of(level, index) for level, index in wanted}
            if anchor is not None and size:
                leaves.add(anchor[0])  # read again with the rest: is it still the same tree?
            rows = self._tree_rows(c, leaves)
        if anchor is not None and size and rows.get(anchor[0]) != anchor[1]:
            # Not the tree the cache was read from: the store was reset, or its rows altered.
            # Forget it all, and make this proof from the store alone.
            kept.clear()  # type: ignore[union-attr]
            return self.tree_proof(build, cached=False)

        def complete(level: int, index: int) -> bytes:
            return self._node_in(rows.get(merkle.row_of(level, index)), level, index)

        made = dict(known)
        result = build(merkle.stored_subtree(complete, made, held), size)
        if kept is not None and rows:
            kept.keep(anchor, rows, size, made)
        return result

    @staticmethod
    def record_beside(c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        """Write, in the events' own transaction, what was saved with them (`app.save(...,
        idempotency=claim)`: the claim's result, see api.idempotency). Raising aborts the
        transaction, events included."""
        claim = kwargs.get("idempotency")
        if claim is not None and stored_events:
            claim.record(c, stored_events)

    def stream_text(self, originator_id: Any) -> str:
        """The stream id as the chain hashes it: the stored id read as text, in the
        canonical UUID form when it is exactly the form the recorder stores."""
        if isinstance(originator_id, UUID):
            return str(originator_id)
        text = str(originator_id)
        try:
            canonical = UUID(text)
        except ValueError:
            return text
        return str(canonical) if self.stream_key(canonical) == text else text

    def _select_log(self, where: str) -> str:
        return self.sql(
            "SELECT e.{position} AS position, e.originator_id, e.originator_version, e.topic,"
            " e.state, h.hash, h.previous_hash FROM {events} e"
            " LEFT JOIN {event_hashes} h ON h.position = e.{position} " + where,
            position=self.position,
        )

    def _logged(self, row: Any) -> LoggedEvent:
        state = row["state"]
        damage = None
        if isinstance(state, (bytes, bytearray, memoryview)):
            payload = bytes(state)
        else:  # the recorder writes bytes only: a NULL or TEXT payload was put there by hand
            payload = b""
            damage = (
                f"the payload is {'NULL' if state is None else type(state).__name__.upper()},"
                " not the bytes the recorder writes: the row was altered outside the recorder"
            )
        return LoggedEvent(
            position=row["position"],
            stream_id=self.stream_text(row["originator_id"]),
            stream_version=row["originator_version"],
            topic=row["topic"],
            payload=payload,
            hash=row["hash"],
            previous_hash=row["previous_hash"],
            damage=damage,
        )

    def select_log(self, after: int = 0, limit: int = 1000) -> list[LoggedEvent]:
        """Events after a position, in position order, with their hashes. O(limit)."""
        statement = self._select_log(
            f"WHERE e.{self.position} > ? ORDER BY e.{self.position} LIMIT ?"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, (after, limit))
            return [self._logged(row) for row in c.fetchall()]

    def iter_log(self, after: int = 0, batch: int = 1000) -> Iterator[LoggedEvent]:
        """The whole log from a position on, a batch at a time: constant memory at any size."""
        while True:
            events = self.select_log(after, batch)
            yield from events
            if len(events) < batch:
                return
            after = events[-1].position

    def select_head(self) -> LoggedEvent | None:
        """The last event that has a chain hash."""
        statement = self._select_log(
            f"WHERE h.hash IS NOT NULL ORDER BY e.{self.position} DESC LIMIT 1"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement)
            row = c.fetchone()
        return self._logged(row) if row else None

    def issue_head(self, position: int, digest: str) -> None:
        """Remember a head given out, if it is the highest yet: the log must never end
        before it (see _seal)."""
        statement = self.sql(
            "INSERT INTO {event_heads} (position, hash) SELECT ?, ?"
            " WHERE NOT EXISTS (SELECT 1 FROM {event_heads} WHERE position >= ?)"
        )
        try:
            with self.datastore.transaction(commit=True) as c:
                c.execute(statement, (position, digest, position))
        except self.integrity_errors:
            pass  # another process issued the same head at the same moment

    def first_stream_gap(self) -> StreamGap | None:
        """The first event (by position) whose version is not the one after its stream's
        previous event. One pass over the stream index. O(events)."""
        statement = self.sql(
            "SELECT position, originator_id, originator_version, expected FROM ("
            " SELECT e.{position} AS position, e.originator_id, e.originator_version,"
            " ROW_NUMBER() OVER (PARTITION BY e.originator_id ORDER BY e.originator_version)"
            " AS expected FROM {events} e) s"
            " WHERE originator_version <> expected ORDER BY position LIMIT 1",
            position=self.position,
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement)
            row = c.fetchone()
        if row is None:
            return None
        return StreamGap(row["position"], self.stream_text(row["originator_id"]),
                         row["originator_version"], row["expected"])

    def select_stream(self, originator_id: UUID) -> list[LoggedEvent]:
        """One aggregate's events with their positions, through the primary key."""
        statement = self._select_log("WHERE e.originator_id = ? ORDER BY e.originator_version")
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, (self.stream_key(originator_id),))
            return [self._logged(row) for row in c.fetchall()]

    def streams_present(self, originator_ids: Sequence[UUID]) -> set[UUID]:
        """Which of these aggregates have events: one query for a batch of them (a bulk
        importer's idempotence check), not one read each."""
        if not originator_ids:
            return set()
        wanted = {str(self.stream_key(ident)): ident for ident in originator_ids}
        statement = self.sql(
            "SELECT DISTINCT originator_id FROM {events} WHERE originator_id IN ("
            + ", ".join("?" * len(wanted)) + ")"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, [self.stream_key(ident) for ident in wanted.values()])
            return {wanted[str(row["originator_id"])] for row in c.fetchall()}

    def stream_key(self, originator_id: UUID) -> Any:
        """How the events table stores an aggregate id (SQLite: hex text)."""
        return originator_id.hex

    def import_log(
        self, events: Iterable[LoggedEvent], check: Callable[[LoggedEvent], None] = bool
    ) -> int:
        """Write an exported log into this empty store, positions and hashes unchanged, in one
        transaction. Each event must continue the file's chain and pass `check` (see
        audit.ImportCheck) before the transaction commits: any fault rolls it all back."""
        insert_event = self.sql(
            "INSERT INTO {events} ({position}, originator_id, originator_version, topic, state)"
            " VALUES (?, ?, ?, ?, ?)", position=self.position,
        )
        insert_hash = self.sql(
            "INSERT INTO {event_hashes} (position, hash, previous_hash) VALUES (?, ?, ?)"
        )
        count, running, last = 0, GENESIS, 0
        leaves: list[str] = []
        with self.datastore.transaction(commit=True) as c:
            self._lock_for_import(c)
            c.execute(self.sql("SELECT COUNT(*) AS n FROM {events}"))
            if c.fetchone()["n"]:
                raise LogFileError("the store already holds events: import into an empty one")
            for event in events:
                if event.position <= last:
                    raise LogFileError(
                        f"position {event.position}: positions must increase through the file"
                    )
                if event.previous_hash != running or chain_hash(running, event) != event.hash:
                    raise LogFileError(
                        f"position {event.position}: the file's chain does not verify there"
                    )
                check(event)
                c.execute(insert_event, (
                    event.position, self.stream_key(UUID(event.stream_id)), event.stream_version,
                    event.topic, event.payload,
                ))
                c.execute(insert_hash, (event.position, event.hash, event.previous_hash))
                leaves.append(event.hash)
                if len(leaves) >= 10000:
                    self._grow_tree(c, leaves)
                    leaves = []
                running, last = event.hash, event.position
                count += 1
            self._grow_tree(c, leaves)
            self._after_import(c)
        # Another log's tree: what the cache held is not its (the anchor would find it out at
        # the next proof; this is sooner).
        self.proof_cache.clear()
        return count

    def _lock_for_import(self, c: Any) -> None:
        """Take the store's write lock first (SQLite; see postgres). The library begins a
        deferred transaction: its first read would fix a snapshot, and a write after another
        process committed would then fail at once ("database is locked") instead of waiting;
        so processes opening a store whose tree is to be built together (a server's workers
        after an upgrade) failed. A write that changes nothing waits for the lock as any
        write does, and what follows reads the latest state."""
        c.execute(self.sql(
            "INSERT INTO {event_tree_rows} (leaf, hashes)"
            " SELECT leaf, hashes FROM {event_tree_rows} WHERE 0 = 1"
        ))

    def _after_import(self, c: Any) -> None:
        """Nothing to do on SQLite: AUTOINCREMENT follows the highest position inserted."""


# How SQLite refuses to change a row of an append-only table. REPLACE deletes the row it
# replaces without firing DELETE triggers, so inserts are checked too: an insert whose key is
# already taken is refused before conflict resolution can replace anything.
SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER IF NOT EXISTS {name} BEFORE {verb} ON {table} BEGIN"
    " SELECT RAISE(ABORT, 'timeline: {table} is append-only: {verb} is refused (the immutable"
    " log rule); record a correction or retraction instead'); END"
)
SQLITE_NO_REPLACE = (
    "CREATE TRIGGER IF NOT EXISTS {name} BEFORE INSERT ON {table} WHEN {taken} BEGIN"
    " SELECT RAISE(ABORT, 'timeline: {table} is append-only: a row with this key exists, and"
    " is never replaced (INSERT OR REPLACE, REPLACE and upserts are refused)'); END"
)


class TimelineRecorder(EventLog, SQLiteDialect, SQLiteApplicationRecorder):
    """The library's SQLite application recorder, made append-only and tamper-evident.

    Triggers refuse UPDATE and DELETE on the events, their hashes, the issued heads and the
    Merkle tree, and an insert whose key exists (which REPLACE would otherwise turn into a silent delete). Positions
    come from AUTOINCREMENT, so a position is never issued twice, even after the last event was
    removed. Each event's chain hash (see timeline.audit) is written by `_insert_events`, in the
    same transaction as the event, as the library's searchabletimestamps example writes its
    extra rows: SQLite lets one writer in at a time, so the previous hash read there is the true
    tail, whatever other processes do.
    """

    def __init__(self, datastore: Any, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        # Named columns: the table has one more (its rowid, declared for AUTOINCREMENT).
        self.insert_events_statement = (
            f"INSERT INTO {self.events_table_name}"
            " (originator_id, originator_version, topic, state) VALUES (?,?,?,?)"
        )

    def construct_create_table_statements(self) -> list[str]:
        events = self.events_table_name
        # The rowid declared by that name, so that the library's `SELECT rowid, *` still
        # finds a column called rowid; AUTOINCREMENT never hands out a position twice.
        statements = [
            (f"CREATE TABLE IF NOT EXISTS {events} ("
             "rowid INTEGER PRIMARY KEY AUTOINCREMENT, originator_id TEXT NOT NULL, "
             "originator_version INTEGER NOT NULL, topic TEXT, state BLOB, "
             "UNIQUE (originator_id, originator_version))"),
            self.sql(self.HASH_TABLE, position_key=self.position_key),
            self.sql(self.HEADS_TABLE, without_rowid=self.without_rowid),
            self.sql(self.TREE_TABLE, position_key=self.position_key, blob=self.blob),
        ]
        taken = {
            events: (
                f"EXISTS (SELECT 1 FROM {events} WHERE rowid = NEW.rowid) OR EXISTS (SELECT 1"
                f" FROM {events} WHERE originator_id = NEW.originator_id"
                " AND originator_version = NEW.originator_version)"
            ),
            self.tree_table_name: (
                f"EXISTS (SELECT 1 FROM {self.tree_table_name} WHERE leaf = NEW.leaf)"
            ),
        }
        for table in self.append_only_tables():
            for verb in ("UPDATE", "DELETE"):
                statements.append(SQLITE_APPEND_ONLY.format(
                    name=derived_name(table, f"no_{verb.lower()}"), table=table, verb=verb,
                ))
            statements.append(SQLITE_NO_REPLACE.format(
                name=derived_name(table, "no_replace"), table=table,
                taken=taken.get(table, f"EXISTS (SELECT 1 FROM {table}"
                                       " WHERE position = NEW.position)"),
            ))
        return statements

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs) or []
        self._seal(c, positions, stored_events)
        self.record_beside(c, stored_events, **kwargs)
        return positions


# --- transcodings: how domain values are written into stored events ------------------------


class DateAsISO(Transcoding):
    type = date
    name = "date"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class PartialDateAsDict(Transcoding):
    type = PartialDate
    name = "partial_date"

    def encode(self, obj: PartialDate) -> dict[str, Any]:
        return {"value": str(obj), "approximate": obj.approximate, "derivation": obj.derivation}

    def decode(self, data: dict[str, Any]) -> PartialDate:
        return stored_date(data["value"], data["approximate"], data["derivation"])


class DataclassAsDict(Transcoding):
    """A frozen dataclass as the dict of its fields (nested values are transcoded in turn)."""

    def __init__(self, cls: type, name: str) -> None:
        self.type = cls
        self.name = name
        self.names = tuple(f.name for f in fields(cls))  # fields() is dear on every event

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self.names}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


class EnumAsValue(Transcoding):
    def __init__(self, cls: type[Enum], name: str) -> None:
        self.type = cls
        self.name = name
        self.members = by_value(cls)

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        return self.members[data]


def register_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    transcoder.register(PartialDateAsDict())
    transcoder.register(DataclassAsDict(Source, "source"))
    transcoder.register(DataclassAsDict(Participation, "participation"))
    transcoder.register(DataclassAsDict(Content, "content"))
    transcoder.register(DataclassAsDict(Provenance, "provenance"))
    for cls in (ActorKind, Certainty, Dataset, Kind, Role, Status):
        transcoder.register(EnumAsValue(cls, cls.__name__.lower()))
