"""Property: for any history recorded in any order, the read model answers every (as_of,
reported_by, known_at) question exactly as a pure fold over the developments as known then;
and an incremental projection equals a rebuild."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import STORES, fresh_store, source
from tests.helpers import outline_of
from timeline.application import Timeline
from timeline.domain import Content, PartialDate, Participation, TimelineError
from timeline.readmodel import fact_of, prepare_version, read_document
from timeline.relationships import Fact, Linked, fold, links
from timeline.schemas import dump_development
from timeline.vocabulary import ActorKind, Certainty, Kind, Role, Status

# Each example builds a store from scratch; a PostgreSQL schema costs more, hence the count.
EXAMPLES = 60
ACTORS = ["a", "b", "c", "p"]  # p is a person belonging to state a
STATES = {"p": {"a"}}

dates = st.builds(
    lambda year, month, day, precision: PartialDate.parse(
        f"{year}" if precision == 0 else f"{year}-{month:02d}" if precision == 1
        else f"{year}-{month:02d}-{day:02d}"
    ),
    st.integers(2020, 2024), st.integers(1, 12), st.integers(1, 28), st.integers(0, 2),
)
pairs = st.tuples(st.sampled_from(ACTORS), st.sampled_from(ACTORS)).filter(lambda p: p[0] != p[1])
kinds = st.sampled_from([Kind.AGREEMENT, Kind.SANCTIONS, Kind.ARMED_ATTACK, Kind.VISIT,
                         Kind.MATERIAL_SUPPORT, Kind.RESTRAINT, Kind.ASSESSMENT])


def reported(on: PartialDate):
    return replace(source(), reported_on=on)


def make_content(kind: Kind, when: PartialDate, pair: tuple[str, str], certainty: Certainty,
                 planned_for: PartialDate | None = None, report: PartialDate | None = None
                 ) -> Content:
    return Content(
        kind=kind, summary=f"{kind.value} {pair}", date=when, certainty=certainty,
        actors=(Participation(pair[0], Role.SOURCE), Participation(pair[1], Role.TARGET)),
        sources=(reported(report) if report else source(),),
        items=("x",) if kind is Kind.MATERIAL_SUPPORT else (), planned_for=planned_for,
    )


record = st.tuples(
    st.just("record"), kinds, dates, pairs, st.sampled_from(list(Certainty)),
    st.sampled_from([Status.OCCURRED, Status.ONGOING, Status.PLANNED]), dates,
)
correct = st.tuples(st.just("correct"), st.integers(0, 20), dates, pairs, kinds, dates)
change = st.tuples(st.just("status"), st.integers(0, 20),
                   st.sampled_from([Status.OCCURRED, Status.CANCELLED]), dates)
retract = st.tuples(st.just("retract"), st.integers(0, 20))
histories = st.lists(st.one_of(record, record, correct, change, retract), min_size=1, max_size=14)


def play(app: Timeline, history: list[tuple]) -> list[datetime]:
    """Apply the operations (skipping those the domain refuses); the moments between them."""
    ids, moments = [], []
    for operation in history:
        try:
            if operation[0] == "record":
                _, kind, when, pair, certainty, status, report = operation
                planned = when if status is Status.PLANNED else None
                ids.append(app.record_development(
                    make_content(kind, when, pair, certainty, planned, report), status))
            elif ids and operation[0] == "correct":
                _, index, when, pair, kind, report = operation
                changes = {"date": when, "kind": kind, "actors": (
                    Participation(pair[0], Role.SOURCE), Participation(pair[1], Role.TARGET))}
                app.correct_development(ids[index % len(ids)], changes, "corrected",
                                        reported(report))
            elif ids and operation[0] == "status":
                _, index, status, when = operation
                app.change_status(ids[index % len(ids)], status, "changed", date=when)
            elif ids:
                app.retract_development(ids[operation[1] % len(ids)], "retracted")
        except TimelineError:
            pass
        moments.append(datetime.now(UTC))
    return moments


def fact_of_document(document: dict) -> Fact:
    """The fact read from the document the API serves: a path that shares no code with the
    projection's Fact.of."""

    def partial(value: dict | None) -> PartialDate | None:
        return None if value is None else PartialDate.parse(
            value["value"], approximate=value["approximate"]
        )

    def role(name: str) -> tuple[str, ...]:
        return tuple(p["actor"] for p in document["actors"] if p["role"] == name)

    return Fact(
        reported=min(PartialDate.parse(s["reported_on"]["value"]).latest
                     for s in document["sources"]),
        id=document["id"], kind=Kind(document["kind"]), status=Status(document["status"]),
        certainty=Certainty(document["certainty"]), date=partial(document["date"]),
        ended=partial(document["ended"]), planned_for=partial(document["planned_for"]),
        sources=role("source"), targets=role("target"), participants=role("participant"),
        items=tuple(document["items"]), summary=document["summary"],
        reported_by=tuple((s["publication"], s["attribution"]) for s in document["sources"]),
    )


def pure_answer(app: Timeline, as_of: date | None, reported_by: date | None,
                known_at: datetime | None) -> list[dict]:
    """Fold the raw events, filtered by record and knowledge time, straight into
    relationships: each development's latest version recorded by `known_at` and reported by
    `reported_by` (its sources' day, or the day it was recorded without one)."""
    linked = []
    developments: dict = {}
    chosen: dict = {}
    for notification in app.recorder.select_notifications(1, 100_000):
        event = app.mapper.to_domain_event(notification)
        if "Development" not in notification.topic:
            continue
        development = event.mutate(developments.get(event.originator_id))
        developments[event.originator_id] = development
        reported_from = development.reported_on or event.timestamp.date()
        if known_at is not None and event.timestamp > known_at:
            continue
        if reported_by is not None and reported_from > reported_by:
            continue
        chosen[event.originator_id] = (copy.deepcopy(development), event.timestamp)
    for development, recorded_at in chosen.values():
        if development.retracted:
            continue
        fact = replace(fact_of_document(dump_development(development, recorded_at)),
                       statuses=tuple(development.statuses))
        linked += [Linked(fact, a, b) for a, b in links(fact, STATES)]
    return [r.as_dict() for _, r in sorted(fold(linked, as_of).items())]


@pytest.mark.parametrize("kind", STORES)
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    history=histories,
    as_of=st.one_of(st.none(), st.dates(date(2019, 6, 1), date(2025, 6, 1))),
    data=st.data(),
)
def test_the_read_model_equals_a_pure_fold_for_any_as_of_and_known_at(
    kind, history, as_of, data
):
    with fresh_store(kind) as url:
        check_against_a_pure_fold(url, history, as_of, data)


def check_against_a_pure_fold(url, history, as_of, data):
    app = Timeline(url)
    for slug in ACTORS:
        kind = ActorKind.PERSON if slug == "p" else ActorKind.STATE
        app.register_actor(slug, slug.upper(), kind, belongs_to=("a",) if slug == "p" else ())
    moments = play(app, history)
    known_at = data.draw(st.sampled_from([None, *moments]))
    reported_by = data.draw(st.one_of(st.none(), st.dates(date(2019, 6, 1), date(2025, 6, 1))))
    axes = {"known_at": known_at, "reported_by": reported_by}

    answer = [{**r, "axes": None} for r in app.list_relationships(as_of=as_of, **axes)]
    assert answer == [{**r, "axes": None} for r in pure_answer(app, as_of, **axes)]

    # A page as things stand now: the pairs the history marked, folded by the page; then
    # the outlines the projector keeps; then those a rebuild made.
    now = [outline_of(r) for r in pure_answer(app, None, None, None)]
    assert app.relationships_page(limit=500).items == now
    app.read_model.outline_pairs()
    assert app.read_model.view.count_marked() == 0
    assert app.relationships_page(limit=500).items == now

    incremental = (answer, app.replay(until=as_of, **axes))
    app.read_model.rebuild()
    assert ([{**r, "axes": None} for r in app.list_relationships(as_of=as_of, **axes)],
            app.replay(until=as_of, **axes)) == incremental
    assert app.read_model.view.count_marked() == 0
    assert app.relationships_page(limit=500).items == now
    app.close()


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(history=histories)
def test_a_fact_read_from_its_row_equals_the_fact_of_the_aggregate(history):
    """The read model keeps each version's fact once, beside its document (see
    relationships.StoredFact), and reads it with the row's columns: for every version of any
    history, that is the fact the aggregate makes, in the compact form the view stored on each
    link in VIEW_SHAPE 4; and the document, kept without the fact, reads back whole."""
    with fresh_store("sqlite") as url:
        app = Timeline(url)
        for slug in ACTORS:
            kind = ActorKind.PERSON if slug == "p" else ActorKind.STATE
            app.register_actor(slug, slug.upper(), kind, belongs_to=("a",) if slug == "p" else ())
        play(app, history)
        developments: dict = {}
        for notification in app.recorder.select_notifications(1, 100_000):
            if "Development" not in notification.topic:
                continue
            event = app.mapper.to_domain_event(notification)
            development = event.mutate(developments.get(event.originator_id))
            developments[event.originator_id] = development
            fact = Fact.of(development, development.reported_on or event.timestamp.date())
            document = json.loads(json.dumps(dump_development(development, event.timestamp)))
            row = prepare_version(development, notification.id, event.timestamp).row
            read = fact_of(row._asdict())
            assert read == fact
            # The document itself, kept without what the row's columns and its fact hold,
            # reads back whole and in the order it is served.
            assert list(read_document(row._asdict()).items()) == list(document.items())
        app.close()
