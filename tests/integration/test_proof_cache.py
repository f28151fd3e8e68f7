"""The recorder's proof cache (timeline.proofcache), on both stores: proofs with the cache warm
are the proofs the store alone and the tree in memory give, across appends; a store reset or
imported again under the same recorder is never answered from the tree it held before; the
cache keeps to its bounds; and checks of the store never read it."""

from __future__ import annotations

import hashlib
import io
import random

import pytest

from tests.integration.test_audit import Raw
from tests.integration.test_merkle_store import CountingCursor, chain_hashes, register
from timeline import merkle
from timeline.application import Timeline
from timeline.checkpoint import SigningKey
from timeline.proofcache import ProofCache


def synthetic(start: int, end: int, salt: bytes = b"") -> list[str]:
    """Chain hashes for leaves start..end-1, as the benchmark makes them (no events needed)."""
    return [hashlib.sha256(salt + i.to_bytes(8, "big")).hexdigest() for i in range(start, end)]


def grow(app: Timeline, hashes: list[str]) -> None:
    with app.recorder.datastore.transaction(commit=True) as c:
        app.recorder._grow_tree(c, hashes)


def small_cache(app: Timeline, **bounds: int) -> ProofCache:
    """A cache from level 1 up (2 leaves a node), so trees of tens of leaves fill it."""
    cache = ProofCache(**{"floor": 1, **bounds})
    app.recorder.proof_cache = cache
    return cache


def expected(leaves: list[bytes]):
    """The proofs of the tree of `leaves` (chain hashes) by the definition, in memory."""
    subtree = merkle.memory_subtree([merkle.leaf_hash(leaf) for leaf in leaves])

    def inclusion(index: int, size: int) -> list[str]:
        return [h.hex() for h in merkle.inclusion_proof(index, size, subtree)]

    def consistency(old: int, new: int) -> list[str]:
        return [h.hex() for h in merkle.consistency_proof(old, new, subtree)]

    def root(size: int) -> str:
        return (merkle.EMPTY_ROOT if size == 0 else subtree(0, size)).hex()

    return inclusion, consistency, root


def held_from_the_store(app: Timeline, leaves: list[bytes], pairs) -> None:
    """Every proof asked for, warm (asked twice), is the tree's in memory and the one read
    from the store alone."""
    inclusion, consistency, root = expected(leaves)
    audit, recorder = app.audit, app.recorder
    for _ in range(2):
        for index, size in pairs:
            proof = audit.inclusion(index, size)
            assert proof["hashes"] == inclusion(index, size), (index, size)
            assert proof["root"] == root(size)
            assert proof["leaf_hash"] == merkle.leaf_hash(leaves[index]).hex()
            old = index  # a consistency proof from each index taken as a size, too
            assert audit.consistency(old, size)["hashes"] == consistency(old, size), (old, size)
            assert audit.tree(size) == {"size": size, "root": root(size)}
    # The same through the store alone (what the audit's checks read).
    size = len(leaves)
    for index, _ in pairs[:5]:
        cold = recorder.tree_proof(
            lambda subtree, now, index=index: [
                h.hex() for h in merkle.inclusion_proof(index, size, subtree)],
            cached=False)
        assert cold == audit.inclusion(index, size)["hashes"]


def test_proofs_with_the_cache_warm_are_the_trees_across_appends(store):
    app = Timeline(store)
    cache = small_cache(app)
    rng = random.Random(9)
    hashes: list[str] = []
    for size in (1, 2, 3, 7, 8, 9, 31, 64, 100, 129):
        grow(app, synthetic(len(hashes), size))
        hashes += synthetic(len(hashes), size)
        leaves = [bytes.fromhex(h) for h in hashes]
        # Proofs against this size, and against earlier sizes, whose nodes the cache holds.
        pairs = [(rng.randrange(n), n) for n in (size, size, rng.randint(1, size))]
        pairs += [(0, size), (size - 1, size)]
        held_from_the_store(app, leaves, pairs)
    assert cache.nodes and cache.edges and len(cache.edges) <= cache.sizes
    # And every node the cache holds is the tree's.
    subtree = merkle.memory_subtree([merkle.leaf_hash(bytes.fromhex(h)) for h in hashes])
    for (start, end), digest in cache.nodes.items():
        assert merkle.is_complete(start, end) and end - start >= 2
        assert digest == subtree(start, end)
    app.close()


def test_events_appended_meet_a_warm_cache(store):
    # Through the application's own appends, one recorder proving while another records.
    app, writer = Timeline(store), Timeline(store)
    small_cache(app)
    for batch in (3, 5, 9, 1, 16):
        register(writer, batch, prefix=f"b{batch}")
        leaves = chain_hashes(app)
        size = len(leaves)
        held_from_the_store(app, leaves, [(i, size) for i in range(0, size, 3)])
    writer.close()
    app.close()


def test_the_cache_is_what_serves_the_proofs(store):
    # What makes the tests above worth their name: a node the cache holds is served from it,
    # not read again, so a wrong one would show. Here one is poisoned on purpose.
    app = Timeline(store)
    cache = small_cache(app)
    grow(app, synthetic(0, 64))
    leaves = [bytes.fromhex(h) for h in synthetic(0, 64)]
    inclusion, _, root = expected(leaves)
    assert app.audit.inclusion(40, 64)["hashes"] == inclusion(40, 64)
    left_half = (0, 32)  # the last hash of leaf 40's path
    assert left_half in cache.nodes
    cache.nodes[left_half] = bytes(32)
    assert app.audit.inclusion(40, 64)["hashes"][-1] == bytes(32).hex()
    # The proofs read from the store alone do not see it.
    assert app.audit.tree(64, cached=False)["root"] == root(64)
    app.close()


def test_a_warm_proof_reads_fewer_rows(store, monkeypatch):
    app = Timeline(store)
    small_cache(app, floor=3)
    grow(app, synthetic(0, 1000))
    recorder, statements, rows = app.recorder, [0], []
    tree_rows = recorder._tree_rows

    def counted_rows(c, leaves):
        found = tree_rows(CountingCursor(c, statements), leaves)
        rows.append(len(found))
        return found

    monkeypatch.setattr(recorder, "_tree_rows", counted_rows)
    app.audit.inclusion(123, 1000)  # cold: every node below the root's children
    app.audit.inclusion(456, 1000)  # shares the upper nodes and the right edge
    cold, warm = rows
    assert warm < cold and statements == [2]
    app.close()


@pytest.mark.parametrize("shape", ["shorter", "longer", "same prefix, then other leaves"])
def test_a_tree_put_in_the_stores_place_is_never_answered_from_the_cache(durable_store, shape):
    # Another process resets the tree (as an operator restoring a store would) while this
    # recorder's cache holds the old one: the anchor read with each proof finds it out.
    app = Timeline(durable_store)
    cache = small_cache(app)
    old = [bytes.fromhex(h) for h in synthetic(0, 100)]
    grow(app, synthetic(0, 30))  # the first proofs read no row past leaf 29
    held_from_the_store(app, old[:30], [(i, 30) for i in range(0, 30, 4)])
    grow(app, synthetic(30, 100))
    held_from_the_store(app, old, [(i, 100) for i in range(0, 100, 7)] + [(3, 50)])
    assert cache.anchor is not None
    if shape == "shorter":
        new = synthetic(0, 60, salt=b"other")
    elif shape == "longer":
        new = synthetic(0, 160, salt=b"other")
    else:  # leaves 0-39 unchanged: only the anchor, beyond them, tells the trees apart
        new = synthetic(0, 40) + synthetic(40, 130, salt=b"other")
    Raw(durable_store).attack("DELETE FROM event_tree_rows")
    other = Timeline(durable_store)
    grow(other, new)
    other.close()
    leaves = [bytes.fromhex(h) for h in new]
    size = len(leaves)
    held_from_the_store(app, leaves, [(i, size) for i in range(0, size, 7)] + [(3, 30)])
    app.close()


def exported_log(url: str, count: int, prefix: str) -> tuple[str, list[bytes]]:
    """Another store's log of `count` events, exported, and its chain hashes."""
    source = Timeline(url)
    register(source, count, prefix=prefix)
    out = io.StringIO()
    source.audit.export(out)
    hashes = chain_hashes(source)
    source.close()
    return out.getvalue(), hashes


def test_a_log_imported_under_the_same_recorder_has_its_own_proofs(durable_store, tmp_path):
    # A store emptied and another log imported under the same recorder, through it and then
    # through another process: the proofs are the imported log's each time.
    app = Timeline(durable_store)
    cache = small_cache(app)
    register(app, 20)
    held_from_the_store(app, chain_hashes(app), [(i, 20) for i in range(0, 20, 3)])
    first, first_hashes = exported_log(f"sqlite:///{tmp_path / 'a.db'}", 27, "first")
    second, second_hashes = exported_log(f"sqlite:///{tmp_path / 'b.db'}", 22, "second")
    raw = Raw(durable_store)
    empty = [f"DELETE FROM {table}" for table in
             (raw.events, "event_hashes", "event_heads", "event_tree_rows")]
    raw.attack(*empty)
    app.audit.import_log(io.StringIO(first))
    assert cache.anchor is None  # the recorder that imports forgets the tree it held
    held_from_the_store(app, first_hashes, [(i, 27) for i in range(0, 27, 4)])
    assert cache.anchor is not None
    raw.attack(*empty)
    other = Timeline(durable_store)
    other.audit.import_log(io.StringIO(second))
    other.close()
    held_from_the_store(app, second_hashes, [(i, 22) for i in range(0, 22, 5)])
    app.close()


def test_the_cache_keeps_to_its_bounds(store):
    app = Timeline(store)
    cache = small_cache(app, floor=0, limit=10, sizes=2)
    hashes = synthetic(0, 40)
    for size in range(5, 41, 5):
        grow(app, hashes[size - 5:size])
        leaves = [bytes.fromhex(h) for h in hashes[:size]]
        held_from_the_store(app, leaves, [(i, size) for i in range(size)])
        assert len(cache.nodes) <= 10 and len(cache.edges) <= 2
    app.close()


def test_a_checkpoint_is_checked_against_the_store_not_the_cache(store):
    app = Timeline(store)
    cache = small_cache(app)
    grow(app, synthetic(0, 20))
    key = SigningKey.generate("timeline.test/log")
    note = app.audit.checkpoint(key, "timeline.test/log")
    grow(app, synthetic(20, 48))
    app.audit.consistency(20, 48)  # the cache now holds the nodes of this proof
    app.audit.consistency(20, 48)
    assert cache.nodes
    for key_range in list(cache.nodes):
        cache.nodes[key_range] = bytes(32)  # every held node wrong
    assert app.audit.check_checkpoint(note, key.verifier)["to"] == 48
    app.close()
