"""The append cost of the hardened log, against the code before it, measured in the same run.

    python benchmarks/append.py                              # SQLite, 3 rounds each way
    python benchmarks/append.py --count 3000 --rounds 5 --postgres postgresql://postgres@127.0.0.1:5432/test

The baseline is the tree of a git revision (--baseline, by default the last commit before the
log was hardened), unpacked into a temporary folder. Each round runs the same workload in a
fresh process on a fresh store, once with the baseline's code and once with this tree's,
alternating, so that both meet the machine in the same state: synthetic developments recorded
one per transaction, then in batches of 1000. It prints the median rate of each, and the
ratio of this tree's rate to the baseline's (1.00 = the same; the hardened log's goal is 0.90
or more). Writes the table as JSON too.
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
from pathlib import Path
from uuid import uuid4

ROOT = Path(__file__).resolve().parents[1]
BEFORE_HARDENING = "5bb3066"  # the last commit before issue 14's hardened log


def measure(tree: str, store: str, count: int, actors: int) -> dict[str, float]:
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
    app = Timeline(store)
    synthesizer = Synthesizer(count, actors, 1)
    register_actors(app, synthesizer, SynthReport())
    contents = [payload for op, _, payload in synthesizer.plan() if op == "record"]
    started = time.perf_counter()
    for content, status, _ in contents:
        app.record_development(content, status)
    single = len(contents) / (time.perf_counter() - started)

    batched = Synthesizer(count, actors, 2)
    report = SynthReport()
    before = app.audit.count()
    elapsed = 0.0
    for operations in batches(batched, 1000):
        started = time.perf_counter()
        record_batch(app, 2, operations, report)
        elapsed += time.perf_counter() - started
    rates = {"single": single, "batches": (app.audit.count() - before) / elapsed}
    app.close()
    return rates


def fresh_postgres(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid4().hex[:12]}"
    return f"{base}?schema={schema}", schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run_worker(tree: Path, store: str, count: int, actors: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree), "--store", store,
         "--count", str(count), "--actors", str(actors)],
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
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.store, args.count, args.actors)))
        return

    rows = []
    with tempfile.TemporaryDirectory(prefix="timeline-append-") as tmp:
        directory = Path(tmp)
        trees = {"baseline": unpack(args.baseline, directory), "hardened": ROOT}
        kinds = ["sqlite"] + (["postgres"] if args.postgres != "off" else [])
        for kind in kinds:
            rates: dict[str, dict[str, list[float]]] = {
                way: {"single": [], "batches": []} for way in trees
            }
            for round_ in range(args.rounds):
                # Alternate which goes first, so that neither always meets a warmer machine.
                order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
                for way in order:
                    if kind == "sqlite":
                        store, schema = f"sqlite:///{directory / f'{uuid4().hex}.db'}", None
                    else:
                        store, schema = fresh_postgres(args.postgres)
                    try:
                        found = run_worker(trees[way], store, args.count, args.actors)
                    finally:
                        if schema:
                            drop_schema(args.postgres, schema)
                    for measure_, rate in found.items():
                        rates[way][measure_].append(rate)
            for measure_, label in (("single", "developments/s, one per transaction"),
                                    ("batches", "events/s, batches of 1000")):
                baseline = statistics.median(rates["baseline"][measure_])
                hardened = statistics.median(rates["hardened"][measure_])
                rows.append({"store": kind, "measure": label, "baseline": round(baseline),
                             "hardened": round(hardened), "ratio": round(hardened / baseline, 3)})
    print(f"append cost: {args.count} developments, {args.rounds} rounds each way,"
          f" baseline {args.baseline}")
    print(f"  {'store':<9} {'measure':<38} {'baseline':>9} {'hardened':>9} {'ratio':>6}")
    for row in rows:
        print(f"  {row['store']:<9} {row['measure']:<38} {row['baseline']:>9}"
              f" {row['hardened']:>9} {row['ratio']:>6.2f}")
    args.json.write_text(json.dumps({"count": args.count, "rounds": args.rounds,
                                     "baseline": args.baseline, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
