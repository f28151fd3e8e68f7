"""The hardened log, attacked as an operator with direct access to the store would attack it
(issue 14): each attack the audit guide lists, on both stores, and what catches it."""

from __future__ import annotations

import io
import json
import sys
from uuid import UUID, uuid4

import pytest
from click.testing import CliRunner

from api import create_app
from tests.conftest import SEEDS, fresh_store
from tests.integration.test_audit import Raw
from timeline.application import Timeline
from timeline.audit import GENESIS, LogEndsEarly, LogFileError, LoggedEvent, chain_hash
from timeline.cli import main
from timeline.seeding import seed
from timeline.vocabulary import ActorKind


@pytest.fixture
def store(durable_store):
    """A seeded store that outlives its processes, of each kind."""
    app = Timeline(durable_store)
    seed(app, SEEDS)
    app.close()
    return durable_store


def opened(url, **env):
    return Timeline(url, env=env or None)


def count(url):
    app = opened(url)
    try:
        return app.audit.count()
    finally:
        app.close()


def verify(url):
    app = opened(url)
    try:
        return app.audit.verify()
    finally:
        app.close()


# --- 1. tampering that went unseen -------------------------------------------------------------


SQLITE_REPLACES = [
    "INSERT OR REPLACE INTO event_hashes (position, hash, previous_hash) VALUES (1, 'x', 'y')",
    "REPLACE INTO event_hashes (position, hash, previous_hash) VALUES (1, 'x', 'y')",
    ("INSERT INTO event_hashes (position, hash, previous_hash) VALUES (1, 'x', 'y')"
    " ON CONFLICT (position) DO UPDATE SET hash = excluded.hash"),
    # The same position, by its rowid:
    ("INSERT OR REPLACE INTO stored_events (rowid, originator_id, originator_version, topic, state)"
    " SELECT rowid, originator_id, originator_version, 'forged', state FROM stored_events"
    " WHERE rowid = 1"),
    # The same stream version, at a new position:
    ("INSERT OR REPLACE INTO stored_events (originator_id, originator_version, topic, state)"
    " SELECT originator_id, originator_version, 'forged', state FROM stored_events"
    " WHERE rowid = 1"),
    "REPLACE INTO event_heads (position, hash) SELECT MAX(position), 'x' FROM event_heads",
    # A node of the Merkle tree, which proofs and checkpoints are made of:
    "INSERT OR REPLACE INTO event_tree_rows (leaf, hashes) VALUES (0, X'00')",
    "REPLACE INTO event_tree_rows (leaf, hashes) VALUES (1, X'00')",
    ("INSERT INTO event_tree_rows (leaf, hashes) VALUES (0, X'00')"
    " ON CONFLICT (leaf) DO UPDATE SET hashes = excluded.hashes"),
]
POSTGRES_UPSERTS = [
    ("INSERT INTO event_hashes (position, hash, previous_hash) VALUES (1, 'x', 'y')"
    " ON CONFLICT (position) DO UPDATE SET hash = excluded.hash"),
    ("INSERT INTO timeline_events (originator_id, originator_version, topic, state)"
    " SELECT originator_id, originator_version, 'forged', state FROM timeline_events"
    " WHERE notification_id = 1"
    " ON CONFLICT (originator_id, originator_version) DO UPDATE SET topic = excluded.topic"),
    ("INSERT INTO event_tree_rows (leaf, hashes) VALUES (0, '\\x00')"
    " ON CONFLICT (leaf) DO UPDATE SET hashes = excluded.hashes"),
]


def test_replace_and_upserts_are_refused_with_the_triggers_in_place(store):
    raw = Raw(store)
    assert verify(store).ok  # which issues a head, kept in event_heads
    before = raw.run("SELECT {position}, topic FROM {events} ORDER BY {position}")
    tree = raw.run("SELECT leaf, hashes FROM event_tree_rows ORDER BY leaf")
    for statement in POSTGRES_UPSERTS if raw.postgres else SQLITE_REPLACES:
        with pytest.raises(Exception, match="append-only"):
            raw.run(statement)
    assert raw.run("SELECT {position}, topic FROM {events} ORDER BY {position}") == before
    assert raw.run("SELECT leaf, hashes FROM event_tree_rows ORDER BY leaf") == tree
    assert verify(store).ok


def test_a_rewritten_stream_id_breaks_the_chain(store):
    raw = Raw(store)
    if raw.postgres:  # a uuid column holds one form only: the attack is another id
        raw.attack("UPDATE {events} SET originator_id = ? WHERE {position} = 10",
                   params=(uuid4(),))
    else:  # the same id in upper case, which the chain once normalised away
        raw.attack("UPDATE {events} SET originator_id = upper(originator_id)"
                   " WHERE {position} = 10")
    result = verify(store)
    assert not result.ok and result.first_bad_position == 10
    assert "altered" in result.reason


def test_a_gap_in_a_streams_versions_is_named_even_with_a_recomputed_chain(store):
    raw = Raw(store)
    [(position, originator, version, topic, state)] = raw.run(
        "SELECT {position}, originator_id, originator_version, topic, state FROM {events}"
        " ORDER BY {position} DESC LIMIT 1")
    [(previous,)] = raw.run("SELECT previous_hash FROM event_hashes WHERE position = ?",
                            (position,))
    # The attacker moves the last event one version on, and seals it again, so that the chain
    # on its own verifies: only the stream's versions give it away.
    stream = str(UUID(str(originator)))
    moved = LoggedEvent(position, stream, version + 1, topic, bytes(state))
    raw.attack("UPDATE {events} SET originator_version = ? WHERE {position} = ?",
               params=(version + 1, position))
    raw.attack("UPDATE event_hashes SET hash = ? WHERE position = ?",
               params=(chain_hash(previous, moved), position))
    result = verify(store)
    assert not result.ok and result.first_bad_position == position
    assert f"stream {stream} has version {version + 1} where version {version} belongs" in (
        result.reason
    )


def test_positions_are_never_issued_twice(durable_store):
    app = opened(durable_store)
    for slug in ("china", "russia", "ukraine"):
        app.register_actor(slug, slug.title(), ActorKind.STATE)
    app.close()
    Raw(durable_store).attack("DELETE FROM {events} WHERE {position} = 3",
                              "DELETE FROM event_hashes WHERE position = 3")
    app = opened(durable_store)
    app.register_actor("nato", "NATO", ActorKind.BLOC)
    assert [e["position"] for e in app.audit.events()] == [1, 2, 4]
    app.close()


def test_a_removed_tail_is_reported_by_healthz_and_refuses_writes(store):
    client = create_app({"STORE": store}).test_client()
    app = opened(store)
    token = app.access.create_token("auditor")
    app.close()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/relationships/china/russia").status_code == 200  # projected
    last = count(store)
    Raw(store).attack(f"DELETE FROM {{events}} WHERE {{position}} = {last}",
                      f"DELETE FROM event_hashes WHERE position = {last}")
    health = client.get("/healthz")
    assert health.status_code == 503
    body = health.get_json()
    assert body["status"] == "damaged" and body["events"] == last - 1
    assert f"ends at position {last - 1}" in body["detail"] and "read model" in body["detail"]
    refused = client.post("/api/v1/actors", json={"id": "nato", "name": "NATO", "kind": "bloc"},
                          headers=auth)
    assert refused.status_code == 503 and refused.mimetype == "application/problem+json"
    assert "removed from its end" in refused.get_json()["detail"]
    assert count(store) == last - 1


def test_a_log_that_ends_before_an_issued_head_refuses_writes(durable_store):
    app = opened(durable_store)
    for slug in ("china", "russia"):
        app.register_actor(slug, slug.title(), ActorKind.STATE)
    issued = app.audit.head()  # never projected: only the issued head knows the end
    app.close()
    Raw(durable_store).attack("DELETE FROM {events} WHERE {position} = 2",
                              "DELETE FROM event_hashes WHERE position = 2")
    app = opened(durable_store)
    assert "a head at 2 was issued" in app.audit.marks().problem()
    with pytest.raises(LogEndsEarly, match="head at 2"):
        app.register_actor("nato", "NATO", ActorKind.BLOC)
    assert app.audit.count() == 1 and issued["position"] == 2
    app.close()


def test_the_head_is_never_a_null_hash(store):
    raw = Raw(store)
    last = count(store)
    # A row added beside the recorder: no hash of its own.
    raw.attack("INSERT INTO {events} (originator_id, originator_version, topic, state)"
               " SELECT originator_id, 999, topic, state FROM {events} WHERE {position} = 1")
    client = create_app({"STORE": store}).test_client()
    head = client.get("/api/v1/audit/head").get_json()
    assert head["position"] == last and len(head["hash"]) == 64
    result = verify(store)
    assert not result.ok and result.first_bad_position > last and "no hash" in result.reason


def test_an_empty_logs_head_is_the_genesis_hash(durable_store):
    client = create_app({"STORE": durable_store}).test_client()
    assert client.get("/api/v1/audit/head").get_json() == {
        "position": 0, "hash": GENESIS, "recorded_at": None,
    }


# --- 2. damage is named, never a crash -----------------------------------------------------------


def damages(raw):
    """What an operator can write into a payload by hand, on this store."""
    found = {"NULL": None, "undecodable bytes": b"\x00\xff not a payload"}
    if not raw.postgres:  # bytea holds bytes only
        found["TEXT"] = "a text payload"
    return found


def test_a_damaged_payload_is_named_by_verify_export_and_the_api(store):
    raw = Raw(store)
    [(original,)] = raw.run("SELECT state FROM {events} WHERE {position} = 5")
    runner = CliRunner()
    client = create_app({"STORE": store}).test_client()
    for damage, payload in damages(raw).items():
        raw.attack("UPDATE {events} SET state = ? WHERE {position} = 5", params=(payload,))
        checked = runner.invoke(main, ["--store", store, "verify"])
        assert checked.exit_code == 1 and "NOT INTACT at position 5" in checked.output, damage
        assert len(checked.output.strip().splitlines()) == 1
        response = client.get("/api/v1/audit/verify")
        assert response.status_code == 409 and "position 5" in response.get_json()["detail"]
        event = client.get("/api/v1/events?after=4&limit=1")
        assert event.status_code == 409 and "position 5" in event.get_json()["detail"], damage
        exported = runner.invoke(main, ["--store", store, "export"])
        if damage == "undecodable bytes":  # bytes are exported as they are; the chain names them
            assert exported.exit_code == 0, exported.output
        else:
            assert exported.exit_code == 1 and "position 5" in exported.output, damage
            assert "Traceback" not in exported.output
        raw.attack("UPDATE {events} SET state = ? WHERE {position} = 5", params=(original,))
    assert verify(store).ok


# --- 2. import is atomic, and trusts no topic ----------------------------------------------------


def exported(url):
    app = opened(url)
    out = io.StringIO()
    app.audit.export(out)
    app.close()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def rechained(rows):
    """The file as a forger would write it: the chain recomputed over whatever they changed."""
    previous = GENESIS
    lines = []
    for row in rows:
        event = LoggedEvent(row["position"], row["stream_id"], row["stream_version"],
                            row["topic"], row["payload"].encode())
        row = {**row, "recorded_at": event.recorded_at, "previous_hash": previous,
               "hash": chain_hash(previous, event)}
        previous = row["hash"]
        lines.append(json.dumps(row) + "\n")
    return lines


def refused(url, lines, match):
    app = opened(url)
    with pytest.raises(LogFileError, match=match):
        app.audit.import_log(io.StringIO("".join(lines)))
    assert app.audit.count() == 0 and app.audit.head()["position"] == 0
    app.close()


def test_a_forged_topic_is_never_resolved_and_nothing_is_imported(store, tmp_path, monkeypatch):
    probe = "timeline_forged_topic_probe"
    (tmp_path / f"{probe}.py").write_text("class Evil:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    rows = exported(store)
    rows[-1]["topic"] = f"{probe}:Evil"  # the last event: every other one would commit first
    with fresh_store("postgres" if Raw(store).postgres else "sqlite", tmp_path) as copy:
        refused(copy, rechained(rows), f"position {rows[-1]['position']}: topic .* is not one")
        assert probe not in sys.modules
        app = opened(copy)  # the store is as it was: the genuine file imports
        assert app.audit.import_log(io.StringIO("".join(rechained(exported(store))))) == len(rows)
        app.close()


def test_a_payload_that_does_not_decode_is_refused_before_anything_commits(store, tmp_path):
    rows = exported(store)
    rows[-1]["payload"] = '{"timestamp": {"_type_": "datetime_iso", "_data_": "x"}, "bad": 1}'
    with fresh_store("postgres" if Raw(store).postgres else "sqlite", tmp_path) as copy:
        refused(copy, rechained(rows), f"position {rows[-1]['position']}: the payload does not")


def test_an_event_out_of_its_streams_order_is_refused(store, tmp_path):
    rows = exported(store)
    # A second stream's first event moved onto an existing stream: versions no longer follow.
    rows[-1]["stream_id"] = rows[0]["stream_id"]
    with fresh_store("sqlite", tmp_path) as copy:
        refused(copy, rechained(rows), f"position {rows[-1]['position']}: stream")


def test_recorded_at_is_checked_against_the_event(store, tmp_path):
    rows = exported(store)
    rows[3]["recorded_at"] = "2001-01-01T00:00:00+00:00"
    lines = [json.dumps(row) + "\n" for row in rows]  # the chain itself untouched
    with fresh_store("sqlite", tmp_path) as copy:
        refused(copy, lines, "record 4 .*recorded_at '2001-01-01T00:00:00\\+00:00' is not")
