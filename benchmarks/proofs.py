"""Proof generation time across tree sizes: flat, since a proof reads O(log n) stored hashes.

    python benchmarks/proofs.py                          # 10k, 100k and 1M leaves, SQLite
    python benchmarks/proofs.py --sizes 10000,100000

Each size gets a fresh SQLite file whose Merkle tree is grown through the recorder's own
append path (`_grow_tree`, the code each append runs) from synthetic 32-byte chain hashes; no
events are needed, since proofs read only the tree. Then it times inclusion proofs of random
leaves and consistency proofs between random sizes, and prints the median time of each, and
its ratio to the smallest size's (1.00 = flat; log2(n) grows by 1.5x from 10k to 1M), and
how many stored hashes a proof read on average (the O(log n) bound, counted).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timeline import merkle
from timeline.application import Timeline


def grown(directory: str, size: int) -> Timeline:
    app = Timeline(f"sqlite:///{directory}/tree-{size}.db")
    recorder = app.recorder
    batch = 10000
    with recorder.datastore.transaction(commit=True) as c:
        for start in range(0, size, batch):
            hashes = [hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
                      for i in range(start, min(start + batch, size))]
            recorder._grow_tree(c, hashes)
    return app


def counting_reads(app: Timeline) -> list[int]:
    """Count the stored hashes each proof reads (the recorder's one read of a node)."""
    recorder, reads = app.recorder, [0]
    node = recorder._tree_node

    def counted(c):
        complete = node(c)

        def read(level: int, index: int) -> bytes:
            reads[0] += 1
            return complete(level, index)

        return read

    recorder._tree_node = counted
    return reads


def timed(calls: list, fn) -> float:
    """Median seconds per call."""
    times = []
    for args in calls:
        started = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def tree_share(directory: str, count: int) -> tuple[float, float]:
    """The share of appending time spent growing the tree (the recorder's hook, timed from
    inside), one development per transaction and then in one batch: the direct cost, which
    the machine's noise does not blur as it blurs a ratio of two runs."""
    from timeline.synth import Synthesizer, SynthReport, batches, record_batch, register_actors

    app = Timeline(f"sqlite:///{directory}/append.db")
    recorder, spent = app.recorder, [0.0]
    grow = recorder._grow_tree

    def timed_grow(c, hashes):
        started = time.perf_counter()
        grow(c, hashes)
        spent[0] += time.perf_counter() - started

    recorder._grow_tree = timed_grow
    synthesizer = Synthesizer(count, 100, 1)
    register_actors(app, synthesizer, SynthReport())
    contents = [payload for op, _, payload in synthesizer.plan() if op == "record"]
    spent[0], started = 0.0, time.perf_counter()
    for content, status, _ in contents:
        app.record_development(content, status)
    single = spent[0] / (time.perf_counter() - started)
    spent[0], elapsed = 0.0, 0.0
    for operations in batches(Synthesizer(count, 100, 2), 1000):
        started = time.perf_counter()
        record_batch(app, 2, operations, SynthReport())
        elapsed += time.perf_counter() - started
    app.close()
    return single, spent[0] / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="tree sizes, comma-separated")
    parser.add_argument("--proofs", type=int, default=300, help="proofs of each kind per size")
    parser.add_argument("--append", type=int, default=2000,
                        help="developments appended to measure the tree's share (0: skip)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(15)
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for size in sizes:
            started = time.perf_counter()
            app = grown(directory, size)
            built = time.perf_counter() - started
            audit = app.audit
            inclusion = [(rng.randrange(size), size) for _ in range(args.proofs)]
            consistency = [(rng.randrange(1, size), size) for _ in range(args.proofs)]
            # Sanity: the proofs verify against the stored root.
            root = bytes.fromhex(audit.tree()["root"])
            proof = audit.inclusion(*inclusion[0])
            merkle.verify_inclusion(inclusion[0][0], size, bytes.fromhex(proof["leaf_hash"]),
                                    [bytes.fromhex(h) for h in proof["hashes"]], root)
            reads = counting_reads(app)
            inc, con = timed(inclusion, audit.inclusion), timed(consistency, audit.consistency)
            rows.append((size, built, inc, con, reads[0] / (2 * args.proofs)))
            app.close()
    base = rows[0]
    print(f"{'leaves':>9} {'grow s':>8} {'inclusion ms':>13} {'ratio':>6} "
          f"{'consistency ms':>15} {'ratio':>6} {'hashes read/proof':>18}")
    for size, built, inc, con, read in rows:
        print(f"{size:>9} {built:>8.1f} {inc * 1e3:>13.3f} {inc / base[2]:>6.2f} "
              f"{con * 1e3:>15.3f} {con / base[3]:>6.2f} {read:>18.1f}")
    if args.append:
        with tempfile.TemporaryDirectory() as directory:
            single, batched = tree_share(directory, args.append)
        print(f"share of append time spent growing the tree: {single:.1%} one development per"
              f" transaction, {batched:.1%} in batches of 1000")


if __name__ == "__main__":
    main()
