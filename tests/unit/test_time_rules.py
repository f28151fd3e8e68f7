"""Properties of world time and of the score, on hand-made developments (no store)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from timeline.domain import PartialDate, StatusSpan
from timeline.relationships import Fact, Linked, Standing, fold, links
from timeline.vocabulary import CERTAINTY_FACTORS, KINDS, Certainty, Kind, Status

partial_dates = st.builds(
    lambda year, month, day, week, precision: PartialDate.parse(
        f"{year}" if precision == 0 else f"{year}-{month:02d}" if precision == 1
        else f"{year}-W{week:02d}" if precision == 3 else f"{year}-{month:02d}-{day:02d}"),
    st.integers(2021, 2024), st.integers(1, 12), st.integers(1, 28), st.integers(1, 52),
    st.integers(0, 3),
)
days = st.dates(date(2020, 6, 1), date(2025, 6, 1))


def make(kind: Kind, when: PartialDate, reported: date, *, ident: str = "d",
         certainty: Certainty = Certainty.CONFIRMED, status: Status = Status.OCCURRED,
         statuses: tuple[StatusSpan, ...] = ()) -> Fact:
    return Fact(id=ident, kind=kind, status=status, certainty=certainty, date=when, ended=None,
                planned_for=when if status is Status.PLANNED else None, sources=("china",),
                targets=("russia",), participants=(), items=(), summary=ident,
                reported=reported, statuses=statuses)


@settings(max_examples=300, derandomize=True)
@given(when=partial_dates, reported=days, day=days)
def test_a_development_never_counts_before_it_began_nor_before_it_was_certain(
        when, reported, day):
    fact = make(Kind.VISIT, when, reported)
    if fact.standing(day) is Standing.COUNTS:
        assert day >= when.earliest
        assert day >= when.latest or day >= reported
    if day >= when.latest:  # its period is over: it had certainly happened
        assert fact.standing(day) is Standing.COUNTS


@settings(max_examples=300, derandomize=True)
@given(announced=partial_dates, happened=days, reported=days, day=days)
def test_a_plan_counts_only_from_the_day_its_status_changed(announced, happened, reported, day):
    since = max(happened, announced.latest)
    trip = make(Kind.VISIT, announced, reported, status=Status.OCCURRED, statuses=(
        StatusSpan(Status.PLANNED, None, announced),
        StatusSpan(Status.OCCURRED, since, PartialDate.parse(since.isoformat()))))
    standing = trip.standing(day)
    if day < since:
        assert standing in (Standing.EXPECTED, None)
    else:
        assert standing is Standing.COUNTS


weighted = st.sampled_from([kind for kind in Kind if KINDS[kind].weight])
facts = st.lists(st.tuples(weighted, partial_dates, st.sampled_from(list(Certainty))),
                 max_size=12)


def score_of(entries: list[tuple[Kind, PartialDate, Certainty]]) -> float:
    built = [make(kind, when, date(2020, 1, 1), ident=f"d{i}", certainty=certainty)
             for i, (kind, when, certainty) in enumerate(entries)]
    linked = [Linked(f, a, b) for f in built for a, b in links(f, {})]
    found = fold(linked).get(("china", "russia"))
    return 0.0 if found is None else found.score


@settings(max_examples=300, derandomize=True)
@given(entries=facts, added=st.tuples(weighted, partial_dates, st.sampled_from(list(Certainty))))
def test_a_positive_development_never_lowers_the_score_nor_a_negative_one_raises_it(
        entries, added):
    before, after = score_of(entries), score_of([*entries, added])
    if KINDS[added[0]].weight > 0:
        assert after >= before
    else:
        assert after <= before
    assert -10 <= after <= 10


def test_a_later_report_day_never_makes_a_development_count_earlier():
    april = PartialDate.parse("2024-04")
    first = min(d for d in (date(2024, 4, 1) + timedelta(n) for n in range(40))
                if make(Kind.VISIT, april, date(2024, 4, 7)).standing(d) is Standing.COUNTS)
    later = min(d for d in (date(2024, 4, 1) + timedelta(n) for n in range(40))
                if make(Kind.VISIT, april, date(2024, 4, 20)).standing(d) is Standing.COUNTS)
    assert (first, later) == (date(2024, 4, 7), date(2024, 4, 20))


@settings(max_examples=500, derandomize=True)
@given(when=partial_dates, reported=st.none() | days, status=st.sampled_from(list(Status)),
       retracted=st.booleans(), since=st.none() | days, spelled=st.booleans())
def test_the_changes_of_a_development_with_one_status_are_those_of_each_day(
        when, reported, status, retracted, since, spelled):
    # Fact.changes works out the days of a development with one status span at once: the same
    # days and standings as asking for its standing on each day it may change. The span is
    # either left implicit (as most stored facts leave it) or spelled out, with a first day.
    spans = (StatusSpan(status, since, when),) if spelled else ()
    fact = replace(make(Kind.VISIT, when, date(2020, 1, 1), status=status, statuses=spans),
                   reported=reported, retracted=retracted)
    assert fact.changes() == fact.changes_day_by_day()


def test_a_stored_fact_contributes_and_ties_as_its_kind_and_certainty_say():
    # Fact.from_stored sets its contribution and tie from the stored text of its kind and
    # certainty; a fact built otherwise works them out from the vocabulary.
    for kind in Kind:
        for certainty in Certainty:
            built = make(kind, PartialDate.parse("2024-04"), date(2024, 4, 7),
                         certainty=certainty)
            read = Fact.from_stored(built.id, 1, kind.value, built.status.value,
                                    certainty.value, False, "", built.stored())
            assert read == built
            assert (read.contribution, read.tie) == (
                KINDS[kind].weight * CERTAINTY_FACTORS[certainty], KINDS[kind].tie)
            assert (built.contribution, built.tie) == (read.contribution, read.tie)
