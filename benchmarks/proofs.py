"""Proof generation time across tree sizes: flat, since a proof reads O(log n) stored hashes.

    python benchmarks/proofs.py                          # 10k, 100k and 1M leaves, SQLite
    python benchmarks/proofs.py --sizes 10000,100000
    python benchmarks/proofs.py --store postgres --append 0   # the same on PostgreSQL

Each size gets a fresh store (a SQLite file, or a PostgreSQL schema dropped afterwards) whose
Merkle tree is grown through the recorder's own append path (`_grow_tree`, the code each
append runs) from synthetic 32-byte chain hashes; no events are needed, since proofs read only
the tree. Then it times inclusion proofs of random leaves and consistency proofs between
random sizes, and prints the median time of each, and its ratio to the smallest size's
(1.00 = flat; log2(n) grows by 1.5x from 10k to 1M), how many statements a proof sent to the
store and how many of the tree's rows (one per leaf, holding the subtrees it closes) it read,
on average; the time per hash a proof returns (a proof holds about log2(n) of them); and the
same proofs as a client gets them, through the API's endpoints (Flask's test client on the same
store: the request's routing, arguments, JSON and headers, without a network); and how many of
the tree's upper nodes the recorder's proof cache holds after them (timeline.proofcache).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import create_app
from benchmarks.common import POSTGRES
from timeline import merkle
from timeline.application import Timeline
from timeline.proofcache import FLOOR


def fresh(kind: str, directory: str, name: str) -> tuple[str, str | None]:
    """A new store's URL, and its PostgreSQL schema (to drop) if it has one."""
    if kind == "sqlite":
        return f"sqlite:///{directory}/{name}.db", None
    schema = f"bench_proofs_{uuid4().hex[:12]}"
    return f"{POSTGRES}?schema={schema}", schema


def drop(schema: str | None) -> None:
    if schema:
        import psycopg

        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def grown(url: str, size: int) -> Timeline:
    app = Timeline(url)
    recorder = app.recorder
    batch = 10000
    with recorder.datastore.transaction(commit=True) as c:
        for start in range(0, size, batch):
            hashes = [hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
                      for i in range(start, min(start + batch, size))]
            recorder._grow_tree(c, hashes)
    return app


class Counted:
    """A cursor that counts the statements it sends and the tree's rows they return."""

    def __init__(self, cursor, counts: dict[str, int]) -> None:
        self.cursor, self.counts, self.reads_nodes = cursor, counts, False

    def execute(self, statement, *args):
        self.counts["statements"] += 1
        self.reads_nodes = "SELECT leaf, hashes" in str(statement)
        return self.cursor.execute(statement, *args)

    def fetchall(self):
        rows = self.cursor.fetchall()
        if self.reads_nodes:
            self.counts["rows"] += len(rows)
        return rows

    def __getattr__(self, name):
        return getattr(self.cursor, name)


def counting(app: Timeline) -> dict[str, int]:
    """Count what the proofs send to the store, through every cursor the recorder opens."""
    counts = {"statements": 0, "rows": 0}
    datastore = app.recorder.datastore
    for opens in ("transaction", "cursor"):
        if hasattr(datastore, opens):
            original = getattr(datastore, opens)

            def counted(*args, original=original, **kwargs):
                @contextmanager
                def wrapped():
                    with original(*args, **kwargs) as cursor:
                        yield Counted(cursor, counts)
                return wrapped()

            setattr(datastore, opens, counted)
    return counts


def timed(calls: list, fn) -> float:
    """Median seconds per call."""
    times = []
    for args in calls:
        started = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def serving(url: str, inclusion: list) -> Callable[[str], None]:
    """A GET through the API on the store, as a client asks (Flask's test client: routing,
    arguments, JSON, headers; no network), warmed by as many untimed proofs."""
    client = create_app({"STORE": url}).test_client()

    def get(path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)

    for index, size in inclusion:
        get(f"/api/v1/audit/proof/inclusion?index={(index + 1) % size}&size={size}")
    return get


def tree_share(url: str, count: int) -> tuple[float, float]:
    """The share of appending time spent growing the tree (the recorder's hook, timed from
    inside), one development per transaction and then in one batch: the direct cost, which
    the machine's noise does not blur as it blurs a ratio of two runs."""
    from timeline.synth import Synthesizer, SynthReport, batches, record_batch, register_actors

    app = Timeline(url)
    recorder, spent = app.recorder, [0.0]
    grow = recorder._add_leaves  # where each append's seal grows the tree

    def timed_grow(*args):
        started = time.perf_counter()
        grow(*args)
        spent[0] += time.perf_counter() - started

    recorder._add_leaves = timed_grow
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


def measure(stores: dict[int, tuple[str, str | None]], proofs: int, rounds: int,
            rng: random.Random) -> list[tuple]:
    """Each size's row: grown, checked and warmed first, then timed in rounds that visit the
    sizes in turn (each round starting one size further on), so that every size meets the
    shared machine in the same states; the medians of the rounds' medians."""
    prepared = {}
    for size, (url, _) in stores.items():
        started = time.perf_counter()
        app = grown(url, size)
        built = time.perf_counter() - started
        audit = app.audit
        inclusion = [(rng.randrange(size), size) for _ in range(proofs)]
        consistency = [(rng.randrange(1, size), size) for _ in range(proofs)]
        # Sanity: the proofs verify against the stored root.
        root = bytes.fromhex(audit.tree()["root"])
        proof = audit.inclusion(*inclusion[0])
        merkle.verify_inclusion(inclusion[0][0], size, bytes.fromhex(proof["leaf_hash"]),
                                [bytes.fromhex(h) for h in proof["hashes"]], root)
        # Untimed proofs of other leaves first: the timed ones then meet the store, and the
        # recorder's proof cache, as a running service does, not as they are just after the
        # tree was written.
        warm_up = rng.sample(range(size), min(size, proofs))
        for index in warm_up:
            audit.inclusion(index, size)
        hashes = statistics.mean(
            [len(audit.inclusion(*call)["hashes"]) for call in inclusion]
            + [len(audit.consistency(*call)["hashes"]) for call in consistency])
        # A second recorder, warmed as the first (the timed rounds repeat these proofs), then
        # counting what the proofs send.
        counted = Timeline(url)
        for index in warm_up:
            counted.audit.inclusion(index, size)
        for call in inclusion:
            counted.audit.inclusion(*call)
        for call in consistency:
            counted.audit.consistency(*call)
        counts = counting(counted)
        for call in inclusion:
            counted.audit.inclusion(*call)
        for call in consistency:
            counted.audit.consistency(*call)
        counted.close()
        cache = app.recorder.proof_cache
        # The complete nodes at the cache's levels that the tree has, against those it holds.
        upper = sum(size >> level for level in range(cache.floor, size.bit_length()))
        counts["held"], counts["upper"] = len(cache.nodes), upper
        client = serving(url, inclusion)
        prepared[size] = (app, client, built, inclusion, consistency, counts, hashes)
    times: dict[int, list[list[float]]] = {size: [] for size in stores}
    order = list(stores)
    for turn in range(rounds):
        for size in order[turn % len(order):] + order[:turn % len(order)]:
            app, client, _, inclusion, consistency, _, _ = prepared[size]
            times[size].append([
                timed(inclusion, app.audit.inclusion),
                timed(consistency, app.audit.consistency),
                timed(inclusion, lambda i, n, get=client: get(
                    f"/api/v1/audit/proof/inclusion?index={i}&size={n}")),
                timed(consistency, lambda m, n, get=client: get(
                    f"/api/v1/audit/proof/consistency?from={m}&to={n}")),
            ])
    rows = []
    for size, (app, _, built, inclusion, consistency, counts, hashes) in prepared.items():
        app.close()
        inc, con, http_inc, http_con = (statistics.median(t) for t in zip(*times[size]))
        sent = len(inclusion) + len(consistency)
        rows.append((size, built, inc, con, counts["statements"] / sent,
                     counts["rows"] / sent, hashes, http_inc, http_con,
                     counts["held"], counts["upper"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="tree sizes, comma-separated")
    parser.add_argument("--proofs", type=int, default=300, help="proofs of each kind per size")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds over the sizes, in turn (medians of the rounds)")
    parser.add_argument("--append", type=int, default=2000,
                        help="developments appended to measure the tree's share (0: skip)")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite",
                        help=f"the store to measure (postgres: {POSTGRES}, or the server in"
                             " TIMELINE_TEST_POSTGRES)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(15)
    with tempfile.TemporaryDirectory() as directory:
        stores = {size: fresh(args.store, directory, f"tree-{size}") for size in sizes}
        try:
            rows = measure(stores, args.proofs, args.rounds, rng)
        finally:
            for _, schema in stores.values():
                drop(schema)
    base = rows[0]
    print(f"{args.store}: {args.proofs} proofs of each kind per size and round,"
          f" {args.rounds} rounds over the sizes in turn (medians)")
    print(f"{'leaves':>9} {'grow s':>8} {'inclusion ms':>13} {'ratio':>6} "
          f"{'consistency ms':>15} {'ratio':>6} {'statements/proof':>17} {'rows/proof':>11}"
          f" {'hashes/proof':>13} {'us/hash':>8} {'ratio':>6}")
    per_hash = [(row[2] + row[3]) / 2 / row[6] for row in rows]
    for (size, built, inc, con, statements, read, hashes, *_), each in zip(rows, per_hash):
        print(f"{size:>9} {built:>8.1f} {inc * 1e3:>13.3f} {inc / base[2]:>6.2f} "
              f"{con * 1e3:>15.3f} {con / base[3]:>6.2f} {statements:>17.1f} {read:>11.1f}"
              f" {hashes:>13.1f} {each * 1e6:>8.2f} {each / per_hash[0]:>6.2f}")
    print("through the API (GET /api/v1/audit/proof/..., Flask's test client):")
    print(f"{'leaves':>9} {'inclusion ms':>13} {'ratio':>6} {'consistency ms':>15} {'ratio':>6}")
    for size, *_, http_inc, http_con, _, _ in rows:
        print(f"{size:>9} {http_inc * 1e3:>13.3f} {http_inc / base[7]:>6.2f} "
              f"{http_con * 1e3:>15.3f} {http_con / base[8]:>6.2f}")
    print("the recorder's proof cache after the proofs (complete nodes from level"
          f" {FLOOR} up):")
    for size, *_, held, upper in rows:
        print(f"{size:>9} {held:>6} of the tree's {upper} held")
    if args.append:
        with tempfile.TemporaryDirectory() as directory:
            url, schema = fresh(args.store, directory, "append")
            try:
                single, batched = tree_share(url, args.append)
            finally:
                drop(schema)
        print(f"share of append time spent growing the tree: {single:.1%} one development per"
              f" transaction, {batched:.1%} in batches of 1000")


if __name__ == "__main__":
    main()
