"""The Merkle tree kept by the recorders (issue 15, section 1), on both stores: grown in each
append's transaction, proofs from stored subtrees that an independent verifier accepts, every
earlier size consistent with the latest after any appends, and the tree built for a store
recorded before it existed."""

from __future__ import annotations

import io
import threading
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import STORES, fresh_store
from tests.integration.test_audit import Raw
from tests.unit.test_merkle import grow, independently_consistent, independently_included
from timeline import merkle
from timeline.application import Timeline
from timeline.cli import main
from timeline.store import SQLITE_APPEND_ONLY, EventLog
from timeline.vocabulary import ActorKind


@pytest.fixture(params=STORES)
def tree_store_kind(request) -> str:
    """A store kind: the property test makes its own stores, one per example."""
    return request.param


def register(app: Timeline, count: int, prefix: str = "actor") -> None:
    start = app.audit.count()
    for i in range(start, start + count):
        app.register_actor(f"{prefix}-{i}", f"Actor {i}", ActorKind.STATE)


def chain_hashes(app: Timeline) -> list[bytes]:
    return [bytes.fromhex(e.hash) for e in app.recorder.iter_log()]


def test_the_stored_tree_is_the_tree_of_the_chain_hashes_and_its_proofs_verify(store):
    app = Timeline(store)
    register(app, 9)
    leaves = chain_hashes(app)
    assert len(leaves) == 9 and app.audit.tree()["size"] == 9
    for size in range(1, 10):
        root = merkle.root_of(leaves[:size])
        assert app.audit.tree(size)["root"] == root.hex()
        for index in range(size):
            proof = app.audit.inclusion(index, size)
            path = [bytes.fromhex(x) for x in proof["hashes"]]
            leaf = merkle.leaf_hash(leaves[index])
            assert proof["leaf_hash"] == leaf.hex() and proof["root"] == root.hex()
            merkle.verify_inclusion(index, size, leaf, path, root)
            assert independently_included(index, size, leaf, path, root)
        for old in range(size + 1):
            proof = [bytes.fromhex(x) for x in app.audit.consistency(old, size)["hashes"]]
            old_root = merkle.root_of(leaves[:old])
            merkle.verify_consistency(old, size, old_root, root, proof)
            assert independently_consistent(old, size, old_root, root, proof)
    app.close()


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.integers(1, 5), min_size=1, max_size=4))
def test_after_any_appends_every_earlier_checkpoint_is_consistent_with_the_latest(
    batches, tree_store_kind
):
    with fresh_store(tree_store_kind) as url:
        app = Timeline(url)
        checkpoints = []
        for batch in batches:
            register(app, batch)
            checkpoints.append(app.audit.tree())
        latest = app.audit.tree()
        new_root = bytes.fromhex(latest["root"])
        assert new_root == merkle.root_of(chain_hashes(app))
        for kept in checkpoints:
            proof = app.audit.consistency(kept["size"], latest["size"])
            path = [bytes.fromhex(x) for x in proof["hashes"]]
            merkle.verify_consistency(kept["size"], latest["size"], bytes.fromhex(kept["root"]),
                                      new_root, path)
        app.close()


def test_a_store_recorded_before_the_tree_gets_it_when_opened(durable_store, monkeypatch):
    app = Timeline(durable_store)
    register(app, 11)
    root = app.audit.tree()["root"]
    app.close()
    # As a store of the earlier release (the triggers, which it lacked, switched off first).
    Raw(durable_store).attack("DELETE FROM event_tree_rows")
    assert Raw(durable_store).run("SELECT COUNT(*) FROM event_tree_rows")[0][0] == 0
    build = EventLog.build_tree  # in batches of 4 leaves: the batches follow one another
    monkeypatch.setattr(EventLog, "build_tree", lambda self, batch=4: build(self, batch))
    reopened = Timeline(durable_store)
    assert reopened.audit.tree() == {"size": 11, "root": root}
    register(reopened, 2)  # and it keeps growing from there
    assert reopened.audit.tree()["root"] == merkle.root_of(chain_hashes(reopened)).hex()
    reopened.close()


# The tree as the release before kept it: one row per node.
NODE_TABLE = ("CREATE TABLE event_tree (level INTEGER NOT NULL, idx BIGINT NOT NULL,"
              " hash TEXT NOT NULL, PRIMARY KEY (level, idx))")


def test_a_store_with_the_tree_of_one_row_per_node_gets_its_rows_when_opened(durable_store):
    app = Timeline(durable_store)
    register(app, 13)
    tree = app.audit.tree()
    leaves = chain_hashes(app)
    app.close()
    # The store as the release before left it: no table of rows, the tree one row per node
    # in event_tree, which its append-only triggers guard.
    raw = Raw(durable_store)
    raw.attack("DROP TABLE event_tree_rows", NODE_TABLE)
    nodes = grow(0, leaves, lambda level, index: pytest.fail("a node of another batch"))
    with raw.connect() as db:
        for level, index, digest in nodes:
            db.execute(raw.sql("INSERT INTO event_tree (level, idx, hash) VALUES (?, ?, ?)"),
                       (level, index, digest.hex()))
        if raw.postgres:
            db.execute("CREATE TRIGGER event_tree_append_only BEFORE UPDATE OR DELETE"
                       " ON event_tree FOR EACH ROW EXECUTE FUNCTION timeline_append_only()")
        else:
            for verb in ("UPDATE", "DELETE"):
                db.execute(SQLITE_APPEND_ONLY.format(
                    name=f"event_tree_no_{verb.lower()}", table="event_tree", verb=verb))
    old = raw.run("SELECT level, idx, hash FROM event_tree ORDER BY level, idx")
    assert len(old) == 13 + 6 + 3 + 1

    reopened = Timeline(durable_store)
    assert raw.run("SELECT COUNT(*) FROM event_tree_rows")[0][0] == 13
    assert reopened.audit.tree() == tree
    for size in (1, 6, 8, 13):
        root = merkle.root_of(leaves[:size])
        for index in range(size):
            proof = reopened.audit.inclusion(index, size)
            merkle.verify_inclusion(index, size, merkle.leaf_hash(leaves[index]),
                                    [bytes.fromhex(h) for h in proof["hashes"]], root)
        for kept in range(size + 1):
            proof = reopened.audit.consistency(kept, size)
            merkle.verify_consistency(kept, size, merkle.root_of(leaves[:kept]), root,
                                      [bytes.fromhex(h) for h in proof["hashes"]])
    verified = CliRunner().invoke(main, ["--store", durable_store, "verify"])
    assert verified.exit_code == 0, verified.output
    # The old table is left as it was, and still refuses changes.
    assert raw.run("SELECT level, idx, hash FROM event_tree ORDER BY level, idx") == old
    with pytest.raises(Exception, match="append-only"):
        raw.run("DELETE FROM event_tree")
    register(reopened, 3)  # and the rows grow from there
    assert reopened.audit.tree()["root"] == merkle.root_of(chain_hashes(reopened)).hex()
    assert reopened.audit.verify().ok
    reopened.close()


def table_sql(url: str, table: str) -> str:
    [(sql,)] = Raw(url).run("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
    return sql


def test_new_sqlite_stores_key_the_hashes_and_the_tree_by_the_rowid(tmp_path):
    # A rowid table filled at its end writes fewer pages of the log per append than a
    # WITHOUT ROWID one (docs/benchmarks.md, leaner SQLite appends).
    url = f"sqlite:///{tmp_path / 'new.db'}"
    Timeline(url).close()
    assert "position INTEGER PRIMARY KEY" in table_sql(url, "event_hashes")
    assert "leaf INTEGER PRIMARY KEY" in table_sql(url, "event_tree_rows")
    for table in ("event_hashes", "event_tree_rows"):
        assert "WITHOUT ROWID" not in table_sql(url, table)


# The tables as stores made before the rowid layout have them.
WITHOUT_ROWID_TABLES = {
    "HASH_TABLE": ("CREATE TABLE IF NOT EXISTS {event_hashes} (position BIGINT PRIMARY KEY,"
                   " hash TEXT NOT NULL, previous_hash TEXT NOT NULL) WITHOUT ROWID"),
    "TREE_TABLE": ("CREATE TABLE IF NOT EXISTS {event_tree_rows} (leaf BIGINT PRIMARY KEY,"
                   " hashes BLOB NOT NULL) WITHOUT ROWID"),
}


def test_a_sqlite_store_made_without_rowids_keeps_its_tables_and_grows(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'earlier.db'}"
    with monkeypatch.context() as earlier:
        for name, statement in WITHOUT_ROWID_TABLES.items():
            earlier.setattr(EventLog, name, statement)
        app = Timeline(url)
        register(app, 5)
        app.close()
    reopened = Timeline(url)
    register(reopened, 6)
    for table in ("event_hashes", "event_tree_rows"):
        assert "WITHOUT ROWID" in table_sql(url, table)
    leaves = chain_hashes(reopened)
    assert reopened.audit.tree() == {"size": 11, "root": merkle.root_of(leaves).hex()}
    proof = reopened.audit.inclusion(3, 11)
    merkle.verify_inclusion(3, 11, merkle.leaf_hash(leaves[3]),
                            [bytes.fromhex(h) for h in proof["hashes"]], merkle.root_of(leaves))
    assert reopened.audit.verify().ok
    with pytest.raises(Exception, match="append-only"):
        Raw(url).run("INSERT OR REPLACE INTO event_tree_rows (leaf, hashes) VALUES (0, x'00')")
    reopened.close()


def test_processes_building_the_tree_together_take_turns(tmp_path):
    # A server's workers open an upgraded store at once: each finds the tree to build. The
    # second one here reads and writes while the first is between its reads and its writes;
    # before the first took the write lock up front, its write then failed ("database is
    # locked") as the second had committed since its snapshot.
    url = f"sqlite:///{tmp_path / 'upgraded.db'}"
    app = Timeline(url)
    register(app, 11)
    tree = app.audit.tree()
    app.close()
    first, second = Timeline(url), Timeline(url)
    Raw(url).attack("DELETE FROM event_tree_rows")
    built: dict[str, object] = {}

    def build_second() -> None:
        try:
            built["second"] = second.recorder.build_tree()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            built["second"] = error

    grow = first.recorder._grow_tree
    other = threading.Thread(target=build_second)

    def grow_after_the_other(*args, **kwargs):
        if not other.is_alive() and "second" not in built:
            other.start()
            other.join(1)  # it finishes here unless it waits for the first's lock
        return grow(*args, **kwargs)

    first.recorder._grow_tree = grow_after_the_other
    assert first.recorder.build_tree() == 11
    other.join()
    assert built["second"] == 0
    assert first.audit.tree() == second.audit.tree() == tree
    first.close()
    second.close()


def test_an_imported_log_has_its_tree(store, tmp_path):
    app = Timeline(store)
    register(app, 6)
    out = io.StringIO()
    app.audit.export(out)
    kind = "postgres" if store.startswith("postgres") else "sqlite"
    with fresh_store(kind, tmp_path) as copy:
        target = Timeline(copy)
        target.audit.import_log(io.StringIO(out.getvalue()))
        assert target.audit.tree() == app.audit.tree()
        target.close()
    app.close()

def test_verify_finds_a_tree_altered_outside_the_recorder(durable_store):
    app = Timeline(durable_store)
    register(app, 6)
    assert app.audit.verify().ok
    third = app.recorder.select_log(0, 3)[2].position
    raw = Raw(durable_store)
    sixth = app.recorder.select_log(0, 6)[5].position
    [(good,)] = raw.run("SELECT hashes FROM event_tree_rows WHERE leaf = 2")
    raw.attack("UPDATE event_tree_rows SET hashes = ? WHERE leaf = 2", params=(bytes(32),))
    result = app.audit.verify()
    assert not result.ok and result.first_bad_position == third
    assert "Merkle tree" in result.reason and result.checked == 6
    assert "leaf 2, the leaf's hash" in result.reason
    raw.attack("UPDATE event_tree_rows SET hashes = ? WHERE leaf = 2", params=(good,))
    assert app.audit.verify().ok
    # An interior node altered instead: node (level 1, index 2) is in leaf 5's row.
    [(row,)] = raw.run("SELECT hashes FROM event_tree_rows WHERE leaf = 5")
    raw.attack("UPDATE event_tree_rows SET hashes = ? WHERE leaf = 5",
               params=(bytes(row[:32]) + bytes(32),))
    result = app.audit.verify()
    assert not result.ok and result.first_bad_position == sixth
    assert "level 1, node 2" in result.reason
    # A row cut short, or removed.
    raw.attack("UPDATE event_tree_rows SET hashes = ? WHERE leaf = 5", params=(bytes(row[:32]),))
    result = app.audit.verify()
    assert not result.ok and "level 1, node 2, which its row lacks" in result.reason
    raw.attack("UPDATE event_tree_rows SET hashes = ? WHERE leaf = 5",
               params=(bytes(row) + bytes(32),))
    result = app.audit.verify()
    assert not result.ok and "holds 96 bytes, not 64" in result.reason
    raw.attack("DELETE FROM event_tree_rows WHERE leaf = 5")
    result = app.audit.verify()
    assert not result.ok and result.first_bad_position == sixth
    assert "row is missing" in result.reason
    app.close()


def test_verify_finds_a_leaf_added_beyond_the_chain(durable_store):
    # An insert, which the append-only triggers let through: the tree then has a leaf the log
    # lacks, and its root (and a checkpoint signed from it) is no longer the log's.
    app = Timeline(durable_store)
    register(app, 5)
    head = app.audit.head()["position"]
    raw = Raw(durable_store)
    [(row,)] = raw.run("SELECT hashes FROM event_tree_rows WHERE leaf = 4")
    with raw.connect() as db:  # the triggers in place
        db.execute(raw.sql("INSERT INTO event_tree_rows (leaf, hashes) VALUES (?, ?)"),
                   (5, bytes(row) * 2))
    assert app.audit.tree()["size"] == 6
    result = app.audit.verify()
    assert not result.ok and result.first_bad_position == head + 1
    assert "holds 6 leaves, the chain 5" in result.reason
    app.close()


class CountingCursor:
    """A cursor that counts the statements sent through it."""

    def __init__(self, cursor, counter: list[int]) -> None:
        self.cursor, self.counter = cursor, counter

    def execute(self, *args):
        self.counter[0] += 1
        return self.cursor.execute(*args)

    def __getattr__(self, name):
        return getattr(self.cursor, name)


def test_a_proof_takes_the_same_two_statements_at_any_log_size(store, monkeypatch):
    app = Timeline(store)
    recorder, statements = app.recorder, [0]

    def counting(opens):
        @contextmanager
        def counted(*args, **kwargs):
            with opens(*args, **kwargs) as cursor:
                yield CountingCursor(cursor, statements)
        return counted

    grown = 0
    counts = {}
    for size in (5, 1000, 5000):  # leaves added straight to the tree, as appends add them
        with recorder.datastore.transaction(commit=True) as c:
            recorder._grow_tree(c, [f"{i:064x}" for i in range(grown, size)])
        grown = size
        # Every way the recorder opens a cursor (PostgreSQL reads with a bare one).
        for opens in ("transaction", "cursor"):
            if hasattr(recorder.datastore, opens):
                monkeypatch.setattr(recorder.datastore, opens,
                                    counting(getattr(recorder.datastore, opens)))
        for proof, args in ((app.audit.inclusion, (size // 3, size)),
                            (app.audit.consistency, (size // 3, size - 1)),
                            (app.audit.tree, ())):
            statements[0] = 0
            proof(*args)
            counts.setdefault(size, []).append(statements[0])
        monkeypatch.undo()
    assert counts == {5: [2, 2, 2], 1000: [2, 2, 2], 5000: [2, 2, 2]}
    root = bytes.fromhex(app.audit.tree()["root"])
    proof = app.audit.inclusion(4321, 5000)  # and they still verify
    merkle.verify_inclusion(4321, 5000, bytes.fromhex(proof["leaf_hash"]),
                            [bytes.fromhex(h) for h in proof["hashes"]], root)
    app.close()


def test_the_tree_stays_the_chains_with_writers_taking_turns_and_a_rolled_back_append(
    durable_store, monkeypatch
):
    # Each recorder remembers the tree's right edge between its appends: another process's
    # appends, and an append whose transaction rolled back, must not leave it stale.
    first, second = Timeline(durable_store), Timeline(durable_store)
    for turn in range(12):
        register(first if turn % 3 else second, 1, prefix=f"turn{turn}")
    record_beside = first.recorder.record_beside

    def fail_once(*args, **kwargs):
        monkeypatch.setattr(first.recorder, "record_beside", record_beside)
        raise RuntimeError("the transaction rolls back after the seal")

    monkeypatch.setattr(first.recorder, "record_beside", fail_once)
    with pytest.raises(RuntimeError):
        first.register_actor("rolled-back", "Rolled back", ActorKind.STATE)
    register(second, 1, prefix="after")
    register(first, 3, prefix="later")
    assert first.audit.tree()["root"] == merkle.root_of(chain_hashes(first)).hex()
    assert first.audit.tree()["size"] == 16 and first.audit.verify().ok
    first.close()
    second.close()
