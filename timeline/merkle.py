"""The RFC 9162 §2.1 Merkle tree over the log: hashes, inclusion and consistency proofs, verifiers.

Pure functions. A proof is built from `subtree(start, end)`, the Merkle Tree Hash of the leaves
start..end-1, so the same algorithm runs over a list in memory or over the complete subtrees a
store keeps (see store.EventLog): each complete, aligned subtree is one stored hash, and any
other range the algorithm asks for splits into at most log2(n) of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

Subtree = Callable[[int, int], bytes]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof does not verify, or was asked for outside the tree."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def is_complete(start: int, end: int) -> bool:
    """Whether leaves start..end-1 form one complete subtree the incremental tree stores."""
    size = end - start
    return size > 0 and size & (size - 1) == 0 and start % size == 0


def stored_subtree(complete: Callable[[int, int], bytes],
                   made: dict[tuple[int, int], bytes] | None = None,
                   held: Mapping[tuple[int, int], bytes] | None = None) -> Subtree:
    """`subtree` over the stored complete subtrees, `complete(level, index)` (level 0 is the
    leaves). A range that is not one complete subtree splits as the RFC splits it: its left
    part is complete and aligned, the rest splits again, so one range reads at most log2(n)
    stored hashes. Each range is computed once per `subtree`: the ranges of a proof share
    their right ends, and without this an inclusion path walked that right edge once per
    level, log2(n)^2 steps in all. `made` holds the ranges (start, end) computed so far:
    given, it may start with ranges known from before, and is left with every range this
    `subtree` computed. `held` has ranges known from before too, which are taken as they are,
    neither read nor split (see timeline.proofcache)."""
    if made is None:
        made = {}
    if held is None:
        held = {}

    def subtree(start: int, end: int) -> bytes:
        key = (start, end)
        found = made.get(key) or held.get(key)
        if found is None:
            if is_complete(start, end):
                level = (end - start).bit_length() - 1
                found = complete(level, start >> level)
            else:
                k = split(end - start)
                found = node_hash(subtree(start, start + k), subtree(start + k, end))
            made[key] = found
        return found

    return subtree


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf data, by the definition (for tests and small trees)."""
    if not leaves:
        return EMPTY_ROOT
    return memory_subtree([leaf_hash(d) for d in leaves])(0, len(leaves))


def memory_subtree(leaf_hashes: Sequence[bytes]) -> Subtree:
    """`subtree` over leaf hashes held in memory."""

    def subtree(start: int, end: int) -> bytes:
        if end - start == 1:
            return leaf_hashes[start]
        k = split(end - start)
        return node_hash(subtree(start, start + k), subtree(start + k, end))

    return subtree


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[size])."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index - start < k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            start += k
    proof.reverse()  # the path lists the sibling nearest the leaf first
    return proof


def consistency_proof(old: int, new: int, subtree: Subtree) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old, D[new]); empty when old is 0 or old == new."""
    if not 0 <= old <= new:
        raise ProofError(f"size {old} is not within a tree of size {new}")
    if old == 0 or old == new:
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, new, old, True
    while m != end - start:
        k = split(end - start)
        if m <= k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append(subtree(start, end))
    proof.reverse()
    return proof


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise ProofError unless `leaf` (a leaf hash) is at `index` of the
    tree of `size` whose root is `root`."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short")
    if r != root:
        raise ProofError("the inclusion proof does not lead to the root")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raise ProofError unless the tree of size `new` with `new_root`
    extends the tree of size `old` with `old_root`."""
    if not 0 <= old <= new:
        raise ProofError(f"size {old} is not within a tree of size {new}")
    if old == new:
        if proof:
            raise ProofError("equal sizes take an empty proof")
        if old_root != new_root:
            raise ProofError("equal sizes with different roots")
        return
    if old == 0:
        if proof:
            raise ProofError("a proof from the empty tree is empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != old_root or sr != new_root:
        raise ProofError("the consistency proof does not lead to both roots")


def row_of(level: int, index: int) -> int:
    """The leaf whose append closes node (level, index): its last leaf. The store keeps the
    node in that leaf's row (see grow_rows)."""
    return ((index + 1) << level) - 1


def closes(leaf: int) -> int:
    """How many complete subtrees above the leaves appending `leaf` closes: its trailing one
    bits. Its row holds 1 + closes(leaf) hashes."""
    return (~leaf & (leaf + 1)).bit_length() - 1


def grow_rows(count: int, leaves: Sequence[bytes], latest: dict[int, bytes],
              complete: Callable[[int, int], bytes]) -> list[tuple[int, bytes]]:
    """The rows that appending `leaves` (leaf data) to a tree of `count` leaves creates, as
    the store keeps them: one per leaf (its index), holding the leaf's hash, then the hash of
    each complete subtree it closes, level by level, 32 bytes each (node (level, index) is at
    offset 32·level of row row_of(level, index)). Each leaf closes as many subtrees as its
    index has trailing one bits: log2(n) at most.
    `latest[level]` is the last complete subtree made at each level, as the previous append
    left it (or missing, then read with `complete(level, index)`); it is brought up to date
    here, so the next append can start from it. A leaf's left sibling at each level it
    closes is always the last subtree made at that level."""
    sha256 = hashlib.sha256
    rows = []
    for i, data in enumerate(leaves, start=count):
        h = sha256(b"\x00" + data).digest()
        row, level, index = [h], 0, i
        while index & 1:
            left = latest.get(level)
            if left is None:
                left = complete(level, index - 1)
            latest[level] = h
            h = sha256(b"\x01" + left + h).digest()
            row.append(h)
            level, index = level + 1, index >> 1
        latest[level] = h
        rows.append((i, b"".join(row)))
    return rows
