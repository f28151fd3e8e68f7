"""The API under the servers `timeline serve` runs (gunicorn, and Werkzeug's with --debug):
what reaches the client on the wire."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from timeline.application import Timeline
from timeline.seeding import seed

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def answering(port: int, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited: {server.stderr.read()}")
        try:
            get(port, "/healthz")
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the server did not answer")


def stop(server: subprocess.Popen, timeout: float = 30.0) -> None:
    """Stop the server as an operator does (SIGTERM). A gunicorn worker forked just as the
    signal came has not set its handlers yet and misses it, and gunicorn's master waits out
    its graceful timeout (30 s) for it: a test stopping a server of two workers moments after
    it first answered met that once in about forty runs. SIGQUIT, after a few seconds,
    reaches such a worker."""
    server.terminate()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.send_signal(signal.SIGQUIT)
        server.wait(timeout=timeout)


@pytest.mark.parametrize("options", [["--debug"], ["--workers", "1"], ["--workers", "2"]],
                         ids=["werkzeug", "gunicorn", "gunicorn-2"])
def test_every_response_carries_exactly_one_date_header(durable_store, options):
    app = Timeline(durable_store)
    seed(app, SEEDS)
    app.close()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "timeline.cli", "--store", durable_store, "serve",
         "--port", str(port), *options],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        answering(port, server)
        for path in ("/healthz", "/api/v1/actors/china", "/api/v1/relationships",
                     "/api/v1/actors/atlantis", "/openapi.json", "/", "/page/page.js",
                     "/vendor/cytoscape/cytoscape.min.js"):
            assert len(get(port, path).msg.get_all("Date") or []) == 1, path
    finally:
        stop(server)
