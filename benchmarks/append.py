"""The append cost of the hardened log, against the code before it, measured in the same run.

    python benchmarks/append.py                              # SQLite, 3 rounds each way
    python benchmarks/append.py --count 3000 --rounds 5 --postgres postgresql://postgres@127.0.0.1:5432/test

The baseline is the tree of a git revision (--baseline, by default the last commit before the
log was hardened), unpacked into a temporary folder. Each round runs the same workload in a
fresh process on a fresh store three ways, in an order that alternates from round to round, so
that all meet the machine in the same state: with the baseline's code, with this tree's, and
with this tree's with the Merkle tree's growth switched off (the worker replaces the recorder's
`_add_leaves` with a no-op: a measurement, not a setting of the product). The workload:
synthetic developments recorded one per transaction, then in batches of 1000. It prints the
median rate of each, the ratio of this tree's rate to the baseline's (1.00 = the same; the
hardened log's goal is 0.90 or more), and the tree's own cost: this tree's rate with the tree
over its rate without (1.00 = free). On SQLite each worker also counts the write-ahead log's
frames per single append: the `-wal` file's size after a `wal_checkpoint(TRUNCATE)` and 100
more appends, over 100 frames of a 4096-byte page and its 24-byte header. And each worker of
this tree measures the tree's cost inside its own process as well: blocks of 50 single appends
with the tree's growth on and off in turn (see `interleaved`), less blurred by a shared
machine than a ratio of separate processes. Each rate is also given per second of the
worker's CPU time (user and system, `time.process_time`): on a machine whose disk is shared,
a commit's wait for the disk is most of a single append's wall time and moves with what the
other processes write, while its CPU time is the append's own work (the pages it writes
included). Writes the table as JSON too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import uuid4

ROOT = Path(__file__).resolve().parents[1]
BEFORE_HARDENING = "5bb3066"  # the last commit before issue 14's hardened log


WAL_FRAME = 4096 + 24  # a page of the default size and its frame header
WAL_APPENDS = 100


BLOCK = 50  # single appends per block of the interleaved measure


def tree_hooks() -> list[tuple[type, Any]]:
    """The recorders' hooks that write the tree's rows, as the code has them."""
    from timeline import store

    hooks = [(store.EventLog, store.EventLog.__dict__["_add_leaves"])]
    try:
        from timeline import postgres
    except ImportError:  # no psycopg: the SQLite store only
        return hooks
    return [*hooks, (postgres.PostgresTimelineRecorder,
                     postgres.PostgresTimelineRecorder.__dict__["_add_leaves"])]


def without_tree() -> None:
    """Switch the Merkle tree's growth off in this worker: every recorder's hook that writes
    the tree's rows does nothing (the seal, the chain and the rest of the append run as ever)."""
    for cls, _ in tree_hooks():
        cls._add_leaves = lambda self, c, leaves, size, last: None


def interleaved(app: Any, contents: list) -> float:
    """The tree's cost inside one process on one store: blocks of BLOCK single appends, the
    tree's growth on and off in turn; the median block time without it over the median with
    it (this process's rate with the tree over its rate without). The machine's state drifts
    less within a block than between the processes of a round. The blocks without the tree
    leave it behind the chain: a benchmark store only."""
    hooks = tree_hooks()
    times: dict[bool, list[float]] = {True: [], False: []}
    block = max(1, min(BLOCK, len(contents) // 2))  # a block each way at least, at tiny sizes
    try:
        for number, start in enumerate(range(0, len(contents) - block + 1, block)):
            tree_on = number % 2 == 0
            if tree_on:
                for cls, hook in hooks:
                    cls._add_leaves = hook
            else:
                without_tree()
            started = time.perf_counter()
            for content, status, _ in contents[start:start + block]:
                app.record_development(content, status)
            times[tree_on].append(time.perf_counter() - started)
    finally:
        for cls, hook in hooks:
            cls._add_leaves = hook
    return statistics.median(times[False]) / statistics.median(times[True])


def wal_frames(app, path: str, contents: list) -> float:
    """Write-ahead log frames per single append: the log emptied, then WAL_APPENDS appends."""
    import sqlite3

    with closing(sqlite3.connect(path)) as db:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise SystemExit("the write-ahead log could not be emptied: another connection reads")
    for content, status, _ in contents[:WAL_APPENDS]:
        app.record_development(content, status)
    return os.path.getsize(f"{path}-wal") / WAL_FRAME / WAL_APPENDS


def measure(tree: str, store: str, count: int, actors: int, tree_off: bool = False
            ) -> dict[str, float]:
    """In a worker process: the rates of one workload with the code of `tree`."""
    sys.path.insert(0, tree)
    import timeline
    from timeline.application import Timeline
    from timeline.synth import (
        Synthesizer,
        SynthReport,
        batches,
        record_batch,
        register_actors,
    )

    assert timeline.__file__.startswith(tree), (timeline.__file__, tree)
    if tree_off:
        without_tree()
    app = Timeline(store)
    synthesizer = Synthesizer(count, actors, 1)
    register_actors(app, synthesizer, SynthReport())
    contents = [payload for op, _, payload in synthesizer.plan() if op == "record"]
    started, cpu = time.perf_counter(), time.process_time()
    for content, status, _ in contents:
        app.record_development(content, status)
    single = len(contents) / (time.perf_counter() - started)
    single_cpu = len(contents) / (time.process_time() - cpu)
    frames = None
    if store.startswith("sqlite:///"):  # untimed: more of the same developments
        frames = wal_frames(app, store.removeprefix("sqlite:///"),
                            [payload for op, _, payload in Synthesizer(WAL_APPENDS, actors, 3)
                             .plan() if op == "record"])

    batched = Synthesizer(count, actors, 2)
    report = SynthReport()
    before = app.audit.count()
    elapsed = elapsed_cpu = 0.0
    for operations in batches(batched, 1000):
        started, cpu = time.perf_counter(), time.process_time()
        record_batch(app, 2, operations, report)
        elapsed += time.perf_counter() - started
        elapsed_cpu += time.process_time() - cpu
    appended = app.audit.count() - before
    rates = {"single": single, "batches": appended / elapsed,
             "single_cpu": single_cpu, "batches_cpu": appended / elapsed_cpu}
    if frames is not None:
        rates["wal_frames"] = frames
    if not tree_off and hasattr(timeline.store.EventLog, "_add_leaves"):  # the baseline has none
        rates["interleaved"] = interleaved(
            app, [payload for op, _, payload in Synthesizer(count, actors, 4).plan()
                  if op == "record"])
    app.close()
    return rates


def fresh_postgres(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid4().hex[:12]}"
    return f"{base}?schema={schema}", schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run_worker(tree: Path, store: str, count: int, actors: int, tree_off: bool
               ) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree), "--store", store,
         "--count", str(count), "--actors", str(actors)] + (["--tree-off"] if tree_off else []),
        capture_output=True, text=True, check=False, cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def unpack(revision: str, directory: Path) -> Path:
    tree = directory / f"baseline-{revision}"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BEFORE_HARDENING,
                        help="git revision whose code is the baseline")
    parser.add_argument("--count", type=int, default=2000,
                        help="developments per workload (each way, each round)")
    parser.add_argument("--actors", type=int, default=200, help="actors of the synthetic data")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each running both ways")
    parser.add_argument("--postgres", default="off",
                        help="a PostgreSQL server URL to measure there too, or off")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "append.json",
                        help="where to write the table")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--tree-off", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.store, args.count, args.actors,
                                 args.tree_off)))
        return

    rows = []
    inside: dict[str, float] = {}  # the interleaved tree cost, by store
    with tempfile.TemporaryDirectory(prefix="timeline-append-") as tmp:
        directory = Path(tmp)
        baseline = unpack(args.baseline, directory)
        # way: (the code's tree, the Merkle tree's growth switched off)
        ways = {"baseline": (baseline, False), "hardened": (ROOT, False),
                "no tree": (ROOT, True)}
        kinds = ["sqlite"] + (["postgres"] if args.postgres != "off" else [])
        for kind in kinds:
            rates: dict[str, dict[str, list[float]]] = {way: {} for way in ways}
            for round_ in range(args.rounds):
                # Rotate which goes first, so that none always meets a warmer machine.
                order = list(ways)[round_ % 3:] + list(ways)[:round_ % 3]
                if round_ % 2:
                    order.reverse()
                for way in order:
                    if kind == "sqlite":
                        store, schema = f"sqlite:///{directory / f'{uuid4().hex}.db'}", None
                    else:
                        store, schema = fresh_postgres(args.postgres)
                    try:
                        found = run_worker(ways[way][0], store, args.count, args.actors,
                                           ways[way][1])
                    finally:
                        if schema:
                            drop_schema(args.postgres, schema)
                    for measure_, rate in found.items():
                        rates[way].setdefault(measure_, []).append(rate)
            if "interleaved" in rates["hardened"]:
                inside[kind] = statistics.median(rates["hardened"]["interleaved"])
            for measure_, label in (("single", "developments/s, one per transaction"),
                                    ("batches", "events/s, batches of 1000"),
                                    ("single_cpu", "developments/CPU s, one per transaction"),
                                    ("batches_cpu", "events/CPU s, batches of 1000"),
                                    ("wal_frames", "WAL frames per single append")):
                if measure_ not in rates["hardened"]:
                    continue
                median = {way: statistics.median(rates[way][measure_]) for way in ways}
                rows.append({
                    "store": kind, "measure": label,
                    **{way: round(median[way], 2 if measure_ == "wal_frames" else 0)
                       for way in ways},
                    "ratio": round(median["hardened"] / median["baseline"], 3),
                    "tree cost": round(median["hardened"] / median["no tree"], 3),
                })
    print(f"append cost: {args.count} developments, {args.rounds} rounds each way,"
          f" baseline {args.baseline}; ratio = hardened / baseline,"
          " tree cost = hardened / no tree")
    print(f"  {'store':<9} {'measure':<40} {'baseline':>9} {'hardened':>9} {'no tree':>9}"
          f" {'ratio':>6} {'tree cost':>9}")
    for row in rows:
        print(f"  {row['store']:<9} {row['measure']:<40} {row['baseline']:>9}"
              f" {row['hardened']:>9} {row['no tree']:>9} {row['ratio']:>6.2f}"
              f" {row['tree cost']:>9.2f}")
    for kind, ratio in inside.items():
        print(f"  {kind}: tree cost inside one process (blocks of {BLOCK} single appends, the"
              f" tree on and off in turn), median of {args.rounds} rounds: {ratio:.2f}")
    args.json.write_text(json.dumps({"count": args.count, "rounds": args.rounds,
                                     "baseline": args.baseline, "rows": rows,
                                     "interleaved tree cost": inside}, indent=1))

if __name__ == "__main__":
    main()
