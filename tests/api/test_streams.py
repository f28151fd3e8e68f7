"""The live streams as the API documents and limits them (their traffic is tested against a
real server in tests/integration/test_feed.py)."""

from __future__ import annotations

import pytest

from api import create_app
from tests.helpers import is_problem


@pytest.fixture
def limited(store):
    flask_app = create_app({"STORE": store, "TESTING": True, "MAX_STREAMS": 2})
    yield flask_app
    flask_app.extensions["feed"].close()
    flask_app.extensions["timeline"].close()


def test_a_process_holds_no_more_streams_than_it_may(limited):
    client = limited.test_client()
    held = [client.get("/api/v1/events/stream", buffered=False) for _ in range(2)]
    assert [r.status_code for r in held] == [200, 200]
    refused = client.get("/api/v1/events/stream")
    assert is_problem(refused, 503)
    assert refused.headers["Retry-After"] == "5"
    held[0].close()  # a client hangs up: its place is free again
    again = client.get("/api/v1/events/stream", buffered=False)
    assert again.status_code == 200
    again.close()
    held[1].close()


def test_the_streams_are_documented_as_event_streams(app, client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in ("/api/v1/events/stream", "/api/v1/relationships/{a}/{b}/stream"):
        operation = paths[path]["get"]
        assert "text/event-stream" in operation["responses"]["200"]["content"]
        assert any(p["name"] == "Last-Event-ID" for p in operation["parameters"])
