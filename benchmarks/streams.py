"""Open streams against writes: write latency and /healthz with and without many open streams.

    python benchmarks/streams.py                          # 200 streams, 30 s each way, SQLite
    python benchmarks/streams.py --store postgres         # the same on PostgreSQL
    python benchmarks/streams.py --seconds 5 --streams 50 # a shorter run

It serves a fresh store (the seed data) with `timeline serve`, then for --seconds writes one
development at a time over HTTP while another client polls /healthz: first with no stream
open (the baseline), then with --streams open on /api/v1/events/stream, held by a separate
process so that reading them does not slow the writing client. It prints the latencies, their
ratio to the baseline, and how many of the writes each stream received.
"""

from __future__ import annotations

import argparse
import http.client
import json
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from uuid import uuid4

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import DEVELOPMENT, POSTGRES, free_port, percentile

from timeline.application import Timeline

EVENT = b"\nid: "  # how each message of a stream begins on the wire


@contextmanager
def store_url(kind: str, directory: Path):
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'streams.db'}"
        return
    import psycopg

    schema = f"bench_{uuid4().hex[:12]}"
    try:
        yield f"{POSTGRES}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def serving(url: str, workers: int, threads: int):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "timeline.cli", "--store", url, "serve", "--port", str(port),
         "--workers", str(workers), "--threads", str(threads)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                request(port, "GET", "/healthz")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def measure(port: int, token: str, seconds: float) -> dict[str, list[float]]:
    """Write one development at a time for `seconds`, while a second client polls /healthz;
    the latency of each, in seconds. Each client keeps its connection open."""
    stop = threading.Event()
    health: list[float] = []

    def poll_health() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            started = time.perf_counter()
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            health.append(time.perf_counter() - started)
            stop.wait(0.05)
        connection.close()

    poller = threading.Thread(target=poll_health)
    poller.start()
    writes: list[float] = []
    body = json.dumps(DEVELOPMENT).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            connection.request("POST", "/api/v1/developments", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 201, (response.status, response.reason)
            writes.append(time.perf_counter() - started)
    finally:
        connection.close()
        stop.set()
        poller.join()
    return {"write": writes, "healthz": health}


# --- the process that holds the streams --------------------------------------------------------


def hold(port: int, count: int) -> None:
    """Open `count` streams at the head and read them until SIGTERM; print "ready" once every
    one is open, and at the end, as JSON, how many events each received and how many were
    refused (503: a worker's streams were all taken) and opened again."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    selector = selectors.DefaultSelector()
    received = [0] * count
    tails = [b""] * count
    ended = 0
    refused = 0
    pending = set(range(count))
    sockets: dict[int, socket.socket] = {}

    def open_stream(n: int) -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /api/v1/events/stream HTTP/1.1\r\nHost: bench\r\n\r\n")
        sockets[n] = sock
        selector.register(sock, selectors.EVENT_READ, n)

    for n in range(count):
        open_stream(n)
    while not stopping.is_set():
        for key, _ in selector.select(timeout=0.2):
            n = key.data
            data = key.fileobj.recv(65536)
            if not data:
                selector.unregister(key.fileobj)
                key.fileobj.close()
                ended += 1
                continue
            if n in pending:
                if data.startswith(b"HTTP/1.1 503"):
                    refused += 1
                    selector.unregister(key.fileobj)
                    key.fileobj.close()
                    time.sleep(0.05)
                    open_stream(n)
                    continue
                if b"retry: " in data:
                    pending.discard(n)
                    if not pending:
                        print("ready", flush=True)
            buffer = tails[n] + data
            received[n] += buffer.count(EVENT)
            tails[n] = buffer[-(len(EVENT) - 1):]
    print(json.dumps({"received": received, "ended": ended, "refused": refused}), flush=True)


@contextmanager
def streams_held(port: int, count: int):
    holder = subprocess.Popen(
        [sys.executable, __file__, "--hold", str(port), str(count)],
        stdout=subprocess.PIPE, text=True,
    )
    result: dict = {}
    try:
        if holder.stdout.readline().strip() != "ready":
            raise SystemExit("the streams did not open")
        yield result
    finally:
        holder.send_signal(signal.SIGTERM)
        out, _ = holder.communicate(timeout=60)
        result.update(json.loads(out))


# --- the run -----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite",
                        help="the store to serve (default: sqlite)")
    parser.add_argument("--streams", type=int, default=200, help="open streams (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="seconds of writing, with and without the streams (default 30)")
    parser.add_argument("--workers", type=int, default=2, help="server workers (default 2)")
    parser.add_argument("--threads", type=int, default=160,
                        help="threads per worker (default 160: 152 streams each)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--hold", nargs=2, type=int, metavar=("PORT", "COUNT"),
                        help=argparse.SUPPRESS)  # the stream-holding process
    args = parser.parse_args()
    if args.hold:
        hold(*args.hold)
        return
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(store_url(args.store, directory))
        app = Timeline(url)
        token = app.access.create_token("benchmark")
        app.close()
        port = stack.enter_context(serving(url, args.workers, args.threads))
        print(f"{args.store}: {args.workers} workers x {args.threads} threads; "
              f"{args.seconds:g} s of writes without streams, then with {args.streams}")
        baseline = measure(port, token, args.seconds)
        with streams_held(port, args.streams) as held:
            loaded = measure(port, token, args.seconds)
            time.sleep(2)  # for the last writes to reach every stream (SQLite polls)
        assert request(port, "GET", "/healthz") == 200

    figures = {"store": args.store, "streams": args.streams, "seconds": args.seconds}
    print(f"{'':<28}{'without streams':>18}{'with ' + str(args.streams):>18}{'ratio':>9}")
    for name in ("write", "healthz"):
        for label, fraction in (("p50", 0.5), ("p99", 0.99)):
            without = percentile(baseline[name], fraction)
            with_ = percentile(loaded[name], fraction)
            figures[f"{name} {label}"] = [without, with_, with_ / without]
            print(f"{name + ' latency ' + label:<28}{ms(without):>18}{ms(with_):>18}"
                  f"{with_ / without:>8.2f}x")
    for name in ("write", "healthz"):
        rate = [len(baseline[name]) / args.seconds, len(loaded[name]) / args.seconds]
        figures[f"{name}s per second"] = rate
        print(f"{name + 's per second':<28}{rate[0]:>18.1f}{rate[1]:>18.1f}"
              f"{rate[1] / rate[0]:>8.2f}x")
    writes = len(loaded["write"])
    received = held["received"]
    figures.update(writes_with_streams=writes, received_min=min(received),
                   received_max=max(received), streams_ended_early=held["ended"],
                   refused_then_reopened=held["refused"],
                   mean_write_ms=[statistics.mean(baseline["write"]) * 1000,
                                  statistics.mean(loaded["write"]) * 1000])
    print(f"each stream received {min(received)} to {max(received)} of the {writes} writes; "
          f"{held['ended']} ended early; {held['refused']} refused at first (503) and reopened")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
