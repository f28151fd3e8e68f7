"""Tokens over HTTP: records keyed by id, scopes, expiry, reads and the raw log behind a
token, labels only for admins, and rate limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api import create_app
from tests.conftest import SEEDS
from tests.helpers import DEVELOPMENT, is_problem
from timeline import access
from timeline.access import Scope
from timeline.seeding import seed


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_revoked_name_reused_keeps_the_old_tokens_history_and_idempotency(
    client, timeline
):
    old = timeline.access.create_token("desk")
    headers = {**bearer(old), "Idempotency-Key": "k-1"}
    first = client.post("/api/v1/developments", json=DEVELOPMENT, headers=headers)
    assert first.status_code == 201
    old_id = timeline.access.authenticate(old).id
    timeline.access.revoke_token("desk")
    is_problem(client.post("/api/v1/developments", json=DEVELOPMENT, headers=headers), 401)

    new = timeline.access.create_token("desk")
    new_id = timeline.access.authenticate(new).id
    assert new_id != old_id
    count = timeline.audit.count()
    # The same key under the new token is a new request, not the old token's replay.
    again = client.post("/api/v1/developments", json=DEVELOPMENT,
                        headers={**bearer(new), "Idempotency-Key": "k-1"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.headers["Location"] != first.headers["Location"]
    assert timeline.audit.count() > count

    old_history = client.get(first.headers["Location"]).get_json()["history"]
    assert [h["recorded_by"] for h in old_history] == [old_id]
    records = {t.id: t for t in timeline.access.list_tokens()}
    assert records[old_id].label == records[new_id].label == "desk"
    assert records[old_id].revoked_at is not None and records[new_id].revoked_at is None


@pytest.mark.parametrize(
    ("scope", "write_status"), [("read", 403), ("write", 201), ("admin", 201)]
)
def test_scopes_decide_who_may_write(client, timeline, scope, write_status):
    secret = timeline.access.create_token(f"{scope}-desk", scope)
    before = timeline.audit.count()
    response = client.post("/api/v1/developments", json=DEVELOPMENT, headers=bearer(secret))
    assert response.status_code == write_status, response.get_json()
    if write_status == 403:
        body = is_problem(response, 403)
        assert "Authorization" in body["errors"]
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
        assert timeline.audit.count() == before


def test_an_expired_token_is_refused(client, timeline, monkeypatch):
    secret = timeline.access.create_token("temporary", "write", timedelta(days=90))
    assert client.post("/api/v1/developments", json=DEVELOPMENT,
                       headers=bearer(secret)).status_code == 201
    later = datetime.now(UTC) + timedelta(days=91)
    monkeypatch.setattr(access, "now_utc", lambda: later)
    before = timeline.audit.count()
    body = is_problem(client.post("/api/v1/developments", json=DEVELOPMENT,
                                  headers=bearer(secret)), 401)
    assert "expired" in body["detail"]
    assert timeline.audit.count() == before
    [entry] = timeline.access.list_tokens()
    assert entry.state(later) == "expired" and entry.expires_at is not None


def test_every_method_but_options_needs_a_token_when_reads_do(client, app, timeline):
    app.config["READS_REQUIRE_TOKEN"] = True
    reader = bearer(timeline.access.create_token("reader", "read"))
    is_problem(client.get("/api/v1/actors"), 401)
    assert client.head("/api/v1/actors").status_code == 401
    for method in ("get", "head"):
        assert getattr(client, method)("/api/v1/actors", headers=reader).status_code == 200
    assert client.options("/api/v1/actors").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_the_raw_log_can_require_a_token_while_other_reads_stay_open(client, app, timeline):
    app.config["LOG_REQUIRES_TOKEN"] = True
    reader = bearer(timeline.access.create_token("auditor", "read"))
    stream = client.get("/api/v1/events?limit=1", headers=reader).get_json()["events"][0]
    for path in ("/api/v1/events", "/api/v1/events/1", f"/api/v1/streams/{stream['stream_id']}",
                 "/api/v1/audit/head", "/api/v1/audit/verify"):
        is_problem(client.get(path), 401)
        assert client.head(path).status_code == 401
        assert client.get(path, headers=reader).status_code == 200, path
    assert client.get("/api/v1/actors").status_code == 200
    assert client.get("/api/v1/relationships/china/russia").status_code == 200


def test_token_labels_in_the_log_only_for_admins(client, timeline):
    writer = timeline.access.create_token("Jane at the analyst desk", "write")
    written = client.post("/api/v1/developments", json=DEVELOPMENT, headers=bearer(writer))
    stream = written.get_json()["id"]
    writer_id = timeline.access.authenticate(writer).id
    admin = bearer(timeline.access.create_token("ops", "admin"))
    for headers in ({}, bearer(writer)):
        [event] = client.get(f"/api/v1/streams/{stream}", headers=headers).get_json()["events"]
        assert event["recorded_by"] == writer_id and event["recorded_by_label"] is None
        assert "Jane" not in client.get("/api/v1/events?limit=500", headers=headers).get_data(
            as_text=True)
    [event] = client.get(f"/api/v1/streams/{stream}", headers=admin).get_json()["events"]
    assert event["recorded_by"] == writer_id
    assert event["recorded_by_label"] == "Jane at the analyst desk"
    one = client.get(f"/api/v1/events/{event['position']}", headers=admin).get_json()
    assert one["recorded_by_label"] == "Jane at the analyst desk"


def test_a_malformed_or_unknown_token_is_refused_even_on_an_open_read(client):
    is_problem(client.get("/api/v1/actors", headers={"Authorization": "Basic abc"}), 401)
    is_problem(client.get("/api/v1/actors", headers=bearer("tl_forged")), 401)


def test_cors_allows_no_origin_by_default(client):
    preflight = client.options("/api/v1/developments", headers={
        "Origin": "https://page.example", "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


@pytest.fixture
def limited(store):
    flask_app = create_app({"STORE": store, "TESTING": True, "RATE_LIMIT": "3/minute"})
    seed(flask_app.extensions["timeline"], SEEDS)
    yield flask_app
    flask_app.extensions["timeline"].close()


def remote(address: str) -> dict[str, dict[str, str]]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_rate_limits_per_client_address_answer_429_with_retry_after(limited):
    client = limited.test_client()
    away = remote("203.0.113.7")
    statuses = [client.get("/api/v1/actors", **away).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/api/v1/actors", **away)
    body = is_problem(refused, 429)
    assert "3 per 1 minute" in body["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another address has its own count; loopback is not limited unless asked.
    assert client.get("/api/v1/actors", **remote("203.0.113.8")).status_code == 200
    assert all(client.get("/api/v1/actors").status_code == 200 for _ in range(5))
    assert client.get("/healthz", **away).status_code == 200  # outside the API


def test_rate_limits_per_token_across_addresses(limited):
    client = limited.test_client()
    token = bearer(limited.extensions["timeline"].access.create_token("busy", "read"))
    statuses = [
        client.get("/api/v1/actors", headers=token, **remote(f"198.51.100.{n}")).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_a_request_with_no_client_address_counts_as_local(limited):
    from werkzeug.test import Client

    client = Client(limited)  # no REMOTE_ADDR, as over a Unix socket
    assert all(client.get("/api/v1/actors").status_code == 200 for _ in range(5))


def test_loopback_can_be_limited_too(store):
    flask_app = create_app({"STORE": store, "RATE_LIMIT": "2/minute",
                            "RATE_LIMIT_LOOPBACK": True})
    client = flask_app.test_client()
    assert [client.get("/api/v1/actors").status_code for _ in range(3)] == [200, 200, 429]
    flask_app.extensions["timeline"].close()


def test_rate_limits_can_be_turned_off(store):
    flask_app = create_app({"STORE": store, "RATE_LIMIT": "off"})
    client = flask_app.test_client()
    assert all(client.get("/api/v1/actors", **remote("203.0.113.9")).status_code == 200
               for _ in range(5))
    flask_app.extensions["timeline"].close()


def test_scope_order():
    assert Scope.ADMIN.grants(Scope.WRITE) and Scope.WRITE.grants(Scope.READ)
    assert not Scope.READ.grants(Scope.WRITE) and not Scope.WRITE.grants(Scope.ADMIN)
