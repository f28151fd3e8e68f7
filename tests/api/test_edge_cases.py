"""HTTP edge cases: hostile bodies, headers and query strings get a clear 4xx problem that
names what is wrong, and the log stays as it was."""

from __future__ import annotations

import base64

from tests.api.test_conventions import SOURCE, is_problem, record

DEEP = "[" * 100_000


def test_a_deeply_nested_json_body_is_a_400_and_records_nothing(client, timeline, auth):
    before = timeline.event_count()
    for path in ("/api/v1/developments", "/api/v1/actors"):
        response = client.post(path, data=DEEP, content_type="application/json", headers=auth)
        assert "nested" in is_problem(response, 400)["detail"]
    assert timeline.event_count() == before


def test_a_deeply_nested_cursor_is_a_422_naming_after(client):
    cursor = base64.urlsafe_b64encode(DEEP[:50_000].encode()).decode()
    body = is_problem(client.get(f"/api/v1/developments?after={cursor}"), 422)
    assert "after" in body["errors"]


def test_the_app_leaves_the_date_header_to_the_server(client):
    # Werkzeug's server and gunicorn each add a Date (tests/integration/test_serving.py).
    first = client.get("/api/v1/actors/china")
    assert first.status_code == 200 and "Date" not in first.headers
    again = client.get("/api/v1/actors/china", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and "Date" not in again.headers


def test_a_weak_if_match_never_matches_and_records_nothing(client, timeline, auth):
    location = record(client, auth).headers["Location"]
    before = timeline.event_count()
    for path, body in [
        ("corrections", {"changes": {"place": "Beijing"}, "reason": "place", "source": SOURCE}),
        ("status", {"status": "cancelled", "reason": "called off"}),
        ("retraction", {"reason": "wrong"}),
    ]:
        response = client.post(f"{location}/{path}", json=body,
                               headers={**auth, "If-Match": 'W/"1"'})
        assert "If-Match" in is_problem(response, 412)["errors"]
    assert timeline.event_count() == before
    assert client.get(location).headers["ETag"] == '"1"'
