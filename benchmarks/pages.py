"""Worst pages: each list endpoint's deepest page, with its broadest filter, beside the pair
query (the baseline) and the endpoint's first page, all measured in the same run, as medians.

    python benchmarks/pages.py --sizes 10000,100000     # makes each store (timeline synth)
    python benchmarks/pages.py --store sqlite:////tmp/big.db --size-label 100k

Requests go through the Flask app in this process (no sockets): the figure is the service's
own work for one request. A deep cursor is built from the read model (a page near the end of
the list, still full); a maximal-fan-out development (the caps of the schemas: sources and
targets filling `actors`) is then recorded, and the pair query and the first page of
relationships are timed again after it, before and after the pairs it changed are outlined
anew (as the serving process's projector, or the worker, does within a second).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api import create_app
from api.http import MAX_LIMIT, encode_cursor
from api.server import set_aside
from timeline.schemas import MAX_ITEMS

ROWS: list[dict[str, Any]] = []


SHOWN: dict[str, int] = {}  # url -> the entries of its answer's list (a page may be short)


def median_ms(client: Any, url: str, rounds: int) -> float:
    """The median time of `rounds` requests of `url` (after one not timed), in ms; how many
    entries its list held is kept in SHOWN."""
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.get_data(as_text=True)}")
    lists = [value for value in response.get_json().values() if isinstance(value, list)]
    if lists:
        SHOWN[url] = len(lists[0])
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def one(view: Any, statement: str, *params: Any) -> Any:
    """The first row of a statement on the read model."""
    with view.reading() as c:
        c.execute(view.sql(statement), params)
        return c.fetchone()


def deep_cursors(app: Any, limit: int) -> dict[str, str]:
    """A cursor near the end of each list, such that a page of `limit` after it is full."""
    view = app.read_model.current()
    offset = limit + 1
    development = one(view, "SELECT earliest, latest, development_id FROM {development_versions}"
                      " WHERE superseded_at IS NULL AND retracted = 0 ORDER BY earliest DESC,"
                      " latest DESC, development_id DESC LIMIT 1 OFFSET ?", offset)
    pair = one(view, "SELECT DISTINCT l.a, l.b FROM {development_links} l JOIN"
               " {development_versions} v ON v.position = l.position"
               " WHERE v.superseded_at IS NULL AND v.retracted = 0"
               " ORDER BY l.a DESC, l.b DESC LIMIT 1 OFFSET ?", offset)
    # A key with empty pair and direction sorts before every step of its moment (or report).
    moment = one(view, "SELECT m.day, m.step, m.earliest, m.development_id FROM"
                 " {development_moments} m JOIN {development_versions} v ON v.position"
                 " = m.position WHERE v.superseded_at IS NULL"
                 " AND v.retracted = 0 ORDER BY m.day DESC, m.step DESC, m.earliest DESC,"
                 " m.development_id DESC LIMIT 1 OFFSET ?", offset)
    report = one(view, "SELECT reported_from, development_id, version FROM"
                 " {development_versions} ORDER BY reported_from DESC, development_id DESC,"
                 " version DESC LIMIT 1 OFFSET ?", offset)
    head = app.audit.count()
    return {
        "developments": encode_cursor(development["earliest"], development["latest"],
                                      str(development["development_id"])),
        "relationships": encode_cursor(pair["a"], pair["b"]),
        "replay": encode_cursor(moment["day"], moment["step"], moment["earliest"],
                                str(moment["development_id"]), "", "", "", ""),
        "replay_reported": encode_cursor(report["reported_from"], str(report["development_id"]),
                                         report["version"], "", ""),
        "events": str(max(0, head - offset)),
    }


def busiest(app: Any) -> tuple[tuple[str, str], str]:
    """The pair with the most links, and the state in the most developments."""
    view = app.read_model.current()
    pair = one(view, "SELECT l.a, l.b FROM {development_links} l JOIN {development_versions} v"
               " ON v.position = l.position"
               " WHERE v.superseded_at IS NULL GROUP BY l.a, l.b ORDER BY COUNT(*) DESC LIMIT 1")
    state = one(view, "SELECT actor FROM {development_actors} GROUP BY actor"
                " ORDER BY COUNT(*) DESC LIMIT 1")
    return (pair["a"], pair["b"]), state["actor"]


def typical_pair(app: Any) -> tuple[str, str]:
    """A pair of median activity: the baseline's pair."""
    view = app.read_model.current()
    with view.reading() as c:
        c.execute(view.sql("SELECT l.a, l.b, COUNT(*) AS n FROM {development_links} l"
                           " JOIN {development_versions} v ON v.position = l.position"
                           " WHERE v.superseded_at IS NULL GROUP BY l.a, l.b ORDER BY n, l.a, l.b"))
        rows = c.fetchall()
    row = rows[len(rows) // 2]
    return row["a"], row["b"]


def pair_replay_cursor(app: Any, pair: tuple[str, str], limit: int) -> str:
    """A cursor a full page before the end of the pair's replay."""
    steps = len(app.replay(pair=pair))
    return encode_cursor(*app.replay_page(pair=pair, limit=max(1, steps - limit - 1)).next)


def fan_out(client: Any, states: list[str], half: int, token: str) -> None:
    """Record one development with the most links the schemas allow: half the actors as
    sources, half as targets (every source linked to every target)."""
    record_development(client, token, "agreement", "A summit of everyone.", states[:half],
                       states[half:2 * half], ("2024-04-08", "2024-04-09"))


def record_development(client: Any, token: str, kind: str, summary: str, sources: list[str],
                       targets: list[str], days: tuple[str, str]) -> None:
    """Record a confirmed development of these source and target actors, on the first of
    the `days`, reported on the second."""
    actors = ([{"actor": a, "role": "source"} for a in sources]
              + [{"actor": a, "role": "target"} for a in targets])
    body = {"kind": kind, "summary": summary, "actors": actors, "date": days[0],
            "certainty": "confirmed",
            "sources": [{"publication": "Reuters", "attribution": "Reuters",
                         "reported_on": days[1], "passage": summary}]}
    response = client.post("/api/v1/developments", json=body,
                           headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 201:
        raise SystemExit(f"{summary} {response.status_code} {response.get_data(as_text=True)}")


def probe(store: str, size: str, rounds: int, page_size: int = MAX_LIMIT,
          only: tuple[str, ...] = ()) -> None:
    """Time each probe (those whose names begin with one of `only`, when given, and then
    nothing is written to the store: no fan-out)."""
    flask_app = create_app({"STORE": store})
    set_aside()  # as a server's worker does once it has loaded the app
    app = flask_app.extensions["timeline"]
    client = flask_app.test_client()
    client.get("/healthz")
    cursors = deep_cursors(app, page_size)
    a, b = typical_pair(app)
    (ba, bb), state = busiest(app)
    big_pair_cursor = pair_replay_cursor(app, (ba, bb), page_size)
    limit = f"limit={page_size}"
    baseline = median_ms(client, f"/api/v1/relationships/{a}/{b}", rounds)
    record("pair query (baseline)", size, baseline, baseline, None)
    probes = [
        ("developments", "/api/v1/developments", "", cursors["developments"]),
        ("developments, actor (busiest state)", "/api/v1/developments", f"actor={state}",
         cursors["developments"]),
        ("developments, status as of a date", "/api/v1/developments",
         "status=cancelled&as_of=2000-01-01", cursors["developments"]),
        ("relationships", "/api/v1/relationships", "", cursors["relationships"]),
        # Tension matches no pair of a synthetic store: every pair read, none shown.
        ("relationships, stance=tension", "/api/v1/relationships", "stance=tension",
         cursors["relationships"]),
        # Alliance matches about 1% of them.
        ("relationships, stance=alliance", "/api/v1/relationships", "stance=alliance",
         cursors["relationships"]),
        ("replay (happened)", "/api/v1/replay", "", cursors["replay"]),
        ("replay (reported)", "/api/v1/replay", "order=reported", cursors["replay_reported"]),
        ("replay of the busiest pair", f"/api/v1/relationships/{ba}/{bb}/replay", "",
         big_pair_cursor),
        ("events", "/api/v1/events", "", cursors["events"]),
    ]
    if not only or "pair query of the busiest pair".startswith(only):
        # One pair's state is a resource, not a list: it holds every development behind the
        # pair, so the busiest pair's grows with the store (no page bounds it).
        url = f"/api/v1/relationships/{ba}/{bb}"
        ms = median_ms(client, url, rounds)
        record("pair query of the busiest pair", size, ms, baseline, None,
               len(client.get(url).get_json()["developments"]), len(client.get(url).data))
    for name, path, query, cursor in probes:
        if only and not name.startswith(only):
            continue
        query = "&".join(filter(None, (query, limit)))
        first = median_ms(client, f"{path}?{query}", rounds)
        worst = median_ms(client, f"{path}?{query}&after={cursor}", rounds)
        record(f"{name}: first page", size, first, baseline, None,
               SHOWN.get(f"{path}?{query}"))
        record(f"{name}: deep page", size, worst, baseline, first,
               SHOWN.get(f"{path}?{query}&after={cursor}"))
    if only:
        return
    # A maximal fan-out development, then the pair query and the list again.
    token = app.access.create_token(f"bench-fan-out-{time.time_ns()}", "write")
    states = [row["id"] for row in app.list_actors() if row["kind"] == "state"]
    half = min(MAX_ITEMS["actors"], len(states)) // 2  # a tiny store has fewer states
    fan_out(client, states, half, token)
    fan_a, fan_b = sorted((states[0], states[half]))
    after = median_ms(client, f"/api/v1/relationships/{fan_a}/{fan_b}", rounds)
    record("pair query of a pair in a maximal fan-out development", size, after, baseline, None)
    after = median_ms(client, f"/api/v1/relationships?{limit}", rounds)
    record("relationships first page, after the fan-out", size, after, baseline, None)
    # What a serving process's projector (or the worker) does within a second of the write.
    started = time.perf_counter()
    outlined = app.read_model.outline_pairs()
    print(f"  (outlined the {outlined} pairs the fan-out changed in"
          f" {(time.perf_counter() - started) * 1000:.0f} ms)")
    after = median_ms(client, f"/api/v1/relationships?{limit}", rounds)
    record("relationships first page, after the fan-out, outlined", size, after, baseline,
           None)
    # A write to the busiest pair: its outline is made anew from its whole history, by the
    # projector (or the worker); until then a page of relationships holding it folds it.
    write_to(client, (ba, bb), token)
    app.read_model.catch_up()
    # The page that begins with it (a page folds one marked pair at least, whatever its size).
    before = one(app.read_model.current(), "SELECT a, b FROM {pair_outlines} WHERE a < ? OR"
                 " (a = ? AND b < ?) ORDER BY a DESC, b DESC LIMIT 1", ba, ba, bb)
    page = f"/api/v1/relationships?{limit}" + (
        f"&after={encode_cursor(before['a'], before['b'])}" if before else "")
    marked = time_once(client, page)
    started = time.perf_counter()
    outlined = app.read_model.outline_pairs()
    took = (time.perf_counter() - started) * 1000
    record("outlining the busiest pair after a write to it (the projector's work)", size, took,
           baseline, None)
    record("relationships, the page that begins with it, before it is outlined", size, marked,
           baseline, None)
    after = median_ms(client, page, rounds)
    record("relationships, the page that begins with it, outlined", size, after, baseline,
           None)
    print(f"  (outlined {outlined} pair after the write)")


def write_to(client: Any, pair: tuple[str, str], token: str) -> None:
    """Record one development between the two actors of a pair, as the news of the day is:
    after every other of theirs (a synthetic history ends in 2024), in world time and by
    report."""
    record_development(client, token, "consultation", "A call.", [pair[0]], [pair[1]],
                       ("2025-06-01", "2025-06-02"))


def time_once(client: Any, url: str) -> float:
    """The time of one request of `url`, in ms: the first after a write, which no repeat
    measures (the view answers the next ones otherwise)."""
    started = time.perf_counter()
    response = client.get(url)
    took = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.get_data(as_text=True)}")
    return took


def record(measure: str, size: str, ms: float, baseline: float, first: float | None,
           entries: int | None = None, size_bytes: int | None = None) -> None:
    ROWS.append({"measure": measure, "size": size, "median_ms": round(ms, 2),
                 "x_pair_query": round(ms / baseline, 1),
                 "x_first_page": None if first is None else round(ms / first, 2),
                 "entries": entries, "bytes": size_bytes})
    against = "" if first is None else f"  x{ms / first:.2f} of the first page"
    shown = "" if entries is None else f"  ({entries} entries)"
    if size_bytes is not None:
        shown += f"  ({size_bytes / 1e6:,.2f} MB)"
    print(f"  {measure:<72} {size:>5} {ms:9.1f} ms  x{ms / baseline:8.1f} of the pair query"
          f"{against}{shown}", flush=True)


def make_store(directory: Path, size: int, actors: int) -> str:
    """A SQLite store of `size` synthetic developments (made once, then reused)."""
    path = directory / f"pages-{size}-{actors}.db"
    store = f"sqlite:///{path}"
    if not path.exists():
        for command in (["synth", "--developments", str(size), "--actors", str(actors),
                         "--seed", "7"], ["project"]):
            subprocess.run([sys.executable, "-m", "timeline.cli", "--store", store, *command,
                            "-q"], check=True)
    return store


def human(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
        f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000",
                        help="Synthetic store sizes to make and probe (comma-separated).")
    parser.add_argument("--store", help="Probe this store instead of making any.")
    parser.add_argument("--size-label", default="?", help="The size to print for --store.")
    parser.add_argument("--directory", type=Path, default=ROOT / ".bench",
                        help="Where the synthetic stores are made and kept.")
    parser.add_argument("--rounds", type=int, default=7, help="Requests per median.")
    parser.add_argument("--actors", type=int, default=300, help="Actors of the stores made.")
    parser.add_argument("--limit", type=int, default=MAX_LIMIT,
                        help="The page size probed (default: the largest a client may ask).")
    parser.add_argument("--json", type=Path, help="Write the rows as JSON here too.")
    parser.add_argument("--only", default="",
                        help="Only the probes whose names begin with these (comma-separated,"
                             " e.g. 'replay'), and no fan-out: the store is only read.")
    args = parser.parse_args()
    only = tuple(filter(None, args.only.split(",")))
    if args.store:
        probe(args.store, args.size_label, args.rounds, args.limit, only)
    else:
        args.directory.mkdir(exist_ok=True)
        for size in map(int, args.sizes.split(",")):
            probe(make_store(args.directory, size, args.actors), human(size), args.rounds,
                  args.limit, only)
    if args.json:
        args.json.write_text(json.dumps(ROWS, indent=1))


if __name__ == "__main__":
    main()
