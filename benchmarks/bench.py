"""Timeline benchmarks: every timing beside a baseline measured in the same run, as a ratio.

    python benchmarks/bench.py                      # quick: 10k developments, under a minute
    python benchmarks/bench.py --sizes 10000,100000,1000000 --http-seconds 10   # the full run

For each size it fills a fresh SQLite store through the application (timeline.synth), then
measures: ingest (one development per transaction, and in batches) against raw sqlite3
executemany of the same rows into a table of the same shape; a projection rebuild against a
raw read of the same events table, and the peak memory of `timeline project --rebuild` in a
process of its own; query latency in process (p50, p99). On the largest size it
serves the store with gunicorn (2 workers) and loads it from a client process on this machine,
comparing the relationship endpoints with /healthz of the same server, and reads the peak
memory of the server's workers. Where PostgreSQL is reachable, ingest, rebuild and queries run
there too (sizes up to --postgres-max). It prints one table, and writes it as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TextIO
from uuid import uuid4

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import free_port, percentile

from timeline.application import Timeline
from timeline.cli import Bars
from timeline.readmodel import ViewQueries
from timeline.seeding import seed as load_seeds
from timeline.synth import Synthesizer, SynthReport, batches, record_batch, register_actors

ROWS: list[tuple[str, str, str, str]] = []  # (measure, size, figure, baseline/ratio)


def row(measure: str, size: str, figure: str, against: str = "") -> None:
    ROWS.append((measure, size, figure, against))
    print(f"  {measure:<56} {size:>5}  {figure:>20}  {against}", flush=True)


def human(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
        f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))


# --- ingest --------------------------------------------------------------------------------


def ingest(url: str, size: int, actors: int, seed: int) -> tuple[Timeline, Synthesizer, float]:
    """Events per second of the synthetic history recorded in batches of 1000 developments:
    the application's work only, as the raw baseline writes rows made beforehand."""
    app = Timeline(url)
    # Not timed: the article (48 events; seeding projects what the store holds, and projecting
    # is measured by the rebuild, once), the actors, registered one by one, and making up each
    # batch of the synthetic history.
    load_seeds(app, ROOT / "seeds")
    synthesizer = Synthesizer(size, actors, seed)
    report = SynthReport()
    register_actors(app, synthesizer, report)
    before = app.audit.count()
    elapsed = 0.0
    for operations in batches(synthesizer, 1000):
        started = time.perf_counter()
        record_batch(app, seed, operations, report)
        elapsed += time.perf_counter() - started
    return app, synthesizer, (app.audit.count() - before) / elapsed


def mapper_rates(app: Timeline, limit: int = 20_000) -> tuple[float, float]:
    """Events per second through the library's mapper alone, with no store and no view: to
    stored events (what every write pays before its insert) and back to domain events (what
    every projection pays before it applies one). The ceilings of ingest and rebuild, over the
    log's first events (the process's caches as ingest left them); the median of three
    rounds, as one round swings with the machine."""
    notifications = app.recorder.select_notifications(start=0, limit=limit)
    encode, decode = [], []
    for _ in range(3):
        started = time.perf_counter()
        events = [app.mapper.to_domain_event(n) for n in notifications]
        decode.append(len(events) / (time.perf_counter() - started))
        started = time.perf_counter()
        for event in events:
            app.mapper.to_stored_event(event)
        encode.append(len(events) / (time.perf_counter() - started))
    return statistics.median(encode), statistics.median(decode)


def ingest_one_by_one(url: str, count: int, actors: int, seed: int) -> float:
    """Developments per second, each recorded in its own transaction."""
    app = Timeline(url)
    synthesizer = Synthesizer(count, actors, seed)
    register_actors(app, synthesizer, SynthReport())
    contents = [payload for op, _, payload in synthesizer.plan() if op == "record"]
    started = time.perf_counter()
    for content, status, _ in contents:
        app.record_development(content, status)
    elapsed = time.perf_counter() - started
    app.close()
    return len(contents) / elapsed


def raw_sqlite_ingest(store_path: Path, directory: Path) -> float:
    """Rows per second for the same stored rows written by sqlite3 executemany, in
    transactions of 1000 rows, into a table of the same shape in WAL mode."""
    with sqlite3.connect(store_path) as source:
        rows = source.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events"
            " ORDER BY rowid").fetchall()
    target = directory / f"raw-{uuid4().hex}.db"
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER,"
               " topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))")
    started = time.perf_counter()
    for start in range(0, len(rows), 1000):
        db.execute("BEGIN")
        db.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", rows[start:start + 1000])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    target.unlink()
    return len(rows) / elapsed


def raw_sqlite_read(store_path: Path) -> float:
    db = sqlite3.connect(store_path)
    started = time.perf_counter()
    count = sum(1 for _ in db.execute("SELECT rowid, * FROM stored_events"))
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


def raw_sqlite_read_decode(store_path: Path) -> float:
    """Events per second read from the events table and decoded (json.loads of each), in
    plain Python: the ceiling of any projection in this language (issue 19)."""
    db = sqlite3.connect(store_path)
    started = time.perf_counter()
    count = sum(1 for row in db.execute("SELECT rowid, state FROM stored_events")
                if json.loads(row[1]) is not None)
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


def raw_postgres_read_decode(app: Timeline) -> float:
    """The same ceiling through psycopg: every stored event read and decoded."""
    table = app.recorder.table(app.recorder.events_table_name)
    with app.recorder.datastore.transaction(commit=False) as c:
        started = time.perf_counter()
        c.execute(f"SELECT notification_id, state FROM {table}")
        count = sum(1 for row in c.fetchall() if json.loads(bytes(row["state"])) is not None)
        elapsed = time.perf_counter() - started
    return count / elapsed


# The tables of the log (the events and their chain hashes, as issue 19 counts it), of its
# Merkle tree, and of the read model.
LOG_TABLES = ("stored_events", "timeline_events", "event_hashes")
VIEW_TABLES = ViewQueries.VIEW_TABLES  # the read model's tables, outlines included


def sqlite_bytes(store_path: Path) -> dict[str, int]:
    """Bytes of each table with its indexes (dbstat), by table."""
    db = sqlite3.connect(store_path)
    rows = db.execute("SELECT s.name, m.tbl_name, SUM(s.pgsize) FROM dbstat s"
                      " JOIN sqlite_schema m ON m.name = s.name GROUP BY s.name").fetchall()
    db.close()
    found: dict[str, int] = {}
    for _, table, size in rows:
        found[table] = found.get(table, 0) + size
    return found


def postgres_bytes(app: Timeline) -> dict[str, int]:
    """Bytes of each table with its indexes and TOAST (pg_total_relation_size), by table."""
    with app.recorder.datastore.transaction(commit=False) as c:
        c.execute("SELECT tablename, pg_total_relation_size(quote_ident(schemaname) || '.'"
                  " || quote_ident(tablename)) AS size FROM pg_tables WHERE schemaname = %s",
                  (app.recorder.datastore.schema,))
        return {row["tablename"]: row["size"] for row in c.fetchall()}


def footprint(sizes: dict[str, int]) -> tuple[int, int, int]:
    """(log, tree, read model) bytes."""
    return (sum(sizes.get(t, 0) for t in LOG_TABLES), sizes.get("event_tree_rows", 0),
            sum(sizes.get(t, 0) for t in VIEW_TABLES))


def raw_postgres_read(app: Timeline) -> float:
    table = app.recorder.table(app.recorder.events_table_name)
    with app.recorder.datastore.transaction(commit=False) as c:
        started = time.perf_counter()
        c.execute(f"SELECT * FROM {table}")
        count = len(c.fetchall())
        elapsed = time.perf_counter() - started
    return count / elapsed


def raw_postgres_ingest(app: Timeline) -> float:
    table = app.recorder.table(app.recorder.events_table_name)
    copy = f'"{app.recorder.datastore.schema}".raw_{uuid4().hex[:8]}'
    with app.recorder.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT originator_id, originator_version, topic, state FROM {table}")
        rows = [tuple(r.values()) for r in c.fetchall()]
    with app.recorder.datastore.transaction(commit=True) as c:
        c.execute(f"CREATE TABLE {copy} (originator_id uuid, originator_version bigint,"
                  " topic text, state bytea, PRIMARY KEY (originator_id, originator_version))")
    started = time.perf_counter()
    for start in range(0, len(rows), 1000):
        with app.recorder.datastore.transaction(commit=True) as c:
            c.executemany(f"INSERT INTO {copy} VALUES (%s, %s, %s, %s)", rows[start:start + 1000])
    elapsed = time.perf_counter() - started
    with app.recorder.datastore.transaction(commit=True) as c:
        c.execute(f"DROP TABLE {copy}")
    return len(rows) / elapsed


def outline_timer(app: Timeline) -> list[tuple[int, float]]:
    """Time each ReadModel.outline_pairs of `app` from now on (until the attribute is
    deleted): (pairs outlined, seconds) of each call, in a list."""
    timed: list[tuple[int, float]] = []
    real = app.read_model.outline_pairs

    def outline_pairs(*args: Any, **kwargs: Any) -> int:
        started = time.perf_counter()
        pairs = real(*args, **kwargs)
        timed.append((pairs, time.perf_counter() - started))
        return pairs

    app.read_model.outline_pairs = outline_pairs  # type: ignore[method-assign]
    return timed


def rebuild_rates(app: Timeline, rounds: int) -> tuple[float, float, float]:
    """Events per second of a rebuild without a progress callback, and with the bars that
    `timeline project --rebuild` draws, drawn on a pseudo-terminal (read by a thread, as a
    terminal would): the median of `rounds` rounds, each a rebuild of both kinds, in turns
    (which goes first alternates: a second rebuild in a row may find the disk otherwise).
    Also the share of the rebuilds with bars spent in the bars' own calls: the direct cost,
    which the machine's noise does not blur as it blurs the ratio."""
    plain, shown = [], []
    in_bars = elapsed = 0.0
    for number in range(rounds):
        for with_bars in (False, True) if number % 2 == 0 else (True, False):
            if not with_bars:
                started = time.perf_counter()
                events = app.read_model.rebuild()
                plain.append(events / (time.perf_counter() - started))
                continue
            with terminal() as screen:
                bars = Timed(Bars(screen))
                started = time.perf_counter()
                events = app.read_model.rebuild(progress=bars)
                bars.progress.close()
                took = time.perf_counter() - started
                in_bars += bars.seconds
                elapsed += took
                shown.append(events / took)
    return statistics.median(plain), statistics.median(shown), in_bars / elapsed


class Timed:
    """A progress callback that adds up the time another one takes."""

    def __init__(self, progress: Bars) -> None:
        self.progress = progress
        self.seconds = 0.0

    def __call__(self, step: str, done: int, total: int | None) -> None:
        called = time.perf_counter()
        self.progress(step, done, total)
        self.seconds += time.perf_counter() - called


@contextmanager
def terminal() -> Iterator[TextIO]:
    """A pseudo-terminal to draw on, its other end read and thrown away by a thread."""
    master, slave = pty.openpty()
    screen = os.fdopen(slave, "w", encoding="utf-8")
    reader = threading.Thread(target=drain, args=(master,), daemon=True)
    reader.start()
    try:
        yield screen
    finally:
        screen.close()
        reader.join(timeout=5)
        os.close(master)


def drain(master: int) -> None:
    try:
        while os.read(master, 65536):
            pass
    except OSError:  # the other end was closed
        pass


# --- queries -------------------------------------------------------------------------------


# The article's pair and actor, seeded beside the synthetic history (whose actors are others):
# their answers are the same at every size, so their growth is the cost of history alone.
ARTICLE_PAIR, ARTICLE_DATE = ("china", "russia"), date(2024, 6, 30)


def query_latencies(app: Timeline, synthesizer: Synthesizer, count: int, seed_: int):
    """Milliseconds per query: a pair (drawn by activity) as of a date, an actor's
    relationships (a typical actor) as of a date, the pair as known at mid-history, as reported
    by a date, and on all three axes at once, and the article's pair and actor (the same answer
    at every size). Each time axis is a condition on the pair's index range, so each pair query
    stays O(developments of the pair) whatever the size of the store."""
    rng = random.Random(seed_)
    app.read_model.catch_up()
    known_at = middle_of_record_time(app)
    slugs = [actor["id"] for actor in synthesizer.actors]

    def as_of() -> date:
        return date(rng.randint(1970, 2024), rng.randint(1, 12), 28)

    timings: dict[str, list[float]] = {name: [] for name in QUERY_NAMES}
    returned: dict[str, list[int]] = {name: [] for name in QUERY_NAMES}
    for _ in range(count):
        a, b = synthesizer.pair()
        actor = rng.choice(slugs)
        when = as_of()
        for name, call, arguments in (
            ("pair", app.get_relationship, ((a, b), {"as_of": when})),
            ("actor", app.list_relationships, ((), {"actor": actor, "as_of": when})),
            ("known_at", app.get_relationship, ((a, b), {"known_at": known_at})),
            ("reported_by", app.get_relationship, ((a, b), {"reported_by": when})),
            ("three_axes", app.get_relationship,
             ((a, b), {"as_of": when, "reported_by": when, "known_at": known_at})),
            ("article_pair", app.get_relationship, (ARTICLE_PAIR, {"as_of": ARTICLE_DATE})),
            ("article_actor", app.list_relationships,
             ((), {"actor": ARTICLE_PAIR[0], "as_of": ARTICLE_DATE})),
        ):
            started = time.perf_counter()
            answer = call(*arguments[0], **arguments[1])
            timings[name].append((time.perf_counter() - started) * 1000)
            answers = answer if isinstance(answer, list) else [answer]
            returned[name].append(sum(len(r["developments"]) for r in answers))
    return timings, returned


def middle_of_record_time(app: Timeline):
    from datetime import datetime

    middle = app.audit.events(after=app.audit.count() // 2, limit=1)[0]["recorded_at"]
    return datetime.fromisoformat(middle)


# --- HTTP ----------------------------------------------------------------------------------


LOADGEN = r"""
import sys, threading, time, http.client
host, port, path, seconds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
done = [0]; errors = [0]; lock = threading.Lock(); stop = time.monotonic() + seconds
def work():
    n = e = 0
    while time.monotonic() < stop:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request("GET", path); r = conn.getresponse(); r.read()
            if r.status == 200: n += 1
            else: e += 1
        except Exception:
            e += 1
        finally:
            conn.close()
    with lock:
        done[0] += n; errors[0] += e
ts = [threading.Thread(target=work) for _ in range(threads)]
started = time.monotonic()
[t.start() for t in ts]; [t.join() for t in ts]
print(done[0] / (time.monotonic() - started), errors[0])
"""


def http_benchmark(url: str, synthesizer: Synthesizer, seconds: float, size: str) -> None:
    port = free_port()
    env = {**os.environ, "TIMELINE_STORE": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
         *no_control_socket(), "--log-level", "warning", "api:create_app()"],
        cwd=ROOT, env=env,
    )
    try:
        wait_until_up(port)
        a, b = typical_pair(synthesizer)
        actor = synthesizer.actors[len(synthesizer.actors) // 2]["id"]
        paths = {
            "/healthz": "/healthz",
            "GET /api/v1/relationships/{a}/{b}": f"/api/v1/relationships/{a}/{b}?as_of=2000-01-01",
            "GET /api/v1/relationships?actor=&as_of=": (
                f"/api/v1/relationships?actor={actor}&as_of=2000-01-01"),
        }
        rates = {}
        for name, path in paths.items():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as response:
                assert response.status == 200
            out = subprocess.run(
                [sys.executable, "-c", LOADGEN, "127.0.0.1", str(port), path, str(seconds), "8"],
                capture_output=True, text=True, check=True,
            ).stdout.split()
            rates[name] = float(out[0])
            if int(out[1]):
                print(f"  ({out[1]} failed requests on {name})")
        base = rates["/healthz"]
        row("HTTP /healthz (gunicorn, 2 workers)", size, f"{base:,.0f} req/s", "baseline")
        for name in list(paths)[1:]:
            row(f"HTTP {name}", size, f"{rates[name]:,.0f} req/s",
                f"{rates[name] / base:.2f}x /healthz")
        peak = max(peak_rss_kib(pid) for pid in children(server.pid))
        row("peak RSS of a server worker", size, f"{peak / 1024:,.0f} MiB")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def no_control_socket() -> list[str]:
    """gunicorn 25.1 on opens a control socket unless told not to; older ones (Timeline takes
    23 on) know no such option and would refuse it."""
    from gunicorn.config import Config

    return ["--no-control-socket"] if "control_socket_disable" in Config().settings else []


def wait_until_up(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def typical_pair(synthesizer: Synthesizer) -> tuple[str, str]:
    """A pair of two middling actors: a typical relationship, neither the busiest nor empty."""
    middle = len(synthesizer.actors) // 4
    return synthesizer.actors[middle]["id"], synthesizer.actors[middle + 1]["id"]


def children(pid: int) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(p) for p in out.split()] or [pid]


# Runs the CLI, then prints the process's peak RSS as its memory map counted it (VmHWM, KiB).
# Not getrusage's ru_maxrss: a child's counts its parent's RSS when it was forked (this
# process's, hundreds of MiB after a large store's runs).
PEAK_OF_CLI = """import sys
from timeline.cli import main
try:
    main(sys.argv[1:])
finally:
    print(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")))
"""


def rebuild_peak_rss_kib(url: str) -> int:
    """The peak RSS (KiB) of `timeline project --rebuild` in a process of its own."""
    done = subprocess.run([sys.executable, "-c", PEAK_OF_CLI, "--store", url, "project",
                           "--rebuild", "-q"], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"timeline project --rebuild failed: {done.stderr}")
    return int(done.stdout.split()[-2])  # "VmHWM:  123456 kB"


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


# --- the run -------------------------------------------------------------------------------


def bench_store(kind: str, url: str, path: Path | None, size: int, args, directory: Path):
    label = f"{kind} {human(size)}"
    app, synthesizer, batch_rate = ingest(url, size, args.actors, args.seed)
    if kind == "sqlite":
        raw = raw_sqlite_ingest(path, directory)
    else:
        raw = raw_postgres_ingest(app)
    encode, decode = mapper_rates(app)
    row(f"ingest in batches of 1000, events/s ({kind})", human(size), f"{batch_rate:,.0f}",
        f"{batch_rate / raw:.2f}x raw executemany ({raw:,.0f}/s)")
    row("  ceiling: the mapper alone (no store), to stored events/s", human(size),
        f"{encode:,.0f}", f"{encode / raw:.2f}x raw executemany")
    # The history was recorded without projecting: a backlog, caught up as a serving process's
    # background projector does (runs of ReadModel.next_run, one transaction each), then
    # rebuilt.
    target = 0.35 if kind == "sqlite" else 0.25
    outlines = outline_timer(app)
    started = time.perf_counter()
    caught = app.read_model.catch_up_in_runs()
    caught_in = time.perf_counter() - started
    catch_up = caught / caught_in
    started = time.perf_counter()
    events = app.read_model.rebuild()
    took = time.perf_counter() - started
    rebuild = events / took
    del app.read_model.outline_pairs
    (caught_pairs, caught_outlining), (pairs, seconds) = outlines
    raw_read = raw_sqlite_read(path) if kind == "sqlite" else raw_postgres_read(app)
    ceiling = raw_sqlite_read_decode(path) if kind == "sqlite" else raw_postgres_read_decode(app)
    row(f"projection catch-up of the backlog, events/s ({kind})", human(size),
        f"{catch_up:,.0f}", f"{catch_up / ceiling:.3f}x raw read+decode ({ceiling:,.0f}/s);"
        f" target {target}x")
    row(f"projection rebuild, events/s ({kind})", human(size), f"{rebuild:,.0f}",
        f"{rebuild / ceiling:.3f}x raw read+decode ({ceiling:,.0f}/s); target {target}x;"
        f" {rebuild / raw_read:.3f}x raw read ({raw_read:,.0f}/s)")
    row(f"  of which outlining the pairs, catch-up ({kind})", human(size),
        f"{caught_pairs:,} pairs in {caught_outlining:.1f} s",
        f"{caught_outlining / caught_in:.0%} of the catch-up")
    row(f"  of which outlining the pairs, rebuild ({kind})", human(size),
        f"{pairs:,} pairs in {seconds:.1f} s", f"{seconds / took:.0%} of the rebuild")
    log, tree, view = footprint(sqlite_bytes(path) if kind == "sqlite" else postgres_bytes(app))
    row(f"read model bytes ({kind})", human(size), f"{view / 1e6:,.1f} MB",
        f"{view / log:.2f}x the log's {log / 1e6:,.1f} MB (events, hashes); target 1.0x;"
        f" {view / (log + tree):.2f}x with its Merkle tree")
    row("  ceiling: the mapper alone (no store), to domain events/s", human(size),
        f"{decode:,.0f}", f"{decode / raw_read:.3f}x raw read; rebuild {rebuild / decode:.2f}x it")
    plain, shown, share = rebuild_rates(app, args.progress_rounds)
    row(f"projection rebuild with its progress bar on a terminal, events/s ({kind})",
        human(size), f"{shown:,.0f}",
        f"{shown / plain:.3f}x without a bar ({plain:,.0f}/s), median of"
        f" {args.progress_rounds} rounds; {share:.4%} of it in the bar's calls")
    peak = rebuild_peak_rss_kib(url)
    row(f"peak RSS of timeline project --rebuild, its own process ({kind})", human(size),
        f"{peak / 1024:,.0f} MiB", f"{peak * 1024 / 1e6:,.0f} MB; target under 400 MB at 1M")
    timings, returned = query_latencies(app, synthesizer, args.queries, args.seed)
    pair_p50 = statistics.median(timings["pair"])
    for name, values in timings.items():
        # The other axes on one pair, beside the pair as of a date: flat across sizes when
        # each axis stays a condition on the pair's index range.
        ratio = (f"; {statistics.median(values) / pair_p50:.2f}x the pair as of a date"
                 if name in ("known_at", "reported_by", "three_axes") else "")
        row(f"query {QUERY_NAMES[name]} ({kind})", human(size),
            f"p50 {statistics.median(values):.2f} ms",
            f"p99 {percentile(values, 0.99):.2f} ms; returns a median"
            f" {statistics.median(returned[name]):.0f}, at most {max(returned[name])}"
            f" developments{ratio}")
    app.close()
    return label, synthesizer, timings


QUERY_NAMES = {
    "pair": "one pair as of a date",
    "actor": "one actor's relationships as of a date",
    "known_at": "one pair as known at mid-history",
    "reported_by": "one pair as reported by a date",
    "three_axes": "one pair as of, reported by and known at",
    "article_pair": "the article's pair (same answer at every size)",
    "article_actor": "the article's actor (same answer at every size)",
}


def stop(*_: object) -> None:
    """On SIGTERM, still drop the PostgreSQL schemas and remove the temporary stores: exit
    through the `finally` clauses, and let a second SIGTERM not interrupt them."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(143)


def at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated numbers of developments (default: a quick run)")
    parser.add_argument("--actors", type=int, default=1000,
                        help="actors of the synthetic history (as timeline synth --actors)")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the synthetic history and of the drawn queries")
    parser.add_argument("--queries", type=int, default=200, help="queries of each kind per size")
    parser.add_argument("--single", type=int, default=2000,
                        help="developments recorded one per transaction")
    parser.add_argument("--http-seconds", type=float, default=4.0,
                        help="load per endpoint; 0 skips the HTTP part")
    parser.add_argument("--progress-rounds", type=at_least_one, default=1,
                        help="rebuilds with and without a progress bar, in turn, per size")
    parser.add_argument("--postgres", default=os.environ.get(
        "TIMELINE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"),
        help="PostgreSQL server URL, or 'off'")
    parser.add_argument("--postgres-max", type=int, default=1_000_000,
                        help="largest size also run on PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true",
                        help="skip the SQLite part (to measure PostgreSQL alone)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json",
                        help="where the results are also written, as JSON")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop)
    sizes = [int(s) for s in args.sizes.split(",")]
    directory = Path(tempfile.mkdtemp(prefix="timeline-bench-"))
    print(f"Timeline benchmark: sizes {args.sizes}, {args.actors} actors, seed {args.seed},"
          f" {os.cpu_count()} cores\n")
    try:
        if not args.no_sqlite:
            sqlite(args, sizes, directory)
        if args.postgres != "off":
            postgres(args, sizes, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(
        {"sizes": sizes, "actors": args.actors, "cores": os.cpu_count(),
         "rows": [dict(zip(("measure", "size", "figure", "against"), r)) for r in ROWS]},
        indent=2))
    print(f"\nWritten to {args.json}")


def sqlite(args, sizes: list[int], directory: Path) -> None:
    path = directory / "single.db"
    rate = ingest_one_by_one(f"sqlite:///{path}", args.single, args.actors, args.seed)
    raw = raw_sqlite_ingest(path, directory)
    row("ingest one per transaction, developments/s", human(args.single), f"{rate:,.0f}",
        f"{rate / raw:.3f}x raw executemany ({raw:,.0f} rows/s)")
    p50 = {}
    for size in sizes:
        path = directory / f"sqlite-{size}.db"
        url = f"sqlite:///{path}"
        _, synthesizer, timings = bench_store("sqlite", url, path, size, args, directory)
        p50[size] = {name: statistics.median(values) for name, values in timings.items()}
    if len(sizes) > 1:
        first, biggest = sizes[0], sizes[-1]
        for name, label in QUERY_NAMES.items():
            row(f"growth {human(first)} -> {human(biggest)}: {label}", "",
                f"{p50[biggest][name] / p50[first][name]:.2f}x p50")
    if args.http_seconds:
        http_benchmark(url, synthesizer, args.http_seconds, human(sizes[-1]))


def postgres(args, sizes: list[int], directory: Path) -> None:
    try:
        import psycopg

        psycopg.connect(args.postgres, connect_timeout=3).close()
    except Exception as error:  # noqa: BLE001 - any reason to skip is reported
        print(f"\nPostgreSQL skipped: {error}")
        return
    measured = [s for s in sizes if s <= args.postgres_max]
    for size in measured:
        schema = f"bench_{uuid4().hex[:10]}"
        url = f"{args.postgres}?schema={schema}"
        try:
            _, synthesizer, _ = bench_store("postgres", url, None, size, args, directory)
            if args.http_seconds and size == measured[-1]:
                http_benchmark(url, synthesizer, args.http_seconds, f"pg {human(size)}")
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
