"""Projection speed of two code trees on copies of one SQLite store, side by side.

    python benchmarks/projection_ab.py BEFORE_TREE AFTER_TREE STORE.db [--rounds 5]
    python benchmarks/projection_ab.py BEFORE_TREE AFTER_TREE 'postgresql://...?schema=NAME'

Each round rebuilds the read model with each tree (which goes first alternates), then catches
up the whole log in a fresh process (runs of ReadModel.catch_up_batch, as a serving process
applies a backlog), on a fresh copy of the store (a PostgreSQL store is used as it is: each
tree resets the view before it projects); the raw read+decode ceiling (every stored event read
and json.loads-ed in plain Python, through sqlite3 or psycopg) is measured after each. It prints medians in
events per second of wall-clock and of CPU time (the latter steadier on a shared machine),
each as a ratio to the ceiling measured the same way.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from timeline.application import Timeline

def timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    events = work()
    return events / (time.perf_counter() - wall), events / (time.process_time() - cpu)

url = sys.argv[2] if "://" in sys.argv[2] else "sqlite:///" + sys.argv[2]
app = Timeline(url)
app.read_model.rebuild()  # the view in this tree's shape, and the file in the page cache
rebuild = timed(app.read_model.rebuild)
app.read_model.view.reset(app.name)
app.close()
app = Timeline(url)  # as a fresh serving process finds a backlog
catch_up = timed(app.read_model.catch_up)
app.close()
print(json.dumps({"rebuild": rebuild, "catch-up": catch_up}))
"""


def ceiling(store: str) -> tuple[float, float]:
    """Events per second (wall, CPU) of reading and decoding every stored event."""
    if "://" in store:
        return postgres_ceiling(store)
    db = sqlite3.connect(store)
    wall, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for row in db.execute("SELECT rowid, state FROM stored_events")
                if json.loads(row[1]) is not None)
    found = count / (time.perf_counter() - wall), count / (time.process_time() - cpu)
    db.close()
    return found


def postgres_ceiling(url: str) -> tuple[float, float]:
    """The same through psycopg, as bench.py's raw_postgres_read_decode reads it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from timeline.application import Timeline

    app = Timeline(url)
    table = app.recorder.table(app.recorder.events_table_name)
    with app.recorder.datastore.transaction(commit=False) as c:
        wall, cpu = time.perf_counter(), time.process_time()
        c.execute(f"SELECT notification_id, state FROM {table}")
        count = sum(1 for row in c.fetchall() if json.loads(bytes(row["state"])) is not None)
        found = count / (time.perf_counter() - wall), count / (time.process_time() - cpu)
    app.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="the code tree measured first (a checkout)")
    parser.add_argument("after", type=Path, help="the code tree compared with it")
    parser.add_argument("store", help="a SQLite store's file (e.g. from timeline synth), or a"
                        " PostgreSQL store's URL")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per tree")
    args = parser.parse_args()
    trees = {"before": args.before, "after": args.after}
    rates: dict[str, dict[str, list[tuple[float, float]]]] = {
        name: {"rebuild": [], "catch-up": []} for name in trees}
    ceilings = []
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory) / "store.db"
        for number in range(args.rounds):
            order = list(trees) if number % 2 == 0 else list(reversed(trees))
            for name in order:
                store = args.store
                if "://" not in store:
                    shutil.copy(store, copy)
                    store = str(copy)
                out = subprocess.run([sys.executable, "-c", CHILD, str(trees[name]), store],
                                     capture_output=True, text=True, check=True).stdout
                for measure, figures in json.loads(out).items():
                    rates[name][measure].append(tuple(figures))
                ceilings.append(ceiling(store))
    wall = statistics.median(c[0] for c in ceilings)
    cpu = statistics.median(c[1] for c in ceilings)
    print(f"raw read+decode ceiling: {wall:,.0f} events/s wall, {cpu:,.0f} of CPU time"
          f" (medians of {len(ceilings)})")
    for name, measures in rates.items():
        for measure, figures in measures.items():
            w = statistics.median(f[0] for f in figures)
            c = statistics.median(f[1] for f in figures)
            print(f"  {name:<6} {measure:<8} {w:>8,.0f}/s wall ({w / wall:.3f}x)"
                  f" {c:>8,.0f}/s CPU ({c / cpu:.3f}x)")


if __name__ == "__main__":
    main()
