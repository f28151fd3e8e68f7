"""eventsourcing's own test cases, run against Timeline's recorders, view and factories: on
SQLite (in memory and in a file) and on PostgreSQL (a schema of its own per test).

The library ships these cases in its wheel (`eventsourcing/tests/persistence.py` and
`eventsourcing/tests/application.py`): whatever the hash chain, the append-only triggers and
the view add, the recorders must still keep every promise the library makes of a recorder.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar
from uuid import uuid4

import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteDatastore,
    SQLiteProcessRecorder,
)
from eventsourcing.tests.application import ApplicationTestCase, ExampleApplicationTestCase
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    TrackingRecorderTestCase,
    tmpfile_uris,
)
from eventsourcing.utils import Environment, get_topic

from tests.conftest import POSTGRES, require_postgres
from timeline.readmodel import TimelineView
from timeline.store import SQLiteFactory, TimelineRecorder

# --- SQLite ------------------------------------------------------------------------------------


class TestTimelineRecorderInMemory(ApplicationRecorderTestCase[TimelineRecorder]):
    db_uri = ":memory:"

    def create_recorder(self) -> TimelineRecorder:
        recorder = TimelineRecorder(SQLiteDatastore(db_name=self.db_uri, pool_size=100))
        recorder.create_table()
        return recorder

    # As the library runs its own SQLite recorder: the concurrent cases need a database that
    # several connections share (a file, or a shared-cache memory database).
    def test_concurrent_no_conflicts(self, initial_position: int = 0) -> None:
        self.db_uri = next(tmpfile_uris())
        super().test_concurrent_no_conflicts()

    def test_concurrent_throughput(self) -> None:
        self.db_uri = next(tmpfile_uris())
        super().test_concurrent_throughput()

    def test_concurrent_no_conflicts_in_memory_db(self) -> None:
        self.db_uri = "file::memory:?cache=shared"
        super().test_concurrent_no_conflicts()

    def test_concurrent_throughput_in_memory_db(self) -> None:
        self.db_uri = "file::memory:?cache=shared"
        super().test_concurrent_throughput()


class TestTimelineRecorderInAFile(TestTimelineRecorderInMemory):
    def setUp(self) -> None:
        super().setUp()
        self.db_uri = next(tmpfile_uris())


class TestTimelineViewTracking(TrackingRecorderTestCase):
    db_name = ":memory:"

    def create_recorder(self) -> TrackingRecorder:
        recorder = TimelineView(SQLiteDatastore(self.db_name))
        recorder.create_table()
        return recorder


class TestTimelineViewTrackingInAFile(TestTimelineViewTracking):
    def setUp(self) -> None:
        super().setUp()
        self.db_name = next(tmpfile_uris())


class TestTimelineSQLiteFactory(InfrastructureFactoryTestCase[SQLiteFactory]):
    """The factory as the store setting configures it (timeline.store.SQLITE)."""

    class ViewSubclass(TimelineView):
        pass

    def expected_factory_class(self) -> type[SQLiteFactory]:
        return SQLiteFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return SQLiteAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return TimelineRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return TimelineView

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return self.ViewSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return SQLiteProcessRecorder

    def setUp(self) -> None:
        self.env = Environment("TestCase")
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = get_topic(SQLiteFactory)
        self.env["APPLICATION_RECORDER_TOPIC"] = get_topic(TimelineRecorder)
        self.env["TRACKING_RECORDER_TOPIC"] = get_topic(TimelineView)
        self.env["SQLITE_DBNAME"] = ":memory:"
        super().setUp()


class TimelinePersistence:
    """The application test cases with Timeline's persistence module in the environment,
    as the library's own runs set its modules."""

    persistence: ClassVar[dict[str, str]] = {
        "PERSISTENCE_MODULE": get_topic(SQLiteFactory),
        "APPLICATION_RECORDER_TOPIC": get_topic(TimelineRecorder),
        "TRACKING_RECORDER_TOPIC": get_topic(TimelineView),
    }

    def setUp(self) -> None:
        self.saved = {key: os.environ.get(key) for key in (*self.persistence, "SQLITE_DBNAME")}
        os.environ.update(self.persistence)
        os.environ["SQLITE_DBNAME"] = next(tmpfile_uris())
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class TestExampleApplicationOnTimelineSQLite(TimelinePersistence, ExampleApplicationTestCase):
    expected_factory_topic = get_topic(SQLiteFactory)


class TestApplicationOnTimelineSQLite(TimelinePersistence, ApplicationTestCase):
    pass


# --- PostgreSQL --------------------------------------------------------------------------------


class OnPostgres:
    """A PostgreSQL schema of its own for each test, dropped afterwards."""

    def setUp(self) -> None:
        require_postgres()
        import psycopg

        self.schema = f"lib_{uuid4().hex[:16]}"
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{self.schema}"')
        self.before_library_setup()
        super().setUp()  # type: ignore[misc]

    def before_library_setup(self) -> None:
        """What a case needs once its schema exists, before the library's setUp runs."""

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        import psycopg

        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def datastore(self, **kwargs: Any) -> Any:
        from eventsourcing.postgres import PostgresDatastore

        from timeline.store import persistence_env

        env = persistence_env(f"{POSTGRES}?schema={self.schema}")
        return PostgresDatastore(
            dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"], schema=self.schema, **kwargs,
        )

    def postgres_env(self) -> dict[str, str]:
        from timeline.store import persistence_env

        return persistence_env(f"{POSTGRES}?schema={self.schema}")


@pytest.mark.postgres
class TestPostgresTimelineRecorder(OnPostgres, ApplicationRecorderTestCase[Any]):
    EXPECT_CONTIGUOUS_NOTIFICATION_IDS = False  # a sequence skips a value a conflict took

    def create_recorder(self, table_name: str = "stored_events") -> Any:
        from timeline.postgres import PostgresTimelineRecorder

        recorder = PostgresTimelineRecorder(
            self.datastore(pool_size=20), events_table_name=table_name
        )
        recorder.create_table()
        return recorder


@pytest.mark.postgres
class TestPostgresTimelineViewTracking(OnPostgres, TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        from timeline.postgres import PostgresTimelineView

        recorder = PostgresTimelineView(self.datastore(), tracking_table_name="timeline_tracking")
        recorder.create_table()
        return recorder


@pytest.mark.postgres
class TestTimelinePostgresFactory(OnPostgres, InfrastructureFactoryTestCase[Any]):
    def expected_factory_class(self) -> type[Any]:
        from timeline.postgres import TimelinePostgresFactory

        return TimelinePostgresFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        from eventsourcing.postgres import PostgresAggregateRecorder

        return PostgresAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        from timeline.postgres import PostgresTimelineRecorder

        return PostgresTimelineRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        from timeline.postgres import PostgresTimelineView

        return PostgresTimelineView

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        from timeline.postgres import PostgresTimelineView

        return type("ViewSubclass", (PostgresTimelineView,), {})

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        from eventsourcing.postgres import PostgresProcessRecorder

        return PostgresProcessRecorder

    def before_library_setup(self) -> None:
        self.env = Environment("TestCase")
        for key, value in self.postgres_env().items():
            self.env[key] = value


@pytest.mark.postgres
class TestExampleApplicationOnTimelinePostgres(OnPostgres, ExampleApplicationTestCase):
    expected_factory_topic = "timeline.postgres:TimelinePostgresFactory"

    def before_library_setup(self) -> None:
        self.saved = dict(os.environ)
        os.environ.update(self.postgres_env())

    def tearDown(self) -> None:
        super().tearDown()
        os.environ.clear()
        os.environ.update(self.saved)


@pytest.mark.postgres
class TestApplicationOnTimelinePostgres(OnPostgres, ApplicationTestCase):
    def before_library_setup(self) -> None:
        self.saved = dict(os.environ)
        os.environ.update(self.postgres_env())

    def tearDown(self) -> None:
        super().tearDown()
        os.environ.clear()
        os.environ.update(self.saved)


del ApplicationRecorderTestCase, TrackingRecorderTestCase, InfrastructureFactoryTestCase
del ApplicationTestCase, ExampleApplicationTestCase
