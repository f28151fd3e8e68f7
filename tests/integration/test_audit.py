"""The auditor's guarantees, attacked as someone with the store's file would attack them."""

from __future__ import annotations

import io
import sqlite3
from uuid import UUID

import pytest
from click.testing import CliRunner

from api import create_app
from tests.conftest import SEEDS, STORES, fresh_store
from timeline.application import Timeline
from timeline.audit import GENESIS, Head, LogFileError, LoggedEvent, chain_hash
from timeline.cli import main
from timeline.seeding import seed
from timeline.vocabulary import ActorKind


class Raw:
    """The store's tables as an attacker with direct access sees them, on either store."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgresql")
        self.events = "timeline_events" if self.postgres else "stored_events"
        self.position = "notification_id" if self.postgres else "rowid"

    def connect(self):
        if self.postgres:
            import psycopg

            base, _, query = self.url.partition("?schema=")
            connection = psycopg.connect(base, autocommit=True)
            connection.execute(f'SET search_path TO "{query}"')
            return connection
        return sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)

    def sql(self, statement: str) -> str:
        statement = statement.format(events=self.events, position=self.position)
        return statement.replace("?", "%s") if self.postgres else statement

    def run(self, statement: str, params=()):
        with self.connect() as db:
            return db.execute(self.sql(statement), params).fetchall()

    def attack(self, *statements: str, params=()):
        """Run SQL after switching the append-only triggers off, as an operator could."""
        with self.connect() as db:
            if self.postgres:
                for table in (self.events, "event_hashes", "event_heads", "event_tree_rows"):
                    db.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            else:
                for (name,) in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                ).fetchall():
                    db.execute(f"DROP TRIGGER {name}")
            for statement in statements:
                db.execute(self.sql(statement), params)


@pytest.fixture
def store(durable_store):
    """A seeded store that outlives its processes, of each kind."""
    app = Timeline(durable_store)
    seed(app, SEEDS)
    app.close()
    return durable_store


def verify(url, kept=None):
    app = Timeline(url)
    try:
        return app.audit.verify(kept)
    finally:
        app.close()


def head(url):
    app = Timeline(url)
    try:
        found = app.audit.head()
        return Head(found["position"], found["hash"])
    finally:
        app.close()


def test_an_intact_store_verifies_and_its_head_is_the_last_hash(store):
    url = store
    result = verify(url)
    assert result.ok and result.first_bad_position is None
    assert result.checked == result.head["position"] == head(url).position
    assert verify(url, head(url)).ok
    assert verify(url, Head(0, GENESIS)).ok


def test_the_store_refuses_update_and_delete_naming_the_rule(store):
    raw = Raw(store)
    statements = ["UPDATE {events} SET topic = 'x' WHERE {position} = 1",
                  "DELETE FROM {events} WHERE {position} = 1",
                  "UPDATE event_hashes SET hash = 'x' WHERE position = 1",
                  "DELETE FROM event_hashes",
                  "UPDATE event_tree_rows SET leaf = 1000 WHERE leaf = 0",
                  "DELETE FROM event_tree_rows"]
    if raw.postgres:
        statements += ["TRUNCATE event_hashes", "TRUNCATE event_tree_rows"]
    for statement in statements:
        with pytest.raises(Exception, match="append-only") as error:
            raw.run(statement)
        assert "immutable log rule" in str(error.value)


def test_one_flipped_byte_is_found_at_its_position(store):
    url, raw = store, Raw(store)
    state = bytearray(raw.run("SELECT state FROM {events} WHERE {position} = 7")[0][0])
    state[30] ^= 0x01
    raw.attack("UPDATE {events} SET state = ? WHERE {position} = 7", params=(bytes(state),))
    result = verify(url)
    assert not result.ok and result.first_bad_position == 7
    assert "altered" in result.reason and result.checked == 6


def test_a_deleted_row_is_found(store):
    url = store
    Raw(store).attack("DELETE FROM {events} WHERE {position} = 12")
    result = verify(url)
    assert not result.ok and result.first_bad_position == 13
    assert "removed" in result.reason


def test_swapped_payloads_are_found(store):
    url, raw = store, Raw(store)
    (twenty,), (thirty,) = raw.run(
        "SELECT state FROM {events} WHERE {position} IN (20, 30) ORDER BY {position}")
    raw.attack("UPDATE {events} SET state = ? WHERE {position} = 20", params=(thirty,))
    raw.attack("UPDATE {events} SET state = ? WHERE {position} = 30", params=(twenty,))
    result = verify(url)
    assert not result.ok and result.first_bad_position == 20  # the first of the two


def test_a_rewritten_history_with_a_recomputed_chain_is_found_against_a_kept_head(store):
    url, raw = store, Raw(store)
    kept = head(url)
    # The attacker replaces the last event with a forged one and recomputes its hash, so
    # that the chain on its own verifies again.
    [(position, originator, version, topic, state)] = raw.run(
        "SELECT {position}, originator_id, originator_version, topic, state FROM {events}"
        " ORDER BY {position} DESC LIMIT 1")
    [(previous,)] = raw.run("SELECT previous_hash FROM event_hashes WHERE position = ?",
                            (position,))
    state = bytes(state)
    forged_state = state.replace(b'"seed"', b'"forger"')
    assert forged_state != state

    forged = LoggedEvent(position, str(UUID(str(originator))), version, topic, forged_state)
    raw.attack("UPDATE {events} SET state = ? WHERE {position} = ?",
               params=(forged_state, position))
    raw.attack("UPDATE event_hashes SET hash = ? WHERE position = ?",
               params=(chain_hash(previous, forged), position))
    tree_says = verify(url)  # the Merkle tree, grown when the event was, still has the old one
    assert not tree_says.ok and "Merkle tree" in tree_says.reason
    raw.attack("DELETE FROM event_tree_rows")  # so the attacker has it rebuilt when next opened
    assert verify(url).ok, "the chain alone cannot tell"
    result = verify(url, kept)
    assert not result.ok and result.first_bad_position == kept.position
    assert "kept head" in result.reason


def test_a_truncated_log_is_found_against_a_kept_head(store):
    url = store
    kept = head(url)
    Raw(store).attack(f"DELETE FROM {{events}} WHERE {{position}} = {kept.position}",
                      f"DELETE FROM event_hashes WHERE position = {kept.position}")
    alone = verify(url)  # the chain alone cannot tell; the head the service issued can
    assert not alone.ok and alone.first_bad_position == kept.position
    assert "removed from its end" in alone.reason
    result = verify(url, kept)
    assert not result.ok and "removed" in result.reason


@pytest.mark.parametrize("target_kind", STORES)
@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_export_then_import_gives_the_identical_log(store, tmp_path, fmt, target_kind):
    source = Timeline(store)
    out = io.StringIO()
    assert source.audit.export(out, fmt) == source.audit.count()
    with fresh_store(target_kind, tmp_path) as copy:
        target = Timeline(copy)
        check_the_copy(source, target, out, fmt)


def check_the_copy(source, target, out, fmt):
    assert target.audit.import_log(io.StringIO(out.getvalue()), fmt) == source.audit.count()
    assert target.audit.events(limit=1000) == source.audit.events(limit=1000)
    assert target.audit.head() == source.audit.head()
    assert target.audit.verify().ok
    assert target.list_relationships() == source.list_relationships()
    with pytest.raises(LogFileError, match="already holds events"):
        target.audit.import_log(io.StringIO(out.getvalue()), fmt)
    target.register_actor("nato", "NATO", ActorKind.BLOC)  # new events follow the imported
    assert target.audit.verify().ok and target.audit.count() == source.audit.count() + 1
    source.close()
    target.close()


def test_import_refuses_a_file_whose_chain_does_not_verify(store, tmp_path):
    source = Timeline(store)
    out = io.StringIO()
    source.audit.export(out)
    lines = out.getvalue().splitlines(keepends=True)
    lines[4] = lines[4].replace('\\"seed\\"', '\\"forger\\"')
    with fresh_store("sqlite", tmp_path) as copy:
        target = Timeline(copy)
        with pytest.raises(LogFileError, match="position 5"):
            target.audit.import_log(io.StringIO("".join(lines)))
        assert target.audit.count() == 0
        target.close()
    source.close()


def test_the_cli_and_the_api_agree(store):
    url = store
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

    Raw(store).attack("UPDATE {events} SET topic = 'x' WHERE {position} = 9")
    broken = runner.invoke(main, ["--store", url, "verify"])
    assert broken.exit_code == 1 and "position 9" in broken.output
    response = client.get("/api/v1/audit/verify")
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    report = response.get_json()
    assert "position 9" in report["detail"] and report["errors"] == {"first_bad_position": ["9"]}
    position, digest = kept.split(":")
    with_head = client.get(f"/api/v1/audit/verify?position={position}&hash={digest}")
    assert with_head.status_code == 409
    assert client.get("/api/v1/audit/verify?position=3").status_code == 422
