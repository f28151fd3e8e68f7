"""The read model's bytes: marks kept apart from the outlines, their space given back after a
bulk load, and the view's indexes packed after a load of most of it (issue: throughput, a read
model within the log's bytes)."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import POSTGRES, content, fresh_store
from timeline.application import Timeline
from timeline.domain import Participation
from timeline.progress import REINDEXED
from timeline.readmodel import ViewQueries
from timeline.synth import Synthesizer, run
from timeline.vocabulary import ActorKind, Role


@pytest.fixture
def postgres_app():
    with fresh_store("postgres") as url:
        app = Timeline(url)
        yield app
        app.close()


def index_files(app) -> dict[str, tuple[int, int]]:
    """Each index of the view's tables on PostgreSQL: (its file's number, its bytes)."""
    with app.read_model.view.datastore.transaction(commit=False) as c:
        c.execute("SELECT c.relname, c.relfilenode, pg_relation_size(c.oid) AS size"
                  " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                  " JOIN pg_class t ON t.oid = i.indrelid"
                  " JOIN pg_namespace n ON n.oid = t.relnamespace"
                  " WHERE n.nspname = %s AND t.relname = ANY(%s)",
                  (app.read_model.view.datastore.schema, list(ViewQueries.VIEW_TABLES)))
        return {row["relname"]: (row["relfilenode"], row["size"]) for row in c.fetchall()}


def test_compacting_packs_the_views_indexes_and_drops_an_invalid_copy(postgres_app):
    app = postgres_app
    run(app, Synthesizer(1500, 40, seed=5), batch=500)
    model, view = app.read_model, app.read_model.view
    view.reset(model.name)
    model.catch_up(model.rebuild_batch, bulk=True)  # the bulk path, not yet compacted
    schema = view.datastore.schema
    with view.datastore.get_connection() as conn:
        # What an interrupted REINDEX CONCURRENTLY leaves: a copy the planner does not use,
        # and every insert still writes.
        conn.execute(f'CREATE INDEX leftover_ccnew ON "{schema}".development_links (position)')
        conn.execute(f"UPDATE pg_index SET indisvalid = false"
                     f" WHERE indexrelid = '\"{schema}\".leftover_ccnew'::regclass")
    before = index_files(app)
    heard: list[tuple[str, int, int | None]] = []
    view.compact(lambda step, done, total: heard.append((step, done, total)))
    after = index_files(app)
    tables = len(ViewQueries.VIEW_TABLES)  # a step per table, which a bar shows
    assert heard == [(REINDEXED, done, tables) for done in range(tables + 1)]
    assert "leftover_ccnew" in before and "leftover_ccnew" not in after
    del before["leftover_ccnew"]
    assert set(after) == set(before)
    assert all(after[name][0] != before[name][0] for name in after)  # each built anew
    assert sum(size for _, size in after.values()) < sum(size for _, size in before.values())
    expected = app.relationships_page(limit=500).items
    model.outline_pairs()
    assert app.relationships_page(limit=500).items == expected


def test_a_compaction_that_cannot_finish_leaves_the_indexes_and_fails_nothing(postgres_app,
                                                                             caplog):
    app = postgres_app
    run(app, Synthesizer(300, 20, seed=4), batch=100)
    app.read_model.catch_up_bulk()
    view = app.read_model.view
    expected = app.relationships_page(limit=500).items
    before = index_files(app)
    view.compact_wait = "200ms"
    # A transaction with a snapshot older than the rebuilt index: REINDEX CONCURRENTLY waits
    # for it to end, here longer than it may.
    with psycopg.connect(POSTGRES, autocommit=True) as other:
        other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        other.execute(f"SELECT count(*) FROM {view.table('development_links')}")
        view.compact()  # no error: the command that loaded the view succeeds
        other.execute("ROLLBACK")
    assert "left as they were" in caplog.text
    assert index_files(app) == before  # the same files, and no invalid copy left behind
    assert app.relationships_page(limit=500).items == expected


def test_a_bulk_load_gives_the_marks_space_back(postgres_app):
    app = postgres_app
    synthesizer = Synthesizer(600, 30, seed=2)
    run(app, synthesizer, batch=200)
    app.read_model.catch_up_bulk()
    view = app.read_model.view
    assert view.count_marked() == 0
    with view.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT pg_relation_size('{view.table('pair_marks')}') AS size")
        assert c.fetchone()["size"] == 0  # no page of dead marks left
    # The next run marks its pairs again, and the outliner takes the marks away.
    a, b = sorted(actor["id"] for actor in synthesizer.actors
                  if actor["kind"] is ActorKind.STATE)[:2]
    app.record_development(content(actors=(Participation(a, Role.SOURCE),
                                           Participation(b, Role.TARGET))))
    app.read_model.catch_up()
    assert [pair[:2] for pair in view.marked_pairs(10)] == [(a, b)]
    app.read_model.outline_pairs()
    assert view.count_marked() == 0


def test_only_a_load_of_most_of_the_view_compacts_it(seeded, monkeypatch):
    app = seeded
    model = app.read_model
    compacted: list[int] = []
    monkeypatch.setattr(model.view, "compact", lambda progress=None: compacted.append(1))
    versions = model.view.count_versions()
    model.compact_after(0)
    model.compact_after(versions // 2 - 1)
    assert compacted == []
    model.compact_after(versions // 2 + 1)
    assert compacted == [1]
    model.rebuild()  # every event again
    assert compacted == [1, 1]
    # Not a background projector, even after a long backlog: it would apply nothing while
    # the indexes are rebuilt (the bulk command that wrote the backlog compacts).
    model.view.reset(model.name)
    monkeypatch.setattr(model, "long_backlog", 10)
    assert model.catch_up_in_runs() > 10
    assert compacted == [1, 1]
