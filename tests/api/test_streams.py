"""The live streams as the API documents and limits them (their traffic is tested against a
real server in tests/integration/test_feed.py)."""

from __future__ import annotations

import json

import pytest

from api import create_app
from tests.helpers import is_problem
from timeline.vocabulary import ActorKind

STATE = ActorKind.STATE


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


def test_a_head_request_gets_the_headers_and_holds_no_stream(store):
    flask_app = create_app({"STORE": store, "TESTING": True, "MAX_STREAMS": 1})
    client = flask_app.test_client()
    try:
        for path in ("/api/v1/events/stream", "/api/v1/relationships/china/russia/stream"):
            if "relationships" in path:
                flask_app.extensions["timeline"].register_actor("china", "China", STATE)
                flask_app.extensions["timeline"].register_actor("russia", "Russia", STATE)
            for _ in range(2):
                head = client.head(path)
                assert head.status_code == 200 and head.mimetype == "text/event-stream"
                assert head.data == b""
        held = client.get("/api/v1/events/stream", buffered=False)
        assert held.status_code == 200  # the HEAD requests left the one place free
        held.close()
    finally:
        flask_app.extensions["feed"].close()
        flask_app.extensions["timeline"].close()


def test_reads_that_need_a_token_need_one_for_streams_too(store):
    flask_app = create_app({"STORE": store, "TESTING": True, "READS_REQUIRE_TOKEN": True})
    client = flask_app.test_client()
    try:
        is_problem(client.get("/api/v1/events/stream"), 401)
        token = flask_app.extensions["timeline"].access.create_token("dashboard")
        held = client.get("/api/v1/events/stream", buffered=False,
                          headers={"Authorization": f"Bearer {token}"})
        assert held.status_code == 200
        held.close()
    finally:
        flask_app.extensions["feed"].close()
        flask_app.extensions["timeline"].close()


def test_the_streams_are_documented_as_event_streams(app, client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in ("/api/v1/events/stream", "/api/v1/relationships/{a}/{b}/stream"):
        operation = paths[path]["get"]
        assert "text/event-stream" in operation["responses"]["200"]["content"]
        assert any(p["name"] == "Last-Event-ID" for p in operation["parameters"])


def test_a_browser_on_another_site_may_resume_with_last_event_id(app, client):
    app.config["CORS_ORIGINS"] = "*"  # no origin by default; a deployment names its own
    preflight = client.options("/api/v1/events/stream", headers={
        "Origin": "https://dashboard.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "last-event-id"})
    assert "Last-Event-ID" in preflight.headers["Access-Control-Allow-Headers"]
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_an_admin_stream_carries_token_labels_and_others_null():
    from api.feed import Encoded, labelling

    class Access:
        def labels(self, ids):
            return {i: "analyst-desk" for i in ids if i == "tok_1"}

    event = {"position": 7, "type": "Actor.Registered", "recorded_by": "tok_1"}
    admin = json.loads(labelling(Access())(event).split("data: ", 1)[1])
    assert admin["recorded_by_label"] == "analyst-desk"
    anyone = json.loads(Encoded()(event).split("data: ", 1)[1])
    assert anyone["recorded_by_label"] is None
