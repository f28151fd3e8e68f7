"""The HTTP API through a real `timeline serve` process (gunicorn) on a free port, on each
store: tokens, conditional reads, idempotent writes and CORS as a client on the wire sees
them, not only as Flask's test client does."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import SEEDS
from tests.helpers import DEVELOPMENT
from tests.integration.test_serving import ROOT, answering, free_port
from timeline.application import Timeline
from timeline.seeding import seed


@dataclass
class Served:
    port: int
    tokens: dict[str, str]  # scope -> secret
    revoked: str

    def request(self, method: str, path: str, body: object = None,
                token: str | None = None, **headers: str) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {name.replace("_", "-"): value for name, value in headers.items()}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        response.body = response.read()
        connection.close()
        return response


@pytest.fixture
def served(durable_store) -> Iterator[Served]:
    """`timeline serve` (gunicorn, one worker) on a seeded store, with the raw log behind a
    token, and tokens of each scope plus a revoked one."""
    app = Timeline(durable_store)
    seed(app, SEEDS)
    tokens = {scope: app.access.create_token(f"{scope} desk", scope)
              for scope in ("read", "write", "admin")}
    revoked = app.access.create_token("gone")
    app.access.revoke_token("gone")
    app.close()
    port = free_port()
    env = {**os.environ, "TIMELINE_LOG_REQUIRES_TOKEN": "true"}
    server = subprocess.Popen(
        [sys.executable, "-m", "timeline.cli", "--store", durable_store, "serve",
         "--port", str(port), "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        answering(port, server)
        yield Served(port, tokens, revoked)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_representative_requests_through_a_real_server(served):
    assert json.loads(served.request("GET", "/healthz").body)["status"] == "ok"

    pair = served.request("GET", "/api/v1/relationships/china/russia")
    assert pair.status == 200 and json.loads(pair.body)["stance"]
    again = served.request("GET", "/api/v1/relationships/china/russia",
                           If_None_Match=pair.getheader("ETag"))
    assert again.status == 304 and again.body == b""

    # The raw log needs a token here; HEAD is checked like GET.
    assert served.request("GET", "/api/v1/events?limit=1").status == 401
    assert served.request("HEAD", "/api/v1/events?limit=1").status == 401
    assert served.request("HEAD", "/api/v1/events?limit=1",
                          token=served.tokens["read"]).status == 200

    # Writing: a read token is refused (403), a revoked one is unknown (401), a write token
    # records, and a retry with the same key replays the first response.
    assert served.request("POST", "/api/v1/developments", DEVELOPMENT,
                          token=served.tokens["read"]).status == 403
    refused = served.request("POST", "/api/v1/developments", DEVELOPMENT, token=served.revoked)
    assert refused.status == 401
    assert refused.getheader("Content-Type") == "application/problem+json"
    created = served.request("POST", "/api/v1/developments", DEVELOPMENT,
                             token=served.tokens["write"], Idempotency_Key="wire-1")
    assert created.status == 201
    replayed = served.request("POST", "/api/v1/developments", DEVELOPMENT,
                              token=served.tokens["write"], Idempotency_Key="wire-1")
    assert replayed.status == 201 and replayed.getheader("Idempotent-Replayed") == "true"
    assert replayed.getheader("Location") == created.getheader("Location")

    # Who wrote it: the token id for a reader, its label too for an admin.
    stream = json.loads(created.body)["id"]
    as_reader = json.loads(served.request("GET", f"/api/v1/streams/{stream}",
                                          token=served.tokens["read"]).body)["events"]
    as_admin = json.loads(served.request("GET", f"/api/v1/streams/{stream}",
                                         token=served.tokens["admin"]).body)["events"]
    assert as_reader[0]["recorded_by"].startswith("tok_")
    assert as_reader[0]["recorded_by_label"] is None
    assert as_admin[0]["recorded_by_label"] == "write desk"

    # No origin is allowed by default; a bad query is a 422 naming the field.
    cors = served.request("GET", "/api/v1/actors", Origin="https://elsewhere.example")
    assert cors.status == 200 and cors.getheader("Access-Control-Allow-Origin") is None
    bad = served.request("GET", "/api/v1/relationships/china/russia?as_of=someday")
    assert bad.status == 422 and "as_of" in json.loads(bad.body)["errors"]
