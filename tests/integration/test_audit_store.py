"""The audited log inside the library's contracts (issue 14, sections 3 and 4): encryption and
compression at rest, several event tables and applications in one store, the view's tracking,
the settings Timeline refuses, and old events that must decode forever."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.cipher import AESCipher
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import OperationalError, ProgrammingError, StoredEvent
from eventsourcing.sqlite import SQLiteDatastore

from tests.conftest import SEEDS, content, fresh_store
from tests.conftest import source as conftest_source
from tests.integration.test_audit import Raw
from timeline.application import Timeline
from timeline.audit import AuditLog, LogFileError, allowed_topics
from timeline.seeding import seed
from timeline.store import StoreError, TimelineRecorder, derived_name, persistence_env
from timeline.vocabulary import ActorKind, Status

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "log-recorded-2026-11.ndjson"


def encrypted(key: str) -> dict[str, str]:
    return {
        "CIPHER_TOPIC": "eventsourcing.cipher:AESCipher",
        "CIPHER_KEY": key,
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
    }


# --- encryption at rest ------------------------------------------------------------------------


def test_an_encrypted_compressed_store_seeds_verifies_exports_and_imports(durable_store, tmp_path):
    key = AESCipher.create_key(16)
    source = Timeline(durable_store, env=encrypted(key))
    seed(source, SEEDS)
    assert source.audit.verify().ok
    raw = Raw(durable_store)
    states = [bytes(state) for (state,) in raw.run("SELECT state FROM {events}")]
    assert states and not any(b"Telegraph" in s or b"timestamp" in s for s in states)
    # The API shows the events decoded, with the hashes of the stored (encrypted) bytes.
    first = source.audit.events(limit=1)[0]
    assert first["data"]["name"] and first["recorded_at"]
    out = io.StringIO()
    assert source.audit.export(out) == source.audit.count()
    assert "Telegraph" not in out.getvalue() and '"payload_encoding": "base64"' in out.getvalue()

    kind = "postgres" if raw.postgres else "sqlite"
    with fresh_store(kind, tmp_path) as copy:
        target = Timeline(copy, env=encrypted(key))
        assert target.audit.import_log(io.StringIO(out.getvalue())) == source.audit.count()
        assert target.audit.verify().ok and target.audit.head() == source.audit.head()
        assert target.list_relationships() == source.list_relationships()
        target.close()
    with fresh_store(kind, tmp_path) as copy:
        stranger = Timeline(copy, env=encrypted(AESCipher.create_key(16)))
        with pytest.raises(LogFileError, match="position 1: the payload does not decode"):
            stranger.audit.import_log(io.StringIO(out.getvalue()))
        assert stranger.audit.count() == 0
        stranger.close()
    source.close()


# --- several applications and event tables in one store ----------------------------------------


class Note(Aggregate):
    def __init__(self, text: str) -> None:
        self.text = text


class Notebook(Application):
    """A second application in Timeline's store, with Timeline's persistence module."""


def test_each_events_table_has_its_own_chain(durable_store):
    timeline = Timeline(durable_store)
    timeline.register_actor("china", "China", ActorKind.STATE)
    env = persistence_env(durable_store)
    if env["PERSISTENCE_MODULE"].endswith("SQLiteFactory"):
        # One events table per SQLite file in the library; a recorder may name another.
        recorder = TimelineRecorder(
            SQLiteDatastore(env["SQLITE_DBNAME"]), events_table_name="notebook_events"
        )
        recorder.create_table()
        recorder.insert_events([StoredEvent(uuid4(), 1, "notebook:Note.Created", b"{}")])
    else:
        notebook = Notebook(env=env)
        notebook.save(Note("a second application's first event"))
        recorder = notebook.recorder
    other = AuditLog(recorder)
    assert other.verify().ok and other.head()["position"] == 1
    assert timeline.audit.verify().ok and timeline.audit.count() == 1
    timeline.close()


def test_a_new_view_shape_keeps_other_applications_tracking(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    app = Timeline(url)
    app.register_actor("china", "China", ActorKind.STATE)
    app.list_actors()  # projected: the view tracks Timeline
    app.close()
    raw = Raw(url)
    raw.run("INSERT INTO tracking (application_name, notification_id) VALUES ('Notebook', 7)")
    raw.run("UPDATE view_shape SET version = version - 1")  # as an older Timeline left it
    app = Timeline(url)
    assert raw.run("SELECT application_name, notification_id FROM tracking"
                   " WHERE application_name <> '__migration__'") == [("Notebook", 7)]
    assert [a["id"] for a in app.list_actors()] == ["china"]  # rebuilt from the log
    app.close()


# --- settings that cannot keep the chain ---------------------------------------------------------


@pytest.mark.postgres
def test_database_functions_are_refused_with_the_reason():
    refusal = "POSTGRES_ENABLE_DB_FUNCTIONS is not supported"
    with fresh_store("postgres") as url, pytest.raises(StoreError, match=refusal):
        Timeline(url, env={"POSTGRES_ENABLE_DB_FUNCTIONS": "y"})


def test_derived_names_stay_distinct_within_the_identifier_limit():
    long = "e" * 60
    names = {derived_name(long, suffix) for suffix in ("append_only", "no_truncate", "hashes")}
    assert len(names) == 3 and all(len(name) <= 63 for name in names)
    assert derived_name("stored_events", "no_update") == "stored_events_no_update"
    assert derived_name("a" * 60, "hashes") != derived_name("a" * 59 + "b", "hashes")


@pytest.mark.postgres
def test_long_events_table_names_keep_every_trigger():
    from eventsourcing.postgres import PostgresDatastore

    from timeline.postgres import PostgresTimelineRecorder

    with fresh_store("postgres") as url:
        Timeline(url).close()  # creates the schema
        env = persistence_env(url)
        datastore = PostgresDatastore(
            dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"],
            schema=env["POSTGRES_SCHEMA"],
        )
        table = "e" * 55 + "_events"  # 62 characters: every suffix would be cut
        recorder = PostgresTimelineRecorder(datastore, events_table_name=table)
        recorder.create_table()
        recorder.insert_events([StoredEvent(uuid4(), 1, "topic", b"{}")])
        raw = Raw(url)
        for statement in (f'UPDATE "{table}" SET topic = \'x\'', f'DELETE FROM "{table}"',
                          f'TRUNCATE "{table}"', (f'UPDATE "{recorder.hash_table_name}"'
                          " SET hash = 'x'")):
            with pytest.raises(Exception, match="append-only"):
                raw.run(statement)
        datastore.close()


# --- 4. old events decode forever ----------------------------------------------------------------

# Every topic Timeline has ever stored. A renamed or moved event class must keep its old
# topic resolvable (eventsourcing.utils.register_topic), or old logs stop decoding: this list
# only grows.
PINNED_TOPICS = {
    "timeline.domain:Actor.Registered",
    "timeline.domain:Actor.Corrected",
    "timeline.domain:Development.Recorded",
    "timeline.domain:Development.Corrected",
    "timeline.domain:Development.StatusChanged",
    "timeline.domain:Development.Retracted",
}


def test_every_stored_topic_is_pinned():
    assert allowed_topics() >= PINNED_TOPICS
    assert allowed_topics() == PINNED_TOPICS, "a new event type: pin its topic here"


def test_a_log_recorded_by_earlier_code_verifies_decodes_and_projects(store):
    app = Timeline(store)
    with FIXTURE.open(encoding="utf-8") as lines:
        assert app.audit.import_log(lines) == 51  # each event decoded and projected first
    assert app.audit.verify().ok
    assert {json.loads(line)["topic"] for line in FIXTURE.open()} == PINNED_TOPICS
    pair = app.get_relationship("china", "russia")
    assert pair["ties"], pair
    assert app.get_actor("china")["aliases"] == ["PRC"]  # the correction the fixture recorded
    app.close()


def stored_sources(payload: dict) -> list[dict]:
    """The sources a stored development event holds, as stored (transcoded dicts)."""
    found = []
    for value in (payload.get("content", {}).get("_data_", {}).get("sources", []),
                  payload.get("changes", {}).get("sources", []), [payload.get("source")]):
        found += [source["_data_"] for source in value if source]
    return found


def test_sources_recorded_before_they_had_a_language_read_in_the_new_shape(store):
    """The one upcast of sources (Development's events, version 1 to 2): the fixture's events
    were stored without a `language`; they read with language None, while their stored
    bytes, and so the chain and the Merkle tree, stay as they were."""
    fixture = [json.loads(line) for line in FIXTURE.open(encoding="utf-8")]
    developments = [e for e in fixture if e["topic"].startswith("timeline.domain:Development.")]
    old_sources = [s for e in developments for s in stored_sources(json.loads(e["payload"]))]
    assert len(old_sources) >= 27 and not any("language" in s for s in old_sources)
    assert not any("class_version" in json.loads(e["payload"]) for e in developments)

    app = Timeline(store)
    with FIXTURE.open(encoding="utf-8") as lines:
        app.audit.import_log(lines)
    out = io.StringIO()
    app.audit.export(out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == fixture
    assert app.audit.verify().ok

    for logged in app.recorder.iter_log():  # as the library's mapper reads them
        if not logged.topic.startswith("timeline.domain:Development."):
            continue
        event = app.mapper.to_domain_event(app.recorder.select_events(
            UUID(logged.stream_id), gt=logged.stream_version - 1, lte=logged.stream_version)[0])
        sources = [*getattr(getattr(event, "content", None), "sources", ()),
                   *getattr(event, "changes", {}).get("sources", ()), getattr(event, "source", None)]
        assert all(source.language is None for source in sources if source is not None)
    for development in app.list_developments(limit=100):
        found = app.get_development(UUID(development["id"]))
        assert all(s["language"] is None for s in found["sources"]), found["id"]
        for version in found["history"]:
            if version.get("source"):
                assert version["source"]["language"] is None

    # A source recorded now is stored at version 2, with its language.
    ident = app.record_development(replace(content(), sources=(
        replace(conftest_source("Xi Jinping held talks with Vladimir Putin."), language="zh"),
    )), Status.OCCURRED)
    [stored] = app.recorder.select_events(ident)
    state = json.loads(stored.state)
    assert state["class_version"] == 2
    assert [s["language"] for s in stored_sources(state)] == ["zh"]
    assert app.get_development(ident)["sources"][0]["language"] == "zh"
    assert app.audit.verify().ok
    app.close()


# --- stores created before the hardening -------------------------------------------------------

# The events table as eventsourcing 9.5 creates it, which stores before this version have.
LIBRARY_EVENTS_TABLE = (
    "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT,"
    " state BLOB, PRIMARY KEY (originator_id, originator_version))"
)


def test_a_store_created_before_the_hardening_gains_its_triggers(tmp_path):
    url = f"sqlite:///{tmp_path / 'older.db'}"
    Raw(url).run(LIBRARY_EVENTS_TABLE)
    app = Timeline(url)
    with FIXTURE.open(encoding="utf-8") as lines:
        app.audit.import_log(lines)
    app.register_actor("nato", "NATO", ActorKind.BLOC)
    assert app.audit.verify().ok and app.audit.count() == 52
    app.close()
    with pytest.raises(Exception, match="append-only"):
        Raw(url).run("INSERT OR REPLACE INTO stored_events (rowid, originator_id,"
                     " originator_version, topic, state) SELECT rowid, originator_id,"
                     " originator_version, 'forged', state FROM stored_events WHERE rowid = 1")


def test_processes_opening_a_new_store_together_all_open(durable_store, monkeypatch):
    """Two server workers starting on a new store: one reads that the tracking table is not
    there yet, the other creates it and records its migration, then the first creates it."""
    first = Timeline(durable_store)  # the other process, which created the store meanwhile
    kind = type(first.read_model.view)
    original = kind.max_tracking_id
    stale = ProgrammingError if "Postgres" in kind.__name__ else OperationalError
    reads = []

    def read_before_the_other_created_it(self, application_name):
        reads.append(application_name)
        if len(reads) == 1:  # as it was when this process looked, before the other's commit
            raise stale("no such table: tracking")
        return original(self, application_name)

    monkeypatch.setattr(kind, "max_tracking_id", read_before_the_other_created_it)
    second = Timeline(durable_store)
    assert reads[0] == "__migration__" and len(reads) > 1
    second.register_actor("china", "China", ActorKind.STATE)
    assert [a["id"] for a in first.list_actors()] == ["china"]
    first.close()
    second.close()
