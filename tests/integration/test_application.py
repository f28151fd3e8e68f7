"""The application on a real store: commands, queries, history, and the read model."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.conftest import content, fresh_store, source
from timeline.application import Timeline, VersionMismatch
from timeline.domain import (
    AlreadyExists,
    NotFound,
    PartialDate,
    Participation,
    UnknownActor,
)
from timeline.vocabulary import ActorKind, Kind, Role, Status


def test_an_unknown_actor_is_refused_and_nothing_is_recorded(app):
    before = app.audit.count()
    with pytest.raises(UnknownActor) as error:
        app.record_development(
            content(actors=(Participation("atlantis", Role.SOURCE),))
        )
    assert error.value.field == "actors"
    assert app.audit.count() == before


def test_an_actor_must_belong_to_a_known_actor(app):
    with pytest.raises(UnknownActor):
        app.register_actor("wang-yi", "Wang Yi", ActorKind.PERSON, belongs_to=("prc",))
    with pytest.raises(AlreadyExists):
        app.register_actor("china", "China", ActorKind.STATE)


def test_a_correction_is_a_new_event_and_the_history_shows_both_versions(app):
    ident = app.record_development(content())
    version = app.correct_development(
        ident, {"date": PartialDate.parse("2024-03")}, "an earlier report", source("Earlier.")
    )
    assert version == 2
    found = app.get_development(ident)
    assert found["date"]["value"] == "2024-03"
    assert [entry["type"] for entry in found["history"]] == ["recorded", "corrected"]
    assert found["history"][0]["changes"]["date"]["value"] == "2024-04"
    assert found["history"][1]["changes"] == {
        "date": {"value": "2024-03", "precision": "month", "approximate": False,
                 "derivation": None}
    }
    assert found["history"][1]["reason"] == "an earlier report"
    assert len(list(app.events.get(ident))) == 2


def test_known_at_gives_the_version_known_then(app):
    ident = app.record_development(content())
    between = datetime.now(UTC)
    app.correct_development(ident, {"place": "Beijing"}, "place reported", source())
    assert app.get_development(ident, known_at=between)["place"] is None
    assert app.get_development(ident)["place"] == "Beijing"
    listed_then = app.list_developments(known_at=between)
    assert [d["place"] for d in listed_then] == [None]
    with pytest.raises(NotFound):
        app.get_development(ident, known_at=datetime(2000, 1, 1, tzinfo=UTC))


def test_a_stale_expected_version_is_refused(app):
    ident = app.record_development(content())
    app.correct_development(ident, {"place": "Moscow"}, "r", source(), expected_version=1)
    with pytest.raises(VersionMismatch):
        app.correct_development(ident, {"place": "Beijing"}, "r", source(), expected_version=1)
    assert app.get_development(ident)["place"] == "Moscow"


def test_listing_filters_and_orders_by_world_date(app):
    late = app.record_development(content(date=PartialDate.parse("2024-04-02")))
    year = app.record_development(content(date=PartialDate.parse("2022"), kind=Kind.VISIT))
    early = app.record_development(
        content(
            date=PartialDate.parse("2022-02-24"),
            actors=(Participation("russia", Role.SOURCE), Participation("ukraine", Role.TARGET)),
            kind=Kind.ARMED_ATTACK,
        )
    )
    planned = app.record_development(
        content(date=PartialDate.parse("2024-04-05"), planned_for=PartialDate.parse("2024-05")),
        Status.PLANNED,
    )
    ids = [d["id"] for d in app.list_developments()]
    # earliest day first; "2022" (from 1 January) comes before 24 February 2022
    assert ids == [str(year), str(early), str(late), str(planned)]
    assert [d["id"] for d in app.list_developments(actors=["ukraine"])] == [str(early)]
    assert [d["id"] for d in app.list_developments(kind=Kind.VISIT)] == [str(year)]
    assert [d["id"] for d in app.list_developments(status=Status.PLANNED)] == [str(planned)]
    in_2024 = app.list_developments(start=date(2024, 1, 1), end=date(2024, 12, 31))
    assert [d["id"] for d in in_2024] == [str(late), str(planned)]
    first_two = app.list_developments(limit=2)
    last = PartialDate.parse(first_two[-1]["date"]["value"])
    cursor = (last.earliest.isoformat(), last.latest.isoformat(), first_two[-1]["id"])
    rest = app.list_developments(after=cursor, limit=10)
    assert [d["id"] for d in first_two + rest] == ids


def test_retracted_developments_leave_the_listing_but_keep_their_history(app):
    ident = app.record_development(content())
    app.retract_development(ident, "the report was wrong")
    assert app.list_developments() == []
    found = app.get_development(ident)
    assert found["retracted"] is True
    assert [e["type"] for e in found["history"]] == ["recorded", "retracted"]


def test_a_store_closed_and_reopened_gives_the_same_state(durable_store):
    url = durable_store
    first = Timeline(url)
    first.register_actor("china", "China", ActorKind.STATE)
    first.register_actor("russia", "Russia", ActorKind.STATE)
    ident = first.record_development(content())
    first.correct_development(ident, {"place": "Beijing"}, "r", source())
    before = (first.get_development(ident), first.list_developments(), first.list_actors())
    first.close()
    second = Timeline(url)
    after = (second.get_development(ident), second.list_developments(), second.list_actors())
    assert after == before
    second.close()


def test_two_processes_on_one_store_apply_each_event_exactly_once(durable_store):
    url = durable_store
    writer, reader = Timeline(url), Timeline(url)
    writer.register_actor("china", "China", ActorKind.STATE)
    writer.register_actor("russia", "Russia", ActorKind.STATE)
    ident = writer.record_development(content())
    # The reader catches up on its first query: read-your-writes across processes.
    assert [d["id"] for d in reader.list_developments()] == [str(ident)]
    writer.correct_development(ident, {"place": "Beijing"}, "r", source())
    assert reader.read_model.catch_up() == 1
    assert writer.read_model.catch_up() == 0  # the reader already applied it; the writer moves on
    assert reader.read_model.view.count_versions() == 2
    writer.close()
    reader.close()


WRITER = """
import sys
from tests.conftest import content
from timeline.application import Timeline
app = Timeline(sys.argv[1])
for i in range(40):
    app.record_development(content())
    if i % 5 == 0:
        app.list_developments(limit=1)  # catch up while the others write
"""


def test_several_processes_write_and_project_one_store_without_loss_or_duplicates(
    durable_store,
):
    import subprocess
    import sys
    from pathlib import Path

    url = durable_store
    setup = Timeline(url)
    setup.register_actor("china", "China", ActorKind.STATE)
    setup.register_actor("russia", "Russia", ActorKind.STATE)
    root = Path(__file__).resolve().parents[2]
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, url], cwd=root) for _ in range(3)
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0]
    assert len(setup.list_developments()) == 120
    assert setup.read_model.view.count_versions() == 120
    assert setup.read_model.lag() == 0
    verification = setup.audit.verify()  # the chain was written in each writer's own transaction
    assert verification.ok and verification.checked == setup.audit.count()
    setup.close()


def test_an_actor_correction_is_an_event_and_refuses_unknown_fields(app):
    from timeline.domain import InvalidInput

    assert app.correct_actor("china", {"aliases": ("PRC",)}, "alias") == 2
    assert app.get_actor("china")["aliases"] == ["PRC"]
    assert app.correct_actor("china", {"aliases": ("PRC",)}, "again") == 2  # nothing changed
    with pytest.raises(InvalidInput):
        app.correct_actor("china", {"slug": "prc"}, "rename")


def session_settings(url: str) -> dict[str, str]:
    timeline = Timeline(url)
    try:
        with timeline.read_model.view.datastore.get_connection() as connection:
            return connection.execute(
                "SELECT current_setting('max_parallel_workers_per_gather') AS workers,"
                " current_setting('application_name') AS name"
            ).fetchone()
    finally:
        timeline.close()


def test_postgres_sessions_plan_no_parallel_query_and_keep_the_operators_options(monkeypatch):
    # A parallel plan's worker start-up costs more than the service's whole reads (README,
    # benchmarks); options the operator gives in PGOPTIONS still apply, and win.
    monkeypatch.setenv("PGOPTIONS", "-c application_name=timeline-test")
    with fresh_store("postgres") as url:
        assert session_settings(url) == {"workers": "0", "name": "timeline-test"}
        monkeypatch.setenv("PGOPTIONS", "-c max_parallel_workers_per_gather=3")
        assert session_settings(url)["workers"] == "3"
        # parallel_query=on sends no options (for poolers that refuse them).
        monkeypatch.delenv("PGOPTIONS")
        server_default = psycopg_setting(url.split("?")[0], "max_parallel_workers_per_gather")
        assert session_settings(f"{url}&parallel_query=on")["workers"] == server_default
        assert server_default != "0"


def psycopg_setting(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]


def test_save_collects_aggregates_events_and_nothing_as_the_library_does(app):
    """Timeline.save collects an aggregate's events without the library's protocol checks
    (application.Saving); a domain event or None still goes the library's way, in order."""
    from uuid import uuid4

    from eventsourcing.application import ProcessingEvent

    from timeline.application import Saving
    from timeline.domain import Development

    def two() -> tuple[Development, Development]:
        return tuple(Development(id=uuid4(), content=content(), status=Status.OCCURRED,
                                 key=None, recorded_by="test") for _ in range(2))

    first, second = two()
    library, ours = ProcessingEvent(), Saving()
    library.collect_events(first, None, *second.collect_events(), claim="x")
    again, second_again = two()
    ours.collect_events(again, None, *second_again.collect_events(), claim="x")
    assert [type(e) for e in ours.events] == [type(e) for e in library.events]
    assert list(ours.aggregates) == [again.id] and list(library.aggregates) == [first.id]
    assert ours.saved_kwargs == library.saved_kwargs == {"claim": "x"}

    recorded, loose = two()
    recordings = app.save(recorded, None, *loose.collect_events())
    assert [r.domain_event.originator_id for r in recordings] == [recorded.id, loose.id]
    assert recorded.pending_events == []
    assert app.get_development(recorded.id)["version"] == 1
    assert app.get_development(loose.id)["version"] == 1
