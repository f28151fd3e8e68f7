"""What a recorder keeps of its Merkle tree between proofs: the upper complete nodes, and the right edge of the latest sizes."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from timeline import merkle

# Levels from which complete nodes are kept: one node per 1024 leaves at the lowest, so a
# proof reads from the store at most about FLOOR nodes below it, at any tree size past 2^FLOOR.
FLOOR = 10
# At most this many nodes (225 bytes each with their key and the dict's slot, measured with
# tracemalloc: 7.4 MB at most), every node from level 10 up of a tree of 16M leaves. Past it,
# nodes not held are read from the store, as without the cache; the upper ones, which every
# proof needs, come in first.
LIMIT = 1 << 15
# Right edges of this many sizes: proofs against the current size share its edge, and a
# consistency proof's `to` is usually the latest size or the one just before.
SIZES = 2


class ProofCache:
    """Complete, aligned subtrees at levels FLOOR and above, and for the
    latest sizes the ranges [start, size) a proof computed: what every later proof against
    the same tree would read and hash again.

    A complete node never changes once stored (the log is append-only, and its triggers refuse
    to update or delete a tree row), so a node read once is true for as long as the store
    holds the same tree. A store can hold another tree under the same recorder, though: reset
    and imported again, or a schema dropped and made anew. So everything held was read from
    rows up to one leaf, the `anchor`, whose stored row is kept too; a proof that uses the
    cache reads that row again in the statement that reads its other nodes, and unless it is
    unchanged the cache is emptied and the proof made from the store alone. The anchor's leaf
    hash is the hash of a chain hash, which commits to every event before it: an unchanged
    anchor row means the same leaves up to it, so the same nodes.

    Shared by the threads of a process: a proof's read adds to the cache only if the anchor is
    still the one that read checked (or found none), so a proof that read one tree never adds
    its nodes beside another's."""

    def __init__(self, floor: int = FLOOR, limit: int = LIMIT, sizes: int = SIZES) -> None:
        self.floor, self.limit, self.sizes = floor, limit, sizes
        # Nodes keyed by their range of leaves (start, end), as `merkle.stored_subtree` asks
        # for them. Emptied by a new dict, never in place: a proof's read goes on with the
        # dict it began with, to which only nodes of the same tree are added.
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.edges: dict[int, dict[tuple[int, int], bytes]] = {}
        self.anchor: tuple[int, bytes] | None = None
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.nodes, self.edges, self.anchor = {}, {}, None

    def begin(self, size: int) -> tuple[tuple[int, bytes] | None, dict[tuple[int, int], bytes],
                                         dict[tuple[int, int], bytes]]:
        """What a proof against `size` starts from, taken together: the anchor its read must
        find unchanged, the nodes held, and a copy of the size's right edge (ranges ending at
        `size`), which the proof adds to."""
        with self._lock:
            return self.anchor, self.nodes, dict(self.edges.get(size, ()))

    def keep(self, checked: tuple[int, bytes] | None, rows: Mapping[int, bytes], size: int,
             made: Mapping[tuple[int, int], bytes]) -> None:
        """Add what a proof read and computed: `rows` (leaf to stored row) read in one
        statement with the anchor `checked` (None: the cache was empty), and `made`, its
        ranges (start, end), of which those ending at `size` are the size's right edge.
        Called after every proof: what it adds is most often nothing, which is found out
        first, without the lock."""
        last = max(rows, default=-1)
        upper = 32 * (self.floor + 1)  # a row holding a node at the floor or above is this long
        span, nodes = 1 << self.floor, self.nodes
        if (checked is not None and self.anchor == checked and last <= checked[0]
                # computing (0, size) computes every range [start, size) of the edge
                and (0, size) in self.edges.get(size, ())
                # a row's nodes are kept together: its node at the floor stands for them
                and (len(nodes) >= self.limit or all(
                    len(hashes) < upper or (leaf + 1 - span, leaf + 1) in nodes
                    for leaf, hashes in rows.items()))):
            return
        with self._lock:
            if self.anchor != checked:  # another thread moved it on, or emptied the cache
                return
            for leaf, hashes in rows.items():
                if len(hashes) < upper or len(hashes) != 32 * (merkle.closes(leaf) + 1):
                    continue  # no node to keep, or a damaged row (see EventLog._node_in)
                for level in range(self.floor, len(hashes) // 32):
                    if len(self.nodes) >= self.limit:
                        break
                    self.nodes[(leaf + 1 - (1 << level), leaf + 1)] = (
                        hashes[32 * level:32 * (level + 1)])
            if last >= 0 and (self.anchor is None or last > self.anchor[0]):
                self.anchor = (last, rows[last])
            if self.anchor is None or self.anchor[0] < size - 1:
                return  # the edge rests on rows beyond the anchor: not held
            edge = {key: digest for key, digest in made.items() if key[1] == size}
            if len(edge) > len(self.edges.get(size, ())):
                self.edges.pop(size, None)
                self.edges[size] = edge
                while len(self.edges) > self.sizes:
                    self.edges.pop(next(iter(self.edges)))
