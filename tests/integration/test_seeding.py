"""Seed files: valid, complete, idempotent, and edits recorded as corrections."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SEEDS
from tests.conftest import source as a_source
from timeline.application import Timeline
from timeline.domain import development_id
from timeline.seeding import SeedError, load, seed
from timeline.vocabulary import Status

OLDER_SEEDS = Path(__file__).resolve().parent / "older-seeds"  # as shipped before issue 13
PUTIN_VISIT = development_id("2024-05-putin-visits-china")


def test_every_seed_file_is_valid():
    actors, developments = load(SEEDS)
    assert len(actors) >= 20
    assert len(developments) >= 20
    slugs = {actor["id"] for actor in actors}
    for _, development in developments:
        assert set(development.content.actor_ids()) <= slugs


def test_seeding_twice_records_nothing_the_second_time(store):
    app = Timeline(store)
    first = seed(app, SEEDS)
    count = app.audit.count()
    second = seed(app, SEEDS)
    assert first.events == count > 0
    assert second.events == 0
    assert app.audit.count() == count


def test_the_no_limits_partnership_keeps_the_report_and_its_correction(seeded):
    found = seeded.get_development(development_id("putin-xi-no-limits-partnership"))
    recorded, corrected = found["history"]
    assert recorded["changes"]["place"] == "Moscow"
    assert recorded["changes"]["date"]["value"] == "2023"
    assert corrected["type"] == "corrected"
    assert corrected["changes"]["date"]["value"] == "2022-02-04"
    assert corrected["changes"]["place"] == "Beijing"
    assert "Joint Statement" in corrected["source"]["attribution"]
    assert (found["date"]["value"], found["place"]) == ("2022-02-04", "Beijing")


def test_every_seeded_development_names_its_sources(seeded):
    for development in seeded.list_developments():
        assert development["sources"]
        for source in development["sources"]:
            assert source["publication"] and source["attribution"] and source["passage"]


def test_an_edited_seed_entry_becomes_a_correction_not_a_new_development(tmp_path, store):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    app = Timeline(store)
    seed(app, seeds)
    before = len(app.list_developments())
    file = next(f for f in seeds.glob("*.toml") if f.name != "actors.toml")
    text = file.read_text()
    key = tomllib.loads(text)["developments"][0]["key"]
    original = tomllib.loads(text)["developments"][0]["summary"]
    file.write_text(text.replace(original, original + " (edited)", 1))

    report = seed(app, seeds)

    assert (report.count("corrected"), report.developments_recorded) == (1, 0)
    assert len(app.list_developments()) == before
    found = app.get_development(development_id(key))
    assert found["summary"] == original + " (edited)"
    assert found["history"][-1]["type"] == "corrected"
    assert found["history"][-1]["recorded_by"] == "seed"


def test_an_invalid_seed_file_is_named_in_a_clear_error(tmp_path):
    (tmp_path / "bad.toml").write_text(
        '[[developments]]\nkey = "x"\nkind = "invasion"\nsummary = "s"\n'
    )
    with pytest.raises(SeedError) as error:
        load(tmp_path)
    message = str(error.value)
    assert "bad.toml" in message and "kind" in message and "sources" in message


def test_a_missing_seed_directory_is_a_clear_error(tmp_path):
    with pytest.raises(SeedError, match="no such"):
        load(tmp_path / "nowhere")


def test_putins_planned_visit_took_place_dated_by_its_sources(seeded):
    found = seeded.get_development(PUTIN_VISIT)
    recorded, occurred, corrected = found["history"]
    assert recorded["status"] == "planned"
    assert recorded["changes"]["summary"] == (
        "The Kremlin said that Vladimir Putin plans to visit China in May."
    )
    assert occurred["type"] == "status_changed" and occurred["status"] == "occurred"
    assert occurred["date"]["value"] == "2024-05-16"
    assert "16-17 May" in occurred["date"]["derivation"]
    assert occurred["source"]["reported_on"]["value"] == "2024-05-16"
    assert corrected["type"] == "corrected"
    assert corrected["changes"]["place"] == "Beijing; Harbin"
    assert corrected["source"]["reported_on"]["value"] == "2024-05-17"
    assert "Harbin" in corrected["source"]["passage"]
    assert (found["status"], found["date"]["value"]) == ("occurred", "2024-05-16")
    assert "16-17 May 2024" in found["summary"]


def test_no_summary_of_an_occurred_visit_still_describes_the_plan(seeded):
    for key in ["2024-04-lavrov-visits-beijing", "2024-05-putin-visits-china"]:
        found = seeded.get_development(development_id(key))
        assert found["status"] == "occurred", key
        assert not any(w in found["summary"] for w in ["prepared to", "plans to"]), key
        # The first wording stays in the history.
        assert any(w in found["history"][0]["changes"]["summary"]
                   for w in ["prepared to", "plans to"]), key


def test_every_later_source_carries_the_exact_day_it_was_reported():
    # Knowledge time counts a later event from its own source's reported_on.
    _, developments = load(SEEDS)
    later = [event["source"] for _, d in developments for event in d.history]
    later += [s for _, d in developments for s in d.content.sources
              if "Telegraph" not in s.publication]
    assert len(later) >= 5
    for later_source in later:
        assert later_source.reported_on is not None, later_source
        assert later_source.reported_on.precision == "day", later_source
        assert not later_source.reported_on.approximate, later_source


def older_seeds(tmp_path: Path) -> Path:
    """The seed directory as shipped before issue 13: today's actors, the older developments."""
    directory = tmp_path / "older-seeds"
    directory.mkdir()
    shutil.copy(SEEDS / "actors.toml", directory)
    shutil.copy(OLDER_SEEDS / "telegraph-2024-04-07.toml", directory)
    return directory


def developments_by_key(app: Timeline) -> dict[str, dict[str, Any]]:
    """Each seeded development as it reads now and the versions that made it, without the
    moments they were recorded at (two loads differ in those, and in nothing else)."""
    _, developments = load(SEEDS)
    found = {}
    for _, entry in developments:
        development = app.get_development(development_id(entry.key))
        del development["recorded_at"]
        for version in development["history"]:
            del version["recorded_at"]
        found[entry.key] = development
    return found


def test_a_store_seeded_before_is_brought_up_to_date_as_a_fresh_load(tmp_path, store):
    upgraded = Timeline(store)
    seed(upgraded, older_seeds(tmp_path))
    report = seed(upgraded, SEEDS)
    fresh = Timeline("memory://")
    seed(fresh, SEEDS)

    assert (report.developments_recorded, report.actors_registered) == (0, 0)
    # Putin's visit gains its status change and correction; Lavrov's trip its correction.
    assert (report.count("status_changed"), report.count("corrected")) == (1, 2)
    assert developments_by_key(upgraded) == developments_by_key(fresh)
    visit = upgraded.get_development(PUTIN_VISIT)
    assert [v["type"] for v in visit["history"]] == ["recorded", "status_changed", "corrected"]
    assert all(v["recorded_by"] == "seed" for v in visit["history"])


def test_seeding_the_new_seeds_again_on_an_upgraded_store_records_nothing(tmp_path, store):
    app = Timeline(store)
    seed(app, older_seeds(tmp_path))
    seed(app, SEEDS)
    count = app.audit.count()
    for _ in range(2):
        assert seed(app, SEEDS).events == 0
    assert app.audit.count() == count


def test_a_history_entry_the_store_already_moved_past_is_not_applied_twice(tmp_path, store):
    app = Timeline(store)
    seed(app, older_seeds(tmp_path))
    # An analyst recorded the visit through the API before the seeds had it.
    app.change_status(PUTIN_VISIT, Status.OCCURRED, "it happened", a_source("Putin is in Beijing."))

    report = seed(app, SEEDS)

    found = developments_by_key(app)["2024-05-putin-visits-china"]
    assert [v["type"] for v in found["history"]] == [
        "recorded", "status_changed", "corrected", "corrected"
    ]
    assert found["history"][1]["reason"] == "it happened"
    # The seed's correction, then one more bringing the rest (the date it took place, the
    # sources) to the entry's final form: the seeds stay the single place for this data.
    assert (report.count("status_changed"), report.count("corrected")) == (0, 3)
    fresh = Timeline("memory://")
    seed(fresh, SEEDS)
    expected = developments_by_key(fresh)["2024-05-putin-visits-china"]
    for state in (found, expected):
        del state["history"], state["version"]
    assert found == expected
