"""Seed files: valid, complete, idempotent, and edits recorded as corrections."""

from __future__ import annotations

import shutil
import tomllib

import pytest

from tests.conftest import SEEDS
from timeline.application import Timeline
from timeline.domain import development_id
from timeline.seeding import SeedError, load, seed


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
