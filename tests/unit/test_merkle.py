"""The Merkle tree's algorithms (RFC 9162 §2.1) against the C2SP / transparency-dev test vectors
and against a verifier written here from the RFC's recursive definitions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timeline import merkle

# transparency-dev/merkle's test data (the vectors C2SP's merkle-tree.md points to).
LEAVES = [bytes.fromhex(x) for x in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
# (leaf index from 0, tree size, proof) and (old size, new size, proof) from the same data.
INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


# --- an independent verifier: the RFC's recursive definitions run backwards -------------------


def h(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def largest_power_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root_from_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """The root PATH(index, D[size]) leads to, by its definition (the last element is the
    sibling of the top split)."""
    if size == 1:
        assert not path, "a path too long"
        return leaf
    assert path, "a path too short"
    k = largest_power_below(size)
    if index < k:
        return h(b"\x01", root_from_path(index, k, leaf, path[:-1]), path[-1])
    return h(b"\x01", path[-1], root_from_path(index - k, size - k, leaf, path[:-1]))


def roots_from_proof(m: int, n: int, old_root: bytes, proof: list[bytes], whole: bool = True
                     ) -> tuple[bytes, bytes]:
    """The (old, new) roots SUBPROOF(m, D[n], whole) leads to, by its definition."""
    if m == n:
        if whole:
            assert not proof, "a proof too long"
            return old_root, old_root
        assert len(proof) == 1, "a proof of the wrong length"
        return proof[0], proof[0]
    assert proof, "a proof too short"
    k = largest_power_below(n)
    if m <= k:
        old, left = roots_from_proof(m, k, old_root, proof[:-1], whole)
        return old, h(b"\x01", left, proof[-1])
    old, right = roots_from_proof(m - k, n - k, old_root, proof[:-1], False)
    return h(b"\x01", proof[-1], old), h(b"\x01", proof[-1], right)


def independently_included(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes
                           ) -> bool:
    try:
        return root_from_path(index, size, leaf, path) == root
    except AssertionError:
        return False


def independently_consistent(m: int, n: int, old: bytes, new: bytes, proof: list[bytes]) -> bool:
    if m == 0:
        return not proof
    try:
        return roots_from_proof(m, n, old, proof) == (old, new)
    except AssertionError:
        return False


def verifies(check, *args) -> bool:
    try:
        check(*args)
    except merkle.ProofError:
        return False
    return True


def tree(leaves: list[bytes]) -> merkle.Subtree:
    return merkle.memory_subtree([merkle.leaf_hash(d) for d in leaves])


# --- the vectors -------------------------------------------------------------------------------


def test_roots_match_the_vectors_and_the_empty_tree():
    assert merkle.root_of([]) == hashlib.sha256(b"").digest()
    for size, root in ROOTS.items():
        assert merkle.root_of(LEAVES[:size]).hex() == root


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION)
def test_inclusion_proofs_match_the_vectors(index, size, expected):
    proof = merkle.inclusion_proof(index, size, tree(LEAVES[:size]))
    assert [p.hex() for p in proof] == expected


@pytest.mark.parametrize(("old", "new", "expected"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors(old, new, expected):
    proof = merkle.consistency_proof(old, new, tree(LEAVES[:new]))
    assert [p.hex() for p in proof] == expected


def test_every_index_and_size_of_the_seven_leaf_tree_verifies_both_ways():
    subtree = tree(LEAVES[:7])
    for size in range(1, 8):
        root = bytes.fromhex(ROOTS[size])
        assert subtree(0, size) == root
        for index in range(size):
            leaf = merkle.leaf_hash(LEAVES[index])
            proof = merkle.inclusion_proof(index, size, subtree)
            merkle.verify_inclusion(index, size, leaf, proof, root)
            assert independently_included(index, size, leaf, proof, root)
        for old in range(size + 1):
            old_root = bytes.fromhex(ROOTS[old]) if old else merkle.EMPTY_ROOT
            proof = merkle.consistency_proof(old, size, subtree)
            merkle.verify_consistency(old, size, old_root, root, proof)
            assert independently_consistent(old, size, old_root, root, proof)


def test_out_of_range_requests_are_refused():
    subtree = tree(LEAVES[:7])
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(7, 7, subtree)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(5, 4, subtree)


# --- tampering -----------------------------------------------------------------------------------


def flip(digest: bytes, bit: int) -> bytes:
    return bytes([digest[0] ^ (1 << bit)]) + digest[1:]


def test_mutating_any_leaf_or_proof_hash_fails_verification():
    subtree = tree(LEAVES[:7])
    for size in range(1, 8):
        root = subtree(0, size)
        for index in range(size):
            leaf = merkle.leaf_hash(LEAVES[index])
            proof = merkle.inclusion_proof(index, size, subtree)
            assert not verifies(merkle.verify_inclusion, index, size, flip(leaf, 0), proof, root)
            for at in range(len(proof)):
                bad = [*proof[:at], flip(proof[at], 3), *proof[at + 1:]]
                assert not verifies(merkle.verify_inclusion, index, size, leaf, bad, root)
                assert not independently_included(index, size, leaf, bad, root)
            # A proof cut short or padded fails too.
            if proof:
                assert not verifies(merkle.verify_inclusion, index, size, leaf, proof[:-1], root)
            assert not verifies(merkle.verify_inclusion, index, size, leaf, [*proof, root], root)
        for old in range(1, size):
            old_root = subtree(0, old)
            proof = merkle.consistency_proof(old, size, subtree)
            for at in range(len(proof)):
                bad = [*proof[:at], flip(proof[at], 5), *proof[at + 1:]]
                assert not verifies(merkle.verify_consistency, old, size, old_root, root, bad)
            assert not verifies(merkle.verify_consistency, old, size, flip(old_root, 1), root,
                                proof)
            assert not verifies(merkle.verify_consistency, old, size, old_root, flip(root, 1),
                                proof)


# --- a node-level reference of the tree's growth, against which the store's rows are held ----


def right_edge(size: int) -> list[tuple[int, int]]:
    """The complete subtrees (level, index) that the next leaves of a tree of `size` leaves
    are hashed with: one per one bit of the size, the largest first."""
    return [(level, (size >> level) - 1)
            for level in reversed(range(size.bit_length())) if size >> level & 1]


def tree_rows(nodes: Sequence[tuple[int, int, bytes]]) -> list[tuple[int, bytes]]:
    """The nodes `grow` made, as the rows the store keeps (merkle.grow_rows): one per leaf (its index), holding
    the leaf's hash, then the hash of each subtree it closes, level by level, 32 bytes each.
    Node (level, index) is at offset 32·level of row row_of(level, index)."""
    rows: list[tuple[int, bytes]] = []
    for level, index, digest in nodes:
        if level == 0:
            rows.append((index, digest))
        else:  # grow lists a leaf's closed subtrees right after it, level by level
            leaf, hashes = rows[-1]
            rows[-1] = (leaf, hashes + digest)
    return rows


def grow(count: int, leaves: Sequence[bytes], complete: Callable[[int, int], bytes]
         ) -> list[tuple[int, int, bytes]]:
    """The complete-subtree nodes (level, index, hash) that appending `leaves` (leaf data)
    to a tree of `count` leaves creates; `complete(level, index)` reads an existing one.
    Each leaf closes as many subtrees as its index has trailing one bits: log2(n) at most."""
    made: dict[tuple[int, int], bytes] = {}

    def read(level: int, index: int) -> bytes:
        return made[(level, index)] if (level, index) in made else complete(level, index)

    rows = []
    for i, data in enumerate(leaves, start=count):
        h, level, index = merkle.leaf_hash(data), 0, i
        made[(0, index)] = h
        rows.append((0, index, h))
        while index & 1:
            h = merkle.node_hash(read(level, index - 1), h)
            level, index = level + 1, index >> 1
            made[(level, index)] = h
            rows.append((level, index, h))
    return rows


# --- incremental growth ------------------------------------------------------------------------


@given(st.lists(st.integers(1, 9), min_size=1, max_size=8))
def test_growing_in_batches_keeps_the_complete_subtrees_of_the_whole_tree(batches):
    stored: dict[tuple[int, int], bytes] = {}
    leaves: list[bytes] = []
    sizes = []
    for batch in batches:
        new = [len(leaves).to_bytes(4, "big") + bytes([i]) for i in range(batch)]
        for level, index, digest in grow(len(leaves), new,
                                                lambda lv, ix: stored[(lv, ix)]):
            stored[(level, index)] = digest
        leaves += new
        sizes.append(len(leaves))
    n = len(leaves)
    reference = tree(leaves)
    for (level, index), digest in stored.items():
        assert digest == reference(index << level, (index + 1) << level)
    from_store = merkle.stored_subtree(lambda lv, ix: stored[(lv, ix)])
    assert from_store(0, n) == merkle.root_of(leaves)
    for old in [0, *sizes]:
        proof = merkle.consistency_proof(old, n, from_store)
        old_root = merkle.root_of(leaves[:old])
        assert independently_consistent(old, n, old_root, from_store(0, n), proof)



def test_the_right_edge_is_the_complete_subtrees_a_tree_of_that_size_holds():
    for size in range(70):
        edge = right_edge(size)
        covered, start = [], 0
        for level, index in edge:  # left to right, they tile the tree's leaves
            assert index << level == start
            start = (index + 1) << level
            covered.append(level)
        assert start == size and covered == sorted(covered, reverse=True)


@given(st.lists(st.integers(1, 9), min_size=1, max_size=8))
def test_each_leaf_has_one_row_holding_every_node_it_closes(batches):
    # The store's layout (store.EventLog.TREE_TABLE): row i is leaf i's hash, then the hash of
    # each complete subtree leaf i closes, level by level; node (l, j) at offset 32·l of row
    # row_of(l, j), which is the subtree's last leaf.
    rows: dict[int, bytes] = {}
    leaves: list[bytes] = []

    def node(level: int, index: int) -> bytes:
        row = rows[merkle.row_of(level, index)]
        assert len(row) > 32 * level
        return row[32 * level:32 * (level + 1)]

    for batch in batches:
        new = [len(leaves).to_bytes(4, "big") + bytes([i]) for i in range(batch)]
        made = tree_rows(grow(len(leaves), new, node))
        assert [leaf for leaf, _ in made] == list(range(len(leaves), len(leaves) + batch))
        rows.update(made)
        leaves += new
    reference = tree(leaves)
    for leaf, row in rows.items():
        assert len(row) == 32 * (1 + merkle.closes(leaf))
        for level in range(1 + merkle.closes(leaf)):
            index = leaf >> level
            assert merkle.row_of(level, index) == leaf
            assert row[32 * level:32 * (level + 1)] == reference(index << level,
                                                                 (index + 1) << level)
    assert merkle.stored_subtree(node)(0, len(leaves)) == merkle.root_of(leaves)


@given(st.lists(st.integers(1, 9), min_size=1, max_size=8), st.lists(st.booleans(), max_size=8))
def test_rows_grown_from_the_last_subtrees_are_the_rows_of_the_nodes(batches, forget):
    # The recorder's path: each append starts from the last subtree made at each level, as the
    # previous one left it, or, when it forgets them (another process wrote), from the rows.
    rows: dict[int, bytes] = {}
    leaves: list[bytes] = []
    latest: dict[int, bytes] = {}
    read: list[tuple[int, int]] = []

    def node(level: int, index: int) -> bytes:
        read.append((level, index))
        return rows[merkle.row_of(level, index)][32 * level:32 * (level + 1)]

    for number, batch in enumerate(batches):
        if number < len(forget) and forget[number]:
            latest = {}
        new = [len(leaves).to_bytes(4, "big") + bytes([i]) for i in range(batch)]
        expected = tree_rows(grow(len(leaves), new, node))
        read.clear()
        assert merkle.grow_rows(len(leaves), new, latest, node) == expected
        # Each subtree read is one the appended leaves close a subtree with, read once.
        assert len(read) == len(set(read))
        assert all(key in right_edge(len(leaves)) for key in read)
        rows.update(expected)
        leaves += new
    assert merkle.stored_subtree(node)(0, len(leaves)) == merkle.root_of(leaves)


def test_a_leaf_closes_as_many_subtrees_as_its_trailing_one_bits():
    assert [merkle.closes(i) for i in range(9)] == [0, 1, 0, 2, 0, 1, 0, 3, 0]
    assert merkle.row_of(0, 5) == 5 and merkle.row_of(1, 2) == 5 and merkle.row_of(3, 0) == 7
