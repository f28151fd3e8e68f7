"""HTTP conventions: problem documents for every error, auth, ETags, idempotency, CORS, and
that no rejected request changes the log."""

from __future__ import annotations

import threading

import pytest

from tests.helpers import DEVELOPMENT, SOURCE, is_problem, record

BAD_REQUESTS = [
    # (method, path, kwargs, status, field named in errors or None)
    ("post", "/api/v1/developments", {"json": DEVELOPMENT}, 401, None),
    ("post", "/api/v1/developments", {"json": DEVELOPMENT, "bad_token": True}, 401, None),
    ("post", "/api/v1/developments", {"data": "{not json", "json_type": True}, 400, None),
    ("post", "/api/v1/developments", {"data": "kind=visit"}, 415, None),
    ("post", "/api/v1/developments", {"json": {**DEVELOPMENT, "kind": "invasion"}}, 422, "kind"),
    ("post", "/api/v1/developments", {"json": {**DEVELOPMENT, "date": "2024-02-30"}}, 422, "date"),
    ("post", "/api/v1/developments", {"json": {**DEVELOPMENT, "sources": []}}, 422, "sources"),
    ("post", "/api/v1/developments", {"json": {**DEVELOPMENT, "surprise": 1}}, 422, "surprise"),
    ("post", "/api/v1/developments",
     {"json": {**DEVELOPMENT, "actors": [{"actor": "atlantis", "role": "source"}]}}, 422,
     "actors"),
    ("post", "/api/v1/developments", {"json": {**DEVELOPMENT, "status": "planned"}}, 422,
     "planned_for"),
    ("post", "/api/v1/developments", {"json": {**DEVELOPMENT, "summary": "x" * 2_000_000}}, 413,
     None),
    ("post", "/api/v1/actors", {"json": {"id": "china", "name": "China", "kind": "state"}}, 409,
     None),
    ("post", "/api/v1/actors", {"json": {"id": "Not A Slug", "name": "X", "kind": "state"}}, 422,
     "id"),
    ("delete", "/api/v1/actors", {}, 405, None),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "field"), BAD_REQUESTS)
def test_every_rejected_request_is_a_problem_and_changes_nothing(
    client, timeline, auth, method, path, kwargs, status, field
):
    kwargs = dict(kwargs)
    headers = {}
    if status != 401:
        headers.update(auth)
    if kwargs.pop("bad_token", False):
        headers["Authorization"] = "Bearer tl_nonsense"
    if kwargs.pop("json_type", False):
        kwargs["content_type"] = "application/json"
    before = timeline.audit.count()
    body = is_problem(getattr(client, method)(path, headers=headers, **kwargs), status)
    assert timeline.audit.count() == before
    if field:
        assert field in str(body["errors"]), body


def test_401_challenges_and_405_says_what_is_allowed(client):
    response = client.post("/api/v1/actors", json={})
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.delete("/api/v1/developments")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_404_for_unknown_things_and_urls(client):
    is_problem(client.get("/api/v1/actors/atlantis"), 404)
    is_problem(client.get("/api/v1/developments/00000000-0000-0000-0000-000000000000"), 404)
    is_problem(client.get("/api/v1/developments/not-a-uuid"), 404)
    is_problem(client.get("/api/v1/nowhere"), 404)
    is_problem(client.get("/api/v1/events/999999"), 404)


def test_bad_query_values_are_422_naming_the_field(client):
    for query, field in [
        ("/api/v1/relationships?as_of=2023-31-12", "as_of"),
        ("/api/v1/relationships?known_at=2026-01-01T00:00:00", "known_at"),
        ("/api/v1/developments?limit=0", "limit"),
        ("/api/v1/developments?limit=501", "limit"),
        ("/api/v1/developments?from=2024-01-01&to=2023-01-01", "from"),
        ("/api/v1/developments?after=garbage", "after"),
        ("/api/v1/developments?kind=invasion", "kind"),
    ]:
        body = is_problem(client.get(query), 422)
        assert field in body["errors"], (query, body)


def test_created_developments_have_location_etag_and_record_the_token_id(
    client, auth, timeline
):
    token_id = timeline.access.authenticate(auth["Authorization"].split()[1]).id
    response = record(client, auth)
    location, etag = response.headers["Location"], response.headers["ETag"]
    assert etag == '"1"'
    fetched = client.get(location)
    assert fetched.status_code == 200 and fetched.headers["ETag"] == etag
    assert fetched.get_json()["history"][0]["recorded_by"] == token_id
    stream = client.get(f"/api/v1/streams/{fetched.get_json()['id']}").get_json()["events"]
    assert [e["recorded_by"] for e in stream] == [token_id]


def test_conditional_get_answers_304(client):
    first = client.get("/api/v1/relationships/china/russia")
    again = client.get("/api/v1/relationships/china/russia",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_changes_need_if_match_and_refuse_a_stale_one(client, auth, timeline):
    location = record(client, auth).headers["Location"]
    correction = {"changes": {"place": "Beijing"}, "reason": "place reported", "source": SOURCE}
    before = timeline.audit.count()
    is_problem(client.post(f"{location}/corrections", json=correction, headers=auth), 428)
    is_problem(client.post(f"{location}/corrections", json=correction,
                           headers={**auth, "If-Match": '"7"'}), 412)
    malformed = client.post(f"{location}/corrections", json=correction,
                            headers={**auth, "If-Match": "v1"})
    assert "If-Match" in is_problem(malformed, 400)["errors"]
    assert timeline.audit.count() == before
    done = client.post(f"{location}/corrections", json=correction,
                       headers={**auth, "If-Match": '"1"'})
    assert done.status_code == 200 and done.headers["ETag"] == '"2"'
    assert done.get_json()["place"] == "Beijing"
    is_problem(client.post(f"{location}/corrections", json=correction,
                           headers={**auth, "If-Match": '"1"'}), 412)
    empty = client.post(f"{location}/corrections", json={**correction, "changes": {}},
                        headers={**auth, "If-Match": '"2"'})
    assert "changes" in is_problem(empty, 422)["errors"]


def test_status_change_and_retraction(client, auth):
    planned = record(client, auth, status="planned", planned_for="2024-05")
    location = planned.headers["Location"]
    occurred = client.post(f"{location}/status", headers={**auth, "If-Match": '"1"'},
                           json={"status": "occurred", "reason": "it happened"})
    assert occurred.status_code == 200
    assert occurred.get_json()["status"] == "occurred"
    assert occurred.get_json()["date"]["value"] == "2024-05"
    backwards = client.post(f"{location}/status", headers={**auth, "If-Match": '"2"'},
                            json={"status": "planned", "reason": "undo"})
    assert "status" in is_problem(backwards, 409)["errors"]
    retracted = client.post(f"{location}/retraction", headers={**auth, "If-Match": '"2"'},
                            json={"reason": "the report was wrong"})
    assert retracted.get_json()["retracted"] is True
    is_problem(client.post(f"{location}/retraction", headers={**auth, "If-Match": '"3"'},
                           json={"reason": "again"}), 409)


def test_two_concurrent_corrections_with_one_if_match_record_exactly_one(durable_store):
    from api import create_app

    flask_app = create_app({"STORE": durable_store})
    timeline = flask_app.extensions["timeline"]
    from tests.conftest import SEEDS
    from timeline.seeding import seed

    seed(timeline, SEEDS)
    auth = {"Authorization": f"Bearer {timeline.access.create_token('racer')}"}
    location = record(flask_app.test_client(), auth).headers["Location"]
    barrier = threading.Barrier(2)
    statuses = []

    def correct(place):
        barrier.wait()
        response = flask_app.test_client().post(
            f"{location}/corrections", headers={**auth, "If-Match": '"1"'},
            json={"changes": {"place": place}, "reason": "race", "source": SOURCE},
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=correct, args=(p,)) for p in ("Beijing", "Moscow")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 412]
    history = flask_app.test_client().get(location).get_json()["history"]
    assert [h["type"] for h in history] == ["recorded", "corrected"]
    timeline.close()


def test_an_idempotent_retry_returns_the_first_response_and_records_nothing(
    client, auth, timeline
):
    headers = {**auth, "Idempotency-Key": "retry-1"}
    first = client.post("/api/v1/developments", json=DEVELOPMENT, headers=headers)
    count = timeline.audit.count()
    again = client.post("/api/v1/developments", json=DEVELOPMENT, headers=headers)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert timeline.audit.count() == count
    different = client.post("/api/v1/developments", json={**DEVELOPMENT, "summary": "other"},
                            headers=headers)
    assert "Idempotency-Key" in is_problem(different, 422)["errors"]
    assert timeline.audit.count() == count


def test_cors_on_reads(client, app):
    response = client.get("/api/v1/actors", headers={"Origin": "https://dash.example"})
    # By default no other origin may read: a page elsewhere on the user's network gets nothing.
    assert "Access-Control-Allow-Origin" not in response.headers
    app.config["CORS_ORIGINS"] = "*"
    response = client.get("/api/v1/actors", headers={"Origin": "https://dash.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    app.config["CORS_ORIGINS"] = "https://dash.example"
    allowed = client.get("/api/v1/actors", headers={"Origin": "https://dash.example"})
    other = client.get("/api/v1/actors", headers={"Origin": "https://evil.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://dash.example"
    assert "Access-Control-Allow-Origin" not in other.headers


def test_reads_can_be_made_to_require_a_token(client, app, auth):
    app.config["READS_REQUIRE_TOKEN"] = True
    is_problem(client.get("/api/v1/actors"), 401)
    assert client.get("/api/v1/actors", headers=auth).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_openapi_and_offline_docs(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    assert "/api/v1/relationships/{a}/{b}" in spec["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"/openapi.json" in docs.data
    assert b"http://" not in docs.data and b"https://" not in docs.data.replace(
        b"https://timeline", b"")
