"""The domain's rules, with no store: dates, content invariants and the lifecycle."""

from __future__ import annotations

from datetime import date

import pytest
from eventsourcing.persistence import JSONTranscoder

from tests.conftest import content, source
from timeline.domain import (
    Development,
    InvalidInput,
    InvalidTransition,
    PartialDate,
    Participation,
    Provenance,
    Retracted,
    dataset_of,
    development_id,
)
from timeline.store import register_transcodings
from timeline.vocabulary import KINDS, STATUS_TRANSITIONS, Dataset, Kind, Role, Status


def new_development(status: Status = Status.OCCURRED, **changes) -> Development:
    return Development(
        id=development_id("test"), content=content(**changes), status=status, key="test",
        recorded_by="test",
    )


class TestPartialDate:
    @pytest.mark.parametrize(
        ("text", "precision", "earliest", "latest"),
        [
            ("2022", "year", date(2022, 1, 1), date(2022, 12, 31)),
            ("2024-02", "month", date(2024, 2, 1), date(2024, 2, 29)),
            ("2023-10-16", "day", date(2023, 10, 16), date(2023, 10, 16)),
        ],
    )
    def test_precision_and_period(self, text, precision, earliest, latest):
        parsed = PartialDate.parse(text)
        assert (parsed.precision, parsed.earliest, parsed.latest) == (precision, earliest, latest)
        assert str(parsed) == text

    @pytest.mark.parametrize(
        "text", ["2023-02-30", "2023-13", "2023-00", "24", "2024-5", "2024/05", "May 2024", ""]
    )
    def test_malformed_or_impossible_dates_are_refused(self, text):
        with pytest.raises(InvalidInput) as error:
            PartialDate.parse(text)
        assert error.value.field == "date"

    def test_approximate_and_derivation_are_kept(self):
        parsed = PartialDate.parse("2022", approximate=True, derivation="'two years ago'")
        assert parsed.approximate and parsed.derivation == "'two years ago'"


class TestWeekDate:
    @pytest.mark.parametrize(
        ("text", "earliest", "latest"),
        [
            ("2024-W19", date(2024, 5, 6), date(2024, 5, 12)),
            ("2020-W53", date(2020, 12, 28), date(2021, 1, 3)),  # 2020 has 53 ISO weeks
            ("2025-W01", date(2024, 12, 30), date(2025, 1, 5)),  # begins in 2024
            ("2026-W01", date(2025, 12, 29), date(2026, 1, 4)),
            ("0001-W01", date(1, 1, 1), date(1, 1, 7)),
        ],
    )
    def test_a_week_runs_from_its_monday_to_its_sunday(self, text, earliest, latest):
        parsed = PartialDate.parse(text)
        assert (parsed.precision, parsed.earliest, parsed.latest) == ("week", earliest, latest)
        assert (parsed.earliest.isoweekday(), parsed.latest.isoweekday()) == (1, 7)
        assert str(parsed) == text
        assert (parsed.month, parsed.day) == (None, None)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("2021-W53", "2021 has no week 53: its ISO weeks are W01 to W52"),
            ("2024-W00", "2024 has no week 00"),
            ("2020-W54", "2020 has no week 54: its ISO weeks are W01 to W53"),
            ("9999-W52", "9999-W52 runs past the year 9999"),
            ("2024-W5", "is not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-Www"),
            ("2024-w19", "is not a date"),
            ("2024W19", "is not a date"),
            ("2024-W19-1", "is not a date"),
            ("2024-05-W19", "is not a date"),
        ],
    )
    def test_weeks_the_iso_year_does_not_have_are_refused(self, text, message):
        with pytest.raises(InvalidInput, match=message) as error:
            PartialDate.parse(text)
        assert error.value.field == "date"

    def test_a_week_date_has_no_month_or_day(self):
        with pytest.raises(InvalidInput, match="a week date has no month or day") as error:
            PartialDate(2024, 5, week=19)
        assert error.value.field == "date"

    def test_the_week_of_a_day_is_its_iso_week_across_the_year_boundary(self):
        assert PartialDate.week_of(date(2024, 12, 30)) == PartialDate.parse("2025-W01")
        assert PartialDate.week_of(date(2021, 1, 3)) == PartialDate.parse("2020-W53")
        assert PartialDate.week_of(date(2024, 5, 8)) == PartialDate.parse("2024-W19")
        loose = PartialDate.week_of(date(2024, 5, 8), approximate=True, derivation="from a day")
        assert (loose.approximate, loose.derivation) == (True, "from a day")

    def test_a_week_is_not_the_day_or_month_it_falls_in(self):
        week = PartialDate.parse("2024-W19")
        assert week != PartialDate.parse("2024-05-06") and week != PartialDate.parse("2024-05")
        assert week == PartialDate(2024, week=19) and hash(week) == hash(PartialDate(2024, week=19))

    def test_other_dates_are_built_as_before_weeks(self):
        # Positional construction and the stored value of the other precisions are unchanged.
        assert PartialDate(2024, 5, 16, True, "d") == PartialDate.parse(
            "2024-05-16", approximate=True, derivation="d")
        assert PartialDate.parse("2024-05-16").week is None


def test_dates_are_stored_as_before_and_a_week_as_its_text():
    transcoder = JSONTranscoder()
    register_transcodings(transcoder)
    day = PartialDate.parse("2024-05-16", approximate=True, derivation="d")
    # The bytes events recorded before week dates hold: the chain hashes them.
    assert transcoder.encode({"date": day}) == (
        b'{"date":{"_type_":"partial_date","_data_":'
        b'{"value":"2024-05-16","approximate":true,"derivation":"d"}}}')
    week = PartialDate.parse("2024-W19", approximate=True)
    assert transcoder.encode({"date": week}) == (
        b'{"date":{"_type_":"partial_date","_data_":'
        b'{"value":"2024-W19","approximate":true,"derivation":null}}}')
    for each in (day, week):
        assert transcoder.decode(transcoder.encode({"date": each})) == {"date": each}


class TestContent:
    def test_needs_a_source(self):
        with pytest.raises(InvalidInput, match="source") as error:
            content(sources=())
        assert error.value.field == "sources"

    def test_needs_an_actor(self):
        with pytest.raises(InvalidInput) as error:
            content(actors=())
        assert error.value.field == "actors"

    def test_an_actor_is_not_listed_twice_in_one_role(self):
        twice = (Participation("china", Role.SOURCE), Participation("china", Role.SOURCE))
        with pytest.raises(InvalidInput, match="twice"):
            content(actors=twice)

    def test_needs_a_summary(self):
        with pytest.raises(InvalidInput) as error:
            content(summary="  ")
        assert error.value.field == "summary"


class TestDevelopmentLifecycle:
    def test_a_planned_development_needs_its_planned_date(self):
        with pytest.raises(InvalidInput) as error:
            new_development(Status.PLANNED)
        assert error.value.field == "planned_for"

    def test_a_correction_is_a_new_event_keeping_the_old_version(self):
        development = new_development()
        development.correct({"date": PartialDate.parse("2024-03")}, "better date", source(), "t")
        recorded, corrected = development.pending_events
        assert str(recorded.content.date) == "2024-04"
        assert corrected.changes == {"date": PartialDate.parse("2024-03")}
        assert str(development.content.date) == "2024-03"
        assert development.version == 2

    def test_a_correction_keeps_only_what_changes_and_adds_its_source(self):
        development = new_development()
        other = source("A later report.")
        development.correct(
            {"date": development.content.date, "place": "Beijing"}, "place", other, "t"
        )
        assert development.pending_events[-1].changes == {"place": "Beijing"}
        assert development.content.sources[-1] == other

    def test_an_empty_correction_is_refused(self):
        development = new_development()
        with pytest.raises(InvalidInput, match="changes nothing"):
            development.correct({"summary": development.content.summary}, "no-op", source(), "t")
        assert len(development.pending_events) == 1

    def test_a_correction_cannot_break_the_content(self):
        with pytest.raises(InvalidInput) as error:
            new_development().correct({"sources": ()}, "drop sources", source(), "t")
        assert error.value.field == "sources"

    def test_unknown_fields_cannot_be_corrected(self):
        with pytest.raises(InvalidInput, match="status"):
            new_development().correct({"status": Status.PLANNED}, "sneaky", source(), "t")

    def test_planned_then_occurred_takes_the_planned_date(self):
        development = new_development(Status.PLANNED, planned_for=PartialDate.parse("2024-05"))
        development.change_status(Status.OCCURRED, "it happened", None, "t")
        assert development.status is Status.OCCURRED
        assert str(development.content.date) == "2024-05"

    def test_occurred_cannot_become_planned(self):
        development = new_development()
        with pytest.raises(InvalidTransition) as error:
            development.change_status(Status.PLANNED, "undo", None, "t")
        assert error.value.field == "status"

    def test_a_retracted_development_cannot_change(self):
        development = new_development()
        development.retract("the report was wrong", "t")
        with pytest.raises(Retracted):
            development.correct({"place": "Moscow"}, "x", source(), "t")
        with pytest.raises(Retracted):
            development.change_status(Status.CANCELLED, "x", None, "t")
        with pytest.raises(Retracted):
            development.retract("again", "t")

    def test_every_status_has_its_transitions(self):
        assert set(STATUS_TRANSITIONS) == set(Status)
        assert Status.PLANNED not in STATUS_TRANSITIONS[Status.OCCURRED]


def test_every_kind_has_a_weight_on_the_scale():
    assert set(KINDS) == set(Kind)
    assert all(-10 <= spec.weight <= 10 for spec in KINDS.values())


def test_seeded_ids_are_deterministic():
    assert development_id("a-key") == development_id("a-key") != development_id("b-key")


class TestProvenance:
    def test_a_development_without_provenance_takes_its_dataset_from_its_key(self):
        assert dataset_of(None, None) is Dataset.MANUAL  # recorded by hand: no key
        assert dataset_of(None, "2022-russia-invades-ukraine") is Dataset.SEED
        assert dataset_of(None, "gdelt:1180000001") is Dataset.GDELT  # ingested before it
        assert dataset_of(None, "acled:UKR1") is Dataset.ACLED
        ingested = Provenance(Dataset.ACLED, "UKR1", "a.csv", 2)
        assert dataset_of(ingested, "acled:UKR1") is Dataset.ACLED

    def test_a_recorded_event_stored_before_provenance_still_applies(self):
        development = new_development()
        (recorded,) = development.collect_events()
        del recorded.__dict__["provenance"]  # as events stored before it existed decode
        again = recorded.mutate(None)
        assert again.provenance is None and again.dataset is Dataset.SEED

    def test_only_its_own_dataset_revises_an_ingested_development(self):
        gdelt = Provenance(Dataset.GDELT, "1", "a.CSV", 1)
        development = Development(id=development_id("gdelt:1"), content=content(),
                                  status=Status.OCCURRED, key="gdelt:1", recorded_by="gdelt",
                                  provenance=gdelt)
        acled = Provenance(Dataset.ACLED, "1", "b.csv", 1)
        with pytest.raises(InvalidInput, match="cannot be revised by acled"):
            development.correct({"summary": "Revised."}, "revised", source(), "acled", acled)
        later = Provenance(Dataset.GDELT, "1", "c.CSV", 7)
        development.correct({"summary": "Revised."}, "revised", source(), "gdelt", later)
        assert development.provenance == later

    def test_seed_and_manual_data_have_no_provenance(self):
        for dataset in (Dataset.SEED, Dataset.MANUAL):
            with pytest.raises(InvalidInput):
                Provenance(dataset, "x", "f", 1)
