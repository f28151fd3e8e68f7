"""The auditor's guarantees, attacked as someone with the store's file would attack them."""

from __future__ import annotations

import io
import sqlite3
from uuid import UUID

import pytest
from click.testing import CliRunner

from api import create_app
from tests.conftest import SEEDS
from timeline.application import Timeline
from timeline.audit import GENESIS, Head, LogFileError, LoggedEvent, chain_hash
from timeline.cli import main
from timeline.seeding import seed


@pytest.fixture
def store(tmp_path):
    """A seeded file store; yields its URL and its path."""
    path = tmp_path / "timeline.db"
    app = Timeline(f"sqlite:///{path}")
    seed(app, SEEDS)
    app.close()
    return f"sqlite:///{path}", path


def attack(path, *statements, params=()):
    """Run SQL on the file directly, first dropping the immutability triggers."""
    with sqlite3.connect(path) as db:
        for name, in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            db.execute(statement, params)


def verify(url, kept=None):
    app = Timeline(url)
    try:
        return app.verify(kept)
    finally:
        app.close()


def head(url):
    app = Timeline(url)
    try:
        found = app.head()
        return Head(found["position"], found["hash"])
    finally:
        app.close()


def test_an_intact_store_verifies_and_its_head_is_the_last_hash(store):
    url, _ = store
    result = verify(url)
    assert result.ok and result.first_bad_position is None
    assert result.checked == result.head["position"] == head(url).position
    assert verify(url, head(url)).ok
    assert verify(url, Head(0, GENESIS)).ok


def test_the_store_refuses_update_and_delete_naming_the_rule(store):
    _, path = store
    with sqlite3.connect(path) as db:
        for statement in ("UPDATE stored_events SET topic = 'x' WHERE rowid = 1",
                          "DELETE FROM stored_events WHERE rowid = 1",
                          "UPDATE event_hashes SET hash = 'x' WHERE position = 1",
                          "DELETE FROM event_hashes"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(statement)


def test_one_flipped_byte_is_found_at_its_position(store):
    url, path = store
    with sqlite3.connect(path) as db:
        state = bytearray(db.execute("SELECT state FROM stored_events WHERE rowid = 7").fetchone()[0])
    state[30] ^= 0x01
    attack(path, "UPDATE stored_events SET state = ? WHERE rowid = 7", params=(bytes(state),))
    result = verify(url)
    assert not result.ok and result.first_bad_position == 7
    assert "altered" in result.reason and result.checked == 6


def test_a_deleted_row_is_found(store):
    url, path = store
    attack(path, "DELETE FROM stored_events WHERE rowid = 12")
    result = verify(url)
    assert not result.ok and result.first_bad_position == 13
    assert "removed" in result.reason


def test_swapped_payloads_are_found(store):
    url, path = store
    attack(
        path,
        "UPDATE stored_events SET state = (SELECT state FROM stored_events WHERE rowid = 20)"
        " WHERE rowid = 30",
    )
    result = verify(url)
    assert not result.ok and result.first_bad_position == 30


def test_a_rewritten_history_with_a_recomputed_chain_is_found_against_a_kept_head(store):
    url, path = store
    kept = head(url)
    # The attacker replaces the last event with a forged one and recomputes its hash, so
    # that the chain on its own verifies again.
    with sqlite3.connect(path) as db:
        position, originator, version, topic, state = db.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events"
            " ORDER BY rowid DESC LIMIT 1").fetchone()
        previous = db.execute("SELECT previous_hash FROM event_hashes WHERE position = ?",
                              (position,)).fetchone()[0]
    forged_state = state.replace(b'"seed"', b'"forger"')
    assert forged_state != state

    forged = LoggedEvent(position, str(UUID(originator)), version, topic, forged_state)
    attack(path, "UPDATE stored_events SET state = ? WHERE rowid = ?",
           params=(forged_state, position))
    attack(path, "UPDATE event_hashes SET hash = ? WHERE position = ?",
           params=(chain_hash(previous, forged), position))
    assert verify(url).ok, "the chain alone cannot tell"
    result = verify(url, kept)
    assert not result.ok and result.first_bad_position == kept.position
    assert "kept head" in result.reason


def test_a_truncated_log_is_found_against_a_kept_head(store):
    url, path = store
    kept = head(url)
    attack(path, f"DELETE FROM stored_events WHERE rowid = {kept.position}",
           f"DELETE FROM event_hashes WHERE position = {kept.position}")
    assert verify(url).ok
    result = verify(url, kept)
    assert not result.ok and "removed" in result.reason


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_export_then_import_gives_the_identical_log(store, tmp_path, fmt):
    url, _ = store
    source = Timeline(url)
    out = io.StringIO()
    assert source.export(out, fmt) == source.event_count()
    target = Timeline(f"sqlite:///{tmp_path / 'copy.db'}")
    assert target.import_log(io.StringIO(out.getvalue()), fmt) == source.event_count()
    assert target.log(limit=1000) == source.log(limit=1000)
    assert target.head() == source.head()
    assert target.verify().ok
    assert target.relationships() == source.relationships()
    with pytest.raises(LogFileError, match="already holds events"):
        target.import_log(io.StringIO(out.getvalue()), fmt)
    source.close()
    target.close()


def test_import_refuses_a_file_whose_chain_does_not_verify(store, tmp_path):
    url, _ = store
    source = Timeline(url)
    out = io.StringIO()
    source.export(out)
    lines = out.getvalue().splitlines(keepends=True)
    lines[4] = lines[4].replace('\\"seed\\"', '\\"forger\\"')
    target = Timeline(f"sqlite:///{tmp_path / 'copy.db'}")
    with pytest.raises(LogFileError, match="position 5"):
        target.import_log(io.StringIO("".join(lines)))
    assert target.event_count() == 0
    source.close()
    target.close()


def test_the_cli_and_the_api_agree(store):
    url, path = store
    runner = CliRunner()
    intact = runner.invoke(main, ["--store", url, "verify"])
    assert intact.exit_code == 0 and "Intact" in intact.output
    kept = intact.output.split("Head: ")[1].strip()
    assert runner.invoke(main, ["--store", url, "verify", "--head", kept]).exit_code == 0
    bad_head = runner.invoke(main, ["--store", url, "verify", "--head", "3:abc"])
    assert bad_head.exit_code == 2 and "POSITION:HASH" in bad_head.output
    client = create_app({"STORE": url}).test_client()
    api_head = client.get("/api/v1/audit/head").get_json()
    assert f"{api_head['position']}:{api_head['hash']}" == kept
    events = client.get("/api/v1/events?limit=2").get_json()["events"]
    assert events[0]["previous_hash"] == GENESIS
    assert events[1]["previous_hash"] == events[0]["hash"]

    attack(path, "UPDATE stored_events SET topic = 'x' WHERE rowid = 9")
    broken = runner.invoke(main, ["--store", url, "verify"])
    assert broken.exit_code == 1 and "position 9" in broken.output
    report = client.get("/api/v1/audit/verify").get_json()
    assert report["ok"] is False and report["first_bad_position"] == 9
    position, digest = kept.split(":")
    with_head = client.get(f"/api/v1/audit/verify?position={position}&hash={digest}")
    assert with_head.get_json()["ok"] is False
    assert client.get("/api/v1/audit/verify?position=3").status_code == 422
