"""The three time axes on the command line: the same answers as over HTTP, bare dates alike."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SEEDS
from timeline.domain import development_id

LAVROV_TRIP = str(development_id("2024-04-lavrov-visits-beijing"))
PUTIN_VISIT = str(development_id("2024-05-putin-visits-china"))


@pytest.fixture
def seeded(run):
    """The command line on the seeded store: its output, once it succeeded."""

    def invoke(*args: str) -> str:
        result = run(*args)
        assert result.exit_code == 0, result.output
        return result.output

    invoke("seed", str(SEEDS))
    return invoke


def china_russia(run, *options: str) -> dict:
    found = json.loads(run("relationships", "--actor", "china", "--json", *options))
    return next(r for r in found if r["pair"] == ["china", "russia"])


def test_the_axes_on_the_command_line(seeded):
    run = seeded
    on_7 = china_russia(run, "--as-of", "2024-04-07")
    assert "rifle scopes" in " ".join(d["summary"] for d in on_7["developments"])
    assert {LAVROV_TRIP, PUTIN_VISIT} <= {d["id"] for d in on_7["expected"]}
    assert LAVROV_TRIP in {d["id"] for d in china_russia(run, "--as-of", "2024-04-10")
                           ["developments"]}
    assert PUTIN_VISIT in {d["id"] for d in china_russia(run, "--as-of", "2024-05-20")
                           ["developments"]}
    known = china_russia(run, "--reported-by", "2023-06-01")
    assert "partnership" in {tie["kind"] for tie in known["ties"]}
    assert "rifle scopes" not in " ".join(d["summary"] for d in known["developments"])
    assert LAVROV_TRIP in {d["id"] for d in china_russia(run, "--reported-by", "2024-04-07")
                           ["expected"]}
    # A bare date for record time means the whole day, as over HTTP: nothing was recorded then.
    assert json.loads(run("developments", "--known-at", "2024-04-07", "--json")) == []
    listed = json.loads(run("developments", "--as-of", "2024-04-07", "--json"))
    assert {d["id"]: d["standing"] for d in listed}[LAVROV_TRIP] == "expected"
    text = run("relationships", "--actor", "china", "--as-of", "2024-04-06")
    assert "possible, not yet certain" in text


def test_replay_by_reported_walks_the_reports_in_order(seeded):
    run = seeded
    steps = json.loads(run("replay", "--until", "2024-04-30", "--pair", "china,russia",
                           "--by", "reported", "--json"))
    assert [s["date"] for s in steps] == sorted(s["date"] for s in steps)
    assert [s["standing"] for s in steps if s["date"] == "2024-04-09"] == [
        {"from": "expected", "to": "counts"}, {"from": "counts", "to": "counts"}]
    text = run("replay", "--until", "2024-04-30", "--pair", "china,russia", "--by", "reported")
    assert "reported (version 2, expected → counts)" in text


def test_a_day_on_the_command_line_is_a_day_not_an_iso_week(run):
    for args in (("developments", "--as-of", "2024-W19"), ("developments", "--to", "2024-W19"),
                 ("relationships", "--reported-by", "2024W19"),
                 ("replay", "--until", "2024-W19")):
        result = run(*args)
        assert result.exit_code == 2, result.output
        assert "is an ISO week, not a day: give a day (YYYY-MM-DD), such as its Monday" \
            " 2024-05-06 or its Sunday 2024-05-12" in result.output, args
    assert "is not a date in the form YYYY-MM-DD" in run("developments", "--as-of", "May").output
