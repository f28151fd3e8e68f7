"""The read model's write path as pure functions (the rows a run of versions writes), and its
process-wide settings for bulk work, which leave the process as they found it."""

from __future__ import annotations

import gc
import json

from timeline.domain import PartialDate
from timeline.readmodel import (
    LinkRow,
    ParticipantRow,
    Superseded,
    Version,
    VersionRow,
    fewer_collections,
    pack_document,
    plan_writes,
    read_document,
    stored_document,
)
from timeline.relationships import Fact
from timeline.vocabulary import Certainty, Kind, Status

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
