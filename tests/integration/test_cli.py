"""The command line as a user runs it: help everywhere, clean errors, readable output."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.conftest import SEEDS
from timeline.cli import main


@pytest.mark.parametrize(
    "command",
    [[], ["seed"], ["serve"], ["developments"], ["actors"], ["relationships"], ["replay"],
     ["project"], ["verify"], ["export"], ["import"], ["token"], ["token", "create"],
     ["token", "list"], ["token", "revoke"], ["migrate"], ["worker"], ["synth"],
     ["key"], ["key", "create"], ["checkpoint"]],
)
def test_every_command_has_help(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_seed_twice_leaves_the_event_count_unchanged(run):
    first = run("seed", str(SEEDS))
    assert first.exit_code == 0, first.output
    second = run("seed", str(SEEDS))
    assert second.exit_code == 0, second.output
    count = first.output.strip().splitlines()[-1]
    assert count == second.output.strip().splitlines()[-1]
    assert "0 developments recorded" in second.output


def test_developments_of_china_in_date_order_with_sources(run):
    run("seed", str(SEEDS))
    result = run("developments", "--actor", "china", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found, "China has developments in the seed data"
    china_and_its_own = {"china", "xi-jinping", "wang-yi", "hong-kong", "chinese-companies"}
    assert all(any(p["actor"] in china_and_its_own for p in d["actors"]) for d in found)
    assert any(p["actor"] == "wang-yi" for d in found for p in d["actors"])
    starts = [d["date"]["value"] for d in found]
    assert starts == sorted(starts, key=lambda v: (v + "-01-01")[:10])
    text = run("developments", "--actor", "china").output
    assert "source: " in text and "rifle scopes" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["developments", "--actor", "atlantis"], "no actor 'atlantis'"),
        (["developments", "--from", "2024-13-01"], "not a date"),
        (["developments", "--known-at", "2024-01-01T00:00:00"], "no time zone"),
        (["seed", "nowhere"], "no such seed file"),
    ],
)
def test_errors_are_one_clear_line(run, args, message):
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("postgresql://127.0.0.1:1/test", "cannot reach the PostgreSQL store"),
        ("postgresql://127.0.0.1/test?schema=no-dashes", "schema 'no-dashes'"),
        ("postgresql://127.0.0.1/test?colour=blue", "unknown PostgreSQL store options colour"),
        ("postgresql://127.0.0.1/test?parallel_query=maybe", "parallel_query='maybe': give off or on"),
        ("mysql://localhost/x", "is not a store URL"),
        ("sqlite:///no/such/dir/t.db", "does not exist"),
    ],
)
def test_an_unusable_store_is_a_clear_error(store, message):
    result = CliRunner().invoke(main, ["--store", store, "actors"])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_relationships_and_replay_print_sourced_answers_and_survive_a_rebuild(run):
    run("seed", str(SEEDS))
    state = run("relationships", "--as-of", "2023-12-31")
    assert state.exit_code == 0, state.output
    assert "china – russia: partnership" in state.output
    assert "russia – ukraine: war" in state.output
    assert "source: " in state.output
    steps = run("replay", "--until", "2024-04-30", "--pair", "china,russia")
    assert steps.exit_code == 0, steps.output
    assert "opens material_supply china→russia" in steps.output
    assert "stance neutral → partnership" in steps.output
    rebuilt = run("project", "--rebuild")
    assert rebuilt.exit_code == 0 and "Rebuilt the read model" in rebuilt.output
    assert run("relationships", "--as-of", "2023-12-31").output == state.output
    assert run("replay", "--until", "2024-04-30", "--pair", "china,russia").output == steps.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "--until", "2024-04-30", "--pair", "china"], "two actor ids"),
        (["replay", "--until", "2024-04-30", "--pair", "china,atlantis"], "no actor 'atlantis'"),
        (["relationships", "--as-of", "yesterday"], "not a date"),
        (["relationships", "--stance", "friendly"], "friendly"),
    ],
)
def test_relationship_errors_are_one_clear_line(run, args, message):
    run("seed", str(SEEDS))
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
