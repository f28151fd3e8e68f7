"""Relationship state on a real store: the seed data, as_of/known_at, rebuilds and crashes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.conftest import content, source
from timeline.domain import PartialDate, development_id
from timeline.vocabulary import Kind


def test_russia_and_ukraine_are_at_war_from_the_invasion(seeded):
    assert seeded.get_relationship("russia", "ukraine", as_of=date(2022, 3, 1))["stance"] == "war"
    before = seeded.get_relationship("ukraine", "russia", as_of=date(2022, 1, 1))
    assert before["stance"] == "neutral" and before["ties"] == []


def test_china_russia_ties_in_mid_2024_name_the_items_each_traceable(seeded):
    found = seeded.get_relationship("china", "russia", as_of=date(2024, 6, 30))
    assert found["stance"] == "partnership"
    supply = next(t for t in found["ties"] if t["kind"] == "material_supply")
    assert (supply["from"], supply["to"]) == ("china", "russia")
    for item in ["rifle scopes", "tank components", "rocket fuel", "satellite imagery",
                 "microelectronics", "turbojet engines"]:
        assert item in supply["items"]
        behind = [seeded.get_development(i) for i in supply["developments"]]
        assert any(item in d["items"] and d["sources"] for d in behind), item
    assert {d["id"] for d in found["developments"]} >= set(supply["developments"])


def test_lavrov_meeting_wang_yi_shapes_both_pairs(seeded):
    meeting = str(development_id("2023-10-16-lavrov-meets-wang-yi-beijing"))
    people = seeded.get_relationship("sergei-lavrov", "wang-yi")
    states = seeded.get_relationship("russia", "china", as_of=date(2023, 10, 16))
    assert meeting in [d["id"] for d in people["developments"]]
    assert meeting in [d["id"] for d in states["developments"]]


def test_putins_planned_visit_counts_once_it_took_place(seeded):
    # The seeds record the visit of 16-17 May 2024 as a status change of the planned one.
    visit = str(development_id("2024-05-putin-visits-china"))
    found = seeded.get_relationship("china", "vladimir-putin", as_of=date(2024, 5, 20))
    assert visit in [d["id"] for d in found["developments"]]
    assert found["expected"] == []


def test_a_later_correction_changes_as_of_answers_but_not_what_was_known_before(app):
    ident = app.record_development(content(kind=Kind.VISIT, date=PartialDate.parse("2023")))
    before_correction = datetime.now(UTC)
    app.correct_development(
        ident, {"date": PartialDate.parse("2021-06-01")}, "an earlier visit", source()
    )
    as_of = date(2022, 1, 1)
    now = app.get_relationship("china", "russia", as_of=as_of)
    then = app.get_relationship("china", "russia", as_of=as_of, known_at=before_correction)
    assert [d["id"] for d in now["developments"]] == [str(ident)]
    assert now["stance"] == "cooperation"
    assert then["developments"] == [] and then["stance"] == "neutral"


def test_a_retraction_is_not_seen_by_questions_about_earlier_knowledge(app):
    ident = app.record_development(content(kind=Kind.SANCTIONS))
    before = datetime.now(UTC)
    app.retract_development(ident, "the report was wrong")
    assert app.get_relationship("china", "russia")["stance"] == "neutral"
    assert app.get_relationship("china", "russia", known_at=before)["stance"] == "hostility"


def everything(app):
    return (
        app.list_relationships(),
        app.list_relationships(as_of=date(2023, 12, 31)),
        app.replay(until=date(2024, 12, 31)),
        app.list_developments(),
    )


def test_a_rebuild_reproduces_the_same_state(seeded):
    before = everything(seeded)
    assert seeded.read_model.rebuild() == seeded.audit.count()
    assert everything(seeded) == before


def test_a_correction_read_after_the_first_version_was_projected_moves_the_development(app):
    # Projected in two catch-ups: the first version's links are marked superseded in the
    # second, so the old pair loses the development now, and keeps it as known before.
    from timeline.domain import Participation
    from timeline.vocabulary import Role

    ident = str(app.record_development(content()))
    as_of = date(2024, 12, 31)
    assert [d["id"] for d in app.get_relationship("china", "russia", as_of=as_of)["developments"]] \
        == [ident]
    between = datetime.now(UTC)
    moved = (Participation("china", Role.SOURCE), Participation("ukraine", Role.TARGET))
    app.correct_development(ident, {"actors": moved}, "the recipient was misreported", source())
    assert app.get_relationship("china", "russia", as_of=as_of)["developments"] == []
    assert [d["id"] for d in app.get_relationship("china", "ukraine", as_of=as_of)["developments"]] \
        == [ident]
    then = app.get_relationship("china", "russia", as_of=as_of, known_at=between)
    assert [d["id"] for d in then["developments"]] == [ident]


def test_a_rebuild_runs_in_bulk_and_leaves_the_process_as_it_was(durable_store, monkeypatch):
    import gc

    from tests.conftest import SEEDS
    from timeline.application import Timeline
    from timeline.seeding import seed
    from timeline.store import SQLiteDialect

    app = Timeline(durable_store)
    seed(app, SEEDS)
    expected = everything(app)
    sqlite = isinstance(app.read_model.view, SQLiteDialect)
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    app.read_model.rebuild_batch = 10  # several runs, each its own transaction
    seen = []
    original = type(app.read_model.view).write_versions

    def observed(self, c, versions):
        if sqlite:
            c.execute("PRAGMA cache_size")
            seen.append((c.fetchone()[0], gc.get_threshold()[0]))
        else:
            seen.append((None, gc.get_threshold()[0]))
        original(self, c, versions)

    monkeypatch.setattr(type(app.read_model.view), "write_versions", observed)
    assert app.read_model.rebuild() == app.audit.count()
    monkeypatch.setattr(type(app.read_model.view), "write_versions", original)
    assert len(seen) >= 2  # runs that wrote developments
    bulk_cache = -SQLiteDialect.BULK_CACHE_KIB if sqlite else None
    assert set(seen) == {(bulk_cache, 50_000)}
    # Afterwards: the collector as it was, and the connections back to their usual cache.
    assert gc.get_threshold() == threshold and gc.get_freeze_count() == frozen
    if sqlite:
        with app.read_model.view.datastore.transaction(commit=False) as c:
            c.execute("PRAGMA cache_size")
            assert c.fetchone()[0] != bulk_cache
    assert everything(app) == expected
    app.close()


def test_a_run_holds_one_decoded_event_at_a_time_and_gives_freed_memory_back(
    durable_store, monkeypatch
):
    import weakref

    from tests.conftest import SEEDS
    from timeline import readmodel
    from timeline.application import Timeline
    from timeline.seeding import seed

    app = Timeline(durable_store)
    seed(app, SEEDS)
    expected = everything(app)
    mapper = app.read_model.mapper
    decode = mapper.to_domain_event
    alive = [0]
    most = []

    def decoded(notification):
        event = decode(notification)
        alive[0] += 1
        weakref.finalize(event, lambda: alive.__setitem__(0, alive[0] - 1))
        most.append(alive[0])
        return event

    monkeypatch.setattr(mapper, "to_domain_event", decoded)
    given_back = []
    monkeypatch.setattr(readmodel, "give_back_memory", lambda: given_back.append(True))
    app.read_model.outline_pairs_run = 5  # several turns of outlining
    applied = app.read_model.rebuild()  # one run: the seed's events are fewer than a run
    assert applied == app.audit.count() > 20
    # A run's events are decoded as the projection takes them, not all before it starts.
    assert max(most) <= 2
    # Once after the runs, then after each turn of outlining.
    assert len(given_back) > 2
    monkeypatch.undo()
    assert everything(app) == expected
    app.close()


def test_an_interrupted_projection_resumes_without_applying_any_event_twice(
    seeded, monkeypatch
):
    expected = everything(seeded)
    seeded.read_model.view.reset(seeded.name)
    seeded.read_model.catch_up_batch = 10  # runs of ten events, each its own transaction
    view_class = type(seeded.read_model.view)
    original = view_class.write_versions
    calls = {"n": 0}

    def crash_on_the_second_run(self, c, *args):
        original(self, c, *args)  # the rows are written, then the process dies before commit
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(view_class, "write_versions", crash_on_the_second_run)
    with pytest.raises(KeyboardInterrupt):
        seeded.read_model.catch_up()
    applied = seeded.read_model.view.max_tracking_id(seeded.name)
    assert 0 < applied < seeded.audit.count()
    monkeypatch.setattr(view_class, "write_versions", original)

    assert seeded.read_model.catch_up() == seeded.audit.count() - applied
    development_events = sum(
        1 for n in seeded.recorder.select_notifications(1, 10_000) if "Development" in n.topic
    )
    assert seeded.read_model.view.count_versions() == development_events
    assert everything(seeded) == expected


def test_a_catch_up_in_runs_moves_on_the_aggregates_of_the_run_before(seeded, monkeypatch):
    """A development continued in a later run is not read again from the store: its aggregate
    is kept from the run before (the catch-up of a serving process goes in runs of 500)."""
    expected = everything(seeded)
    seeded.read_model.view.reset(seeded.name)
    seeded.read_model.projection._latest.clear()  # as a process that has applied nothing yet
    seeded.read_model.catch_up_batch = 3
    projection = seeded.read_model.projection
    reads = []
    original = projection.repository.get
    monkeypatch.setattr(projection.repository, "get",
                        lambda *args, **kwargs: reads.append(args) or original(*args, **kwargs))
    seeded.read_model.catch_up()
    assert reads == []
    assert everything(seeded) == expected


def test_a_fault_in_the_view_is_raised_not_taken_for_another_processes_work(seeded, monkeypatch):
    from eventsourcing.persistence import IntegrityError

    seeded.read_model.view.reset(seeded.name)

    def broken(self, c, *args):
        raise IntegrityError("a bug in the view")

    monkeypatch.setattr(type(seeded.read_model.view), "write_versions", broken)
    with pytest.raises(IntegrityError, match="a bug in the view"):
        seeded.read_model.catch_up()


@pytest.mark.parametrize("marker", ["missing", "previous"])
def test_a_view_of_an_older_shape_is_rebuilt_when_the_store_is_opened(durable_store, marker):
    from tests.conftest import SEEDS
    from timeline.application import Timeline
    from timeline.readmodel import VIEW_SHAPE
    from timeline.seeding import seed

    app = Timeline(durable_store)
    seed(app, SEEDS)
    expected = app.list_relationships(as_of=date(2024, 6, 30))
    # A view as an older release left it: links with a copy of their version's fact, and a
    # marker of the previous shape, or none (from before the marker existed).
    view = app.read_model.view
    with view.datastore.transaction(commit=True) as c:
        c.execute(f"ALTER TABLE {view.table('development_links')} ADD COLUMN fact TEXT")
        if marker == "missing":
            c.execute(f"DROP TABLE {view.table('view_shape')}")
        else:
            c.execute(f"UPDATE {view.table('view_shape')} SET version = {VIEW_SHAPE - 1}")
    events = app.audit.count()
    app.close()

    reopened = Timeline(durable_store)
    assert reopened.read_model.view.max_tracking_id(reopened.name) is None  # dropped, to be rebuilt
    assert reopened.list_relationships(as_of=date(2024, 6, 30)) == expected
    assert reopened.audit.count() == events  # the events are untouched
    with reopened.read_model.view.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT version FROM {reopened.read_model.view.table('view_shape')}")
        assert c.fetchone()["version"] == VIEW_SHAPE
    reopened.close()
