"""The domain's rules, with no store: dates, content invariants and the lifecycle."""

from __future__ import annotations

from datetime import date

import pytest

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
