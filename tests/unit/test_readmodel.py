"""The read model's write path as pure functions (a version's row, the rows a run of versions
writes), and its process-wide settings for bulk work, which leave the process as they found it."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from timeline.domain import (
    Content,
    Development,
    PartialDate,
    Participation,
    Provenance,
    Source,
    TimelineError,
)
from timeline.readmodel import (
    EPOCH,
    FROM_COLUMNS,
    LinkRow,
    ParticipantRow,
    Superseded,
    Version,
    VersionRow,
    encode_compact,
    fact_values,
    fewer_collections,
    pack_document,
    plan_writes,
    prepare_version,
    read_document,
)
from timeline.relationships import Fact
from timeline.schemas import dump_development
from timeline.vocabulary import Certainty, Dataset, Kind, Role, Status

STATES = {"lavrov": {"russia"}, "wang-yi": {"china"}}


def version(ident: str, number: int, at: int, *, participants: tuple[str, ...] = ()) -> Version:
    fact = Fact(
        id=ident,
        kind=Kind.CONSULTATION,
        status=Status.OCCURRED,
        certainty=Certainty.CONFIRMED,
        date=PartialDate.parse("2023-10-16"),
        ended=None,
        planned_for=None,
        sources=("lavrov",),
        targets=("wang-yi",),
        participants=participants,
        items=(),
        summary=f"{ident} v{number}",
    )
    row = VersionRow(
        development_id=ident, version=number, position=at, recorded_at=at, superseded_at=None,
        kind=fact.kind.value, status=fact.status.value, certainty=fact.certainty.value,
        retracted=0, earliest="2023-10-16", latest="2023-10-16", reported_from="2023-10-16",
        begins="2023-10-16", fact=json.dumps(fact.stored()), document=pack_document("{}"),
        dataset="gdelt",
    )
    return Version(row, fact)


def test_a_version_superseded_within_the_run_is_written_already_superseded():
    writes = plan_writes([version("d1", 1, 10), version("d2", 1, 11), version("d1", 2, 12)],
                         STATES)
    assert [(r.development_id, r.version, r.superseded_at) for r in writes.versions] == [
        ("d1", 1, 12), ("d2", 1, None), ("d1", 2, None),
    ]
    # Its links reference each version's row (by position), which holds the interval: none
    # is updated.
    assert {link.position for link in writes.links} == {10, 11, 12}
    assert writes.superseded == []  # nothing written by an earlier run to update


def test_a_run_supersedes_the_version_an_earlier_run_wrote_once_per_development():
    writes = plan_writes([version("d1", 3, 20), version("d1", 4, 21), version("d2", 1, 22)],
                         STATES)
    assert writes.superseded == [Superseded(superseded_at=20, development_id="d1", version=2)]


def test_each_link_is_keyed_by_its_pair_and_lifted_to_the_states():
    writes = plan_writes([version("d1", 1, 10)], STATES)
    assert sorted(writes.links) == [
        LinkRow(a="china", b="russia", position=10, from_a=0),  # russia->china
        LinkRow(a="lavrov", b="wang-yi", position=10, from_a=1),
    ]


def test_every_actor_a_version_names_is_a_participant_once():
    writes = plan_writes([version("d1", 1, 10, participants=("bildt", "lavrov"))], STATES)
    assert writes.participants == [
        ParticipantRow("lavrov", 10),
        ParticipantRow("wang-yi", 10),
        ParticipantRow("bildt", 10),
    ]


def test_fewer_collections_restores_the_collector_and_keeps_what_the_process_froze(monkeypatch):
    threshold = gc.get_threshold()
    gc.freeze()  # as a server that forks its workers may have done
    calls = []
    # Count calls rather than frozen objects: a frozen object that dies leaves the count.
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze"))
    try:
        with fewer_collections():
            assert gc.get_threshold()[0] == 50_000
        assert gc.get_threshold() == threshold
        assert calls == []  # what the process froze stays as it was
        assert gc.get_freeze_count() > 0
    finally:
        monkeypatch.undo()
        gc.unfreeze()


def test_fewer_collections_sets_aside_what_lived_before_and_gives_it_back():
    assert gc.get_freeze_count() == 0
    with fewer_collections():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_overlapping_bulk_loads_restore_the_collector_when_the_last_one_ends():
    threshold = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert gc.get_threshold()[0] == 50_000 and gc.get_freeze_count() > 0
    second.__exit__(None, None, None)
    assert gc.get_threshold() == threshold and gc.get_freeze_count() == 0


def whole_document(row: VersionRow) -> dict:
    """A document of the version `version` makes, every field as dump_development gives it."""
    return {"id": "d1", "key": "k", "dataset": row.dataset, "version": 1,
            "recorded_at": "1970-01-01T00:00:00.000010+00:00", "status": row.status,
            "retracted": False, "ended": None, "kind": row.kind, "summary": "d1 v1",
            "actors": [{"actor": "lavrov", "role": "source"},
                       {"actor": "wang-yi", "role": "target"}],
            "date": {"value": "2023-10-16", "precision": "day", "approximate": False,
                     "derivation": None},
            "certainty": row.certainty,
            "sources": [{"publication": "TASS", "attribution": "state news agency",
                         "passage": "Lavrov met Wang Yi \x1e in Beijing."}],
            "planned_for": None, "place": None, "items": [], "quote": None}


# The document's fields its row's columns hold, and those they hold unless the moment was
# recorded in another zone than UTC (its column gives it back in UTC).
IN_COLUMNS = (frozenset(FROM_COLUMNS),
              frozenset(key for key in FROM_COLUMNS if key != "recorded_at"))


def stored_document(document: dict, row: VersionRow, fact) -> str:
    """What the view keeps of a version's document, by definition: the document without the
    fields its row's columns and its stored `fact` hold (each stored once); a field that
    differs from what they give back (a moment recorded in another zone, a date with its
    derivation, actors not in the order of their roles) is kept. The product makes it from
    the aggregate (readmodel.stored_document_of), held to this below."""
    recorded_at = (EPOCH + timedelta(microseconds=row.recorded_at)).isoformat()
    same = IN_COLUMNS[document["recorded_at"] != recorded_at]
    given = fact_values(fact)
    return encode_compact({key: value for key, value in document.items()
                           if key not in same and (key not in given or given[key] != value)})


def test_a_document_field_its_column_does_not_hold_as_recorded_is_kept():
    """A moment recorded in another zone than UTC reads back as it was recorded."""
    kept = version("d1", 1, 10)
    row = kept.row
    document = {**whole_document(row), "recorded_at": "1970-01-01T01:00:00.000010+01:00"}
    stored = stored_document(document, row, kept.fact.stored())
    assert json.loads(stored) == {"key": "k", "recorded_at": document["recorded_at"],
                                  "sources": document["sources"], "place": None,
                                  "quote": None}
    packed = pack_document(stored)
    assert read_document(row._replace(document=packed)._asdict()) == document


def test_a_document_keeps_what_its_fact_does_not_give_back_and_reads_back_whole():
    """The summary, actors, dates and items are the fact's, stored once; a date's derivation
    and actors out of the order of their roles are not in the fact, so the document keeps
    them. Deflated, in far fewer bytes than its JSON."""
    kept = version("d1", 1, 10)
    row = kept.row
    given = whole_document(row)
    stored = stored_document(given, row, kept.fact.stored())
    assert json.loads(stored) == {"key": "k", "sources": given["sources"], "place": None,
                                  "quote": None}
    packed = pack_document(stored)
    assert len(packed) < len(json.dumps(given)) / 2
    assert list(read_document(row._replace(document=packed)._asdict()).items()) == list(
        given.items())
    # Not what the fact gives back: kept, and read back as recorded.
    differing = {**given,
                 "actors": [{"actor": "wang-yi", "role": "target"},
                            {"actor": "lavrov", "role": "source"}],
                 "date": {**given["date"], "derivation": "the day after the summit"}}
    stored = stored_document(differing, row, kept.fact.stored())
    assert set(json.loads(stored)) == {"key", "actors", "date", "sources", "place", "quote"}
    assert read_document(row._replace(document=pack_document(stored))._asdict()) == differing


# --- prepare_version against the definition it was made faster from ---------------------

def reference_version(development: Development, position: int, recorded_at: datetime
                      ) -> Version:
    """A version's row as the view defines it: the fact built by Fact's own constructor, the
    document dumped whole (dump_development) and then left without what the row's columns and
    its fact hold (stored_document). prepare_version makes the same row with less work."""
    content = development.content
    reported_from = development.reported_on or recorded_at.date()
    fact = Fact(
        id=str(development.id), kind=content.kind, status=development.status,
        certainty=content.certainty, date=content.date, ended=development.ended,
        planned_for=content.planned_for, sources=content.actor_ids(Role.SOURCE),
        targets=content.actor_ids(Role.TARGET),
        participants=content.actor_ids(Role.PARTICIPANT), items=tuple(content.items),
        summary=content.summary,
        reported_by=tuple((s.publication, s.attribution) for s in content.sources),
        reported=min(s.reported_on.latest for s in content.sources),
        statuses=tuple(development.statuses), version=development.version,
        reported_from=reported_from, retracted=development.retracted,
    )
    kept = fact.stored()
    if kept.statuses == []:  # the one span its status and date make: left out, not lost
        assert fact.statuses == ((fact.status, None, fact.date),)
    row = VersionRow(
        development_id=str(development.id), version=development.version, position=position,
        recorded_at=(recorded_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
            microseconds=1),
        superseded_at=None, kind=content.kind.value, status=development.status.value,
        certainty=content.certainty.value, retracted=int(development.retracted),
        earliest=content.date.earliest.isoformat(), latest=content.date.latest.isoformat(),
        reported_from=reported_from.isoformat(),
        begins=min(span.date.earliest for span in fact.spans()).isoformat(),
        fact=json.dumps(kept, separators=(",", ":")), document=b"",
        dataset=development.dataset.value,
    )
    document = stored_document(dump_development(development, recorded_at), row, kept)
    return Version(row._replace(document=pack_document(document)), fact)


def partial_date(year: int, month: int, day: int, precision: int, approximate: bool,
                 derivation: str | None) -> PartialDate:
    if precision == 3:
        return PartialDate(year, week=month * 4, approximate=approximate, derivation=derivation)
    return PartialDate(year, month if precision else None, day if precision == 2 else None,
                       approximate, derivation)


some_dates = st.builds(partial_date, st.integers(1990, 2030), st.integers(1, 12),
                       st.integers(1, 28), st.integers(0, 3), st.booleans(),
                       st.one_of(st.none(), st.just("two years before the report")))
some_sources = st.builds(
    Source, st.sampled_from(["TASS", "Reuters"]), st.just("agency"), some_dates,
    st.sampled_from(["one", "two"]), st.one_of(st.none(), st.just("https://example.org")),
    st.one_of(st.none(), st.just("en")))
# Every role in any order: the fact keeps actors by role, so an order it does not give back
# must stay in the document.
some_actors = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(list(Role))),
                       min_size=1, max_size=4, unique=True).map(
    lambda found: tuple(Participation(actor, role) for actor, role in found))
# UTC as eventsourcing records it, UTC by another name, and another zone.
zones = st.sampled_from([UTC, timezone(timedelta(0), "GMT"), timezone(timedelta(hours=3))])
operations = st.lists(st.one_of(
    st.tuples(st.just("correct"), some_dates, some_actors, some_sources),
    st.tuples(st.just("status"), st.sampled_from(list(Status)), some_dates, st.booleans()),
    st.tuples(st.just("retract"), st.booleans()),
), max_size=5)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(when=some_dates, actors=some_actors, sources=st.lists(some_sources, min_size=1,
                                                              max_size=3),
       status=st.sampled_from([Status.OCCURRED, Status.ONGOING, Status.PLANNED]),
       planned_for=some_dates, key=st.sampled_from([None, "seed-key", "gdelt:7"]),
       ingested=st.booleans(), later=operations, zone=zones)
def test_a_version_is_prepared_as_its_definition_makes_it(when, actors, sources, status,
                                                          planned_for, key, ingested, later,
                                                          zone):
    """For any development and any history of it, prepare_version makes each version's row,
    byte for byte, and its fact as the definition above makes them."""
    content = Content(kind=Kind.MATERIAL_SUPPORT, summary="s", actors=actors, date=when,
                      certainty=Certainty.REPORTED, sources=tuple(sources),
                      planned_for=planned_for if status is Status.PLANNED else None,
                      items=("rifle scopes",), place="Moscow" if ingested else None)
    development = Development(
        id=uuid4(), content=content, status=status, key=key, recorded_by="test",
        provenance=Provenance(Dataset.GDELT, "7", "f.csv", 3, {"a": "b"}) if ingested else None)
    recorded_at = datetime(2024, 4, 7, 12, 30, 0, 5, tzinfo=UTC).astimezone(zone)
    position = 1
    while True:
        prepared = prepare_version(development, position, recorded_at)
        reference = reference_version(development, position, recorded_at)
        assert prepared.row == reference.row
        assert prepared.fact == reference.fact
        if not later:
            return
        operation, *later = later
        position += 1
        recorded_at += timedelta(days=1, microseconds=position)
        try:
            if operation[0] == "correct":
                _, date_, actors_, source_ = operation
                development.correct({"date": date_, "actors": actors_}, "corrected", source_,
                                    "test")
            elif operation[0] == "status":
                _, status_, date_, dated = operation
                development.change_status(status_, "changed", None, "test",
                                          date_ if dated else None)
            else:
                development.retract("retracted", "test", sources[0] if operation[1] else None)
        except TimelineError:
            position -= 1
