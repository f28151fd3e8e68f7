"""HTTP edge cases: hostile bodies, headers and query strings get a clear 4xx problem that
names what is wrong, and the log stays as it was."""

from __future__ import annotations

import base64
import json
import re

from tests.api.test_conventions import DEVELOPMENT, SOURCE, is_problem, record
from timeline.schemas import MAX_ITEMS, MAX_LENGTH

DEEP = "[" * 100_000


def test_a_deeply_nested_json_body_is_a_400_and_records_nothing(client, timeline, auth):
    before = timeline.audit.count()
    for path in ("/api/v1/developments", "/api/v1/actors"):
        response = client.post(path, data=DEEP, content_type="application/json", headers=auth)
        assert "nested" in is_problem(response, 400)["detail"]
    assert timeline.audit.count() == before


def test_a_deeply_nested_cursor_is_a_422_naming_after(client):
    cursor = base64.urlsafe_b64encode(DEEP[:50_000].encode()).decode()
    body = is_problem(client.get(f"/api/v1/developments?after={cursor}"), 422)
    assert "after" in body["errors"]


def test_a_cursor_naming_no_development_is_a_422_naming_after(client):
    """A cursor of the right shape whose development id is no UUID's text: refused on both
    stores, not a crash where PostgreSQL keeps the ids as UUIDs."""
    from api.http import encode_cursor

    given = client.get("/api/v1/developments?limit=1").get_json()["next"]
    assert client.get(f"/api/v1/developments?limit=1&after={given}").status_code == 200
    for path, cursor in [
        ("/api/v1/developments", encode_cursor("2024-01-01", "2024-01-01", "x")),
        ("/api/v1/developments",
         encode_cursor("2024-01-01", "2024-01-01", "0000000-0000-0000-0000-00000000000X")),
        ("/api/v1/replay", encode_cursor("2024-01-01", 1, "2024-01-01", "x", "a", "b", "a", "b")),
        ("/api/v1/replay?order=reported", encode_cursor("2024-01-01", "X", 1, "a", "b")),
    ]:
        separator = "&" if "?" in path else "?"
        body = is_problem(client.get(f"{path}{separator}after={cursor}"), 422)
        assert "after" in body["errors"], (path, body)


def test_the_app_leaves_the_date_header_to_the_server(client):
    # Werkzeug's server and gunicorn each add a Date (tests/integration/test_serving.py).
    first = client.get("/api/v1/actors/china")
    assert first.status_code == 200 and "Date" not in first.headers
    again = client.get("/api/v1/actors/china", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and "Date" not in again.headers


def test_a_weak_if_match_never_matches_and_records_nothing(client, timeline, auth):
    location = record(client, auth).headers["Location"]
    before = timeline.audit.count()
    for path, body in [
        ("corrections", {"changes": {"place": "Beijing"}, "reason": "place", "source": SOURCE}),
        ("status", {"status": "cancelled", "reason": "called off"}),
        ("retraction", {"reason": "wrong"}),
    ]:
        response = client.post(f"{location}/{path}", json=body,
                               headers={**auth, "If-Match": 'W/"1"'})
        assert "If-Match" in is_problem(response, 412)["errors"]
    assert timeline.audit.count() == before
    assert client.get(location).headers["ETag"] == '"1"'


def too_long(name: str) -> str:
    return "x" * (MAX_LENGTH[name] + 1)


def too_many(name: str, entry):
    return [entry] * (MAX_ITEMS[name] + 1)


PARTICIPANT = {"actor": "china", "role": "participant"}
LONG_SLUG = "x" * (MAX_LENGTH["actor_id"] + 1)
OVER_THE_LIMIT = [
    # (path, body, the field named in errors, the limit its message gives)
    *[("/api/v1/developments", {**DEVELOPMENT, name: too_long(name)}, name, MAX_LENGTH[name])
      for name in ("summary", "place", "quote")],
    ("/api/v1/developments", {**DEVELOPMENT, "items": [too_long("item")]}, "items",
     MAX_LENGTH["item"]),
    ("/api/v1/developments", {**DEVELOPMENT, "items": too_many("items", "rifles")}, "items",
     MAX_ITEMS["items"]),
    ("/api/v1/developments", {**DEVELOPMENT, "actors": too_many("actors", PARTICIPANT)},
     "actors", MAX_ITEMS["actors"]),
    ("/api/v1/developments", {**DEVELOPMENT, "sources": too_many("sources", SOURCE)},
     "sources", MAX_ITEMS["sources"]),
    ("/api/v1/developments",
     {**DEVELOPMENT, "actors": [{"actor": LONG_SLUG, "role": "source"}]}, "actor",
     MAX_LENGTH["actor_id"]),
    ("/api/v1/developments",
     {**DEVELOPMENT, "date": {"value": "2024", "derivation": too_long("derivation")}}, "date",
     MAX_LENGTH["derivation"]),
    *[("/api/v1/developments", {**DEVELOPMENT, "sources": [{**SOURCE, name: too_long(name)}]},
       name, MAX_LENGTH[name]) for name in ("publication", "attribution", "passage")],
    ("/api/v1/developments",
     {**DEVELOPMENT, "sources": [{**SOURCE, "url": "https://example.org/" + too_long("url")}]},
     "url", MAX_LENGTH["url"]),
    ("/api/v1/developments",
     {**DEVELOPMENT, "sources": [{**SOURCE, "language": "en-" + "-".join(["abcdefgh"] * 4)}]},
     "language", MAX_LENGTH["language"]),
    ("/api/v1/actors", {"id": LONG_SLUG, "name": "X", "kind": "state"}, "id",
     MAX_LENGTH["actor_id"]),
    ("/api/v1/actors", {"id": "x", "name": too_long("name"), "kind": "state"}, "name",
     MAX_LENGTH["name"]),
    ("/api/v1/actors", {"id": "x", "name": "X", "kind": "state", "aliases": [too_long("alias")]},
     "aliases", MAX_LENGTH["alias"]),
    ("/api/v1/actors",
     {"id": "x", "name": "X", "kind": "state", "aliases": too_many("aliases", "X")},
     "aliases", MAX_ITEMS["aliases"]),
    ("/api/v1/actors",
     {"id": "x", "name": "X", "kind": "state", "belongs_to": too_many("belongs_to", "china")},
     "belongs_to", MAX_ITEMS["belongs_to"]),
]


def test_text_and_lists_over_their_limit_are_422_naming_the_field_and_limit(
    client, timeline, auth
):
    before = timeline.audit.count()
    for path, body, field, limit in OVER_THE_LIMIT:
        response = client.post(path, json=body, headers=auth)
        errors = json.dumps(is_problem(response, 422)["errors"])
        assert f'"{field}"' in errors and f" to {limit} " in errors, (field, errors)
    assert timeline.audit.count() == before


def test_a_sources_language_is_kept_and_a_malformed_one_is_422_naming_it(
    client, timeline, auth
):
    sources = [{**SOURCE, "language": "zh-Hans"}, SOURCE]
    body = record(client, auth, sources=sources).get_json()
    assert [s["language"] for s in body["sources"]] == ["zh-Hans", None]
    before = timeline.audit.count()
    for language in ("english", "zh_CN", "", "e"):
        response = client.post("/api/v1/developments", headers=auth, json={
            **DEVELOPMENT, "sources": [SOURCE, {**SOURCE, "language": language}]})
        errors = is_problem(response, 422)["errors"]
        assert list(errors["sources"]["1"]) == ["language"], (language, errors)
    assert timeline.audit.count() == before



def test_a_sources_language_reads_back_from_the_read_model_as_recorded(client, auth):
    """The read model keeps a document without the fields its columns hold (each fact stored
    once): the sources' languages, nested in it, come back from a listing exactly as recorded."""
    sources = [{**SOURCE, "language": "zh-Hans"}, SOURCE, {**SOURCE, "language": "en"}]
    recorded = record(client, auth, sources=sources).get_json()
    listed = client.get("/api/v1/developments?limit=500").get_json()["developments"]
    (found,) = [d for d in listed if d["id"] == recorded["id"]]
    assert found["sources"] == recorded["sources"]
    assert [s["language"] for s in found["sources"]] == ["zh-Hans", None, "en"]

def test_a_reason_over_its_limit_is_422_naming_it(client, timeline, auth):
    location = record(client, auth).headers["Location"]
    reason, source = too_long("reason"), SOURCE
    before = timeline.audit.count()
    for change, body in [
        ("corrections", {"changes": {"place": "Minsk"}, "reason": reason, "source": source}),
        ("status", {"status": "cancelled", "reason": reason}),
        ("retraction", {"reason": reason}),
    ]:
        response = client.post(f"{location}/{change}", json=body,
                               headers={**auth, "If-Match": '"1"'})
        errors = is_problem(response, 422)["errors"]
        assert errors["reason"] == [f"1 to {MAX_LENGTH['reason']} characters"], change
    assert timeline.audit.count() == before


def test_text_at_its_limit_is_accepted(client, auth):
    body = record(client, auth, summary="x" * MAX_LENGTH["summary"],
                  items=["y" * MAX_LENGTH["item"]] * MAX_ITEMS["items"]).get_json()
    assert len(body["summary"]) == MAX_LENGTH["summary"]


def test_openapi_shows_every_limit(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    development, source = schemas["DevelopmentInput"], schemas["Source"]
    actor = schemas["Actor"]["properties"]
    properties = development["properties"]
    for name in ("summary", "place", "quote"):
        assert properties[name]["maxLength"] == MAX_LENGTH[name]
    for name in ("actors", "sources", "items"):
        assert properties[name]["maxItems"] == MAX_ITEMS[name]
    assert properties["items"]["items"]["maxLength"] == MAX_LENGTH["item"]
    for name in ("publication", "attribution", "passage", "url", "language"):
        assert source["properties"][name]["maxLength"] == MAX_LENGTH[name]
    assert schemas["Participation"]["properties"]["actor"]["maxLength"] == MAX_LENGTH["actor_id"]
    assert actor["name"]["maxLength"] == MAX_LENGTH["name"]
    assert actor["aliases"]["maxItems"] == MAX_ITEMS["aliases"]
    assert actor["aliases"]["items"]["maxLength"] == MAX_LENGTH["alias"]
    assert actor["belongs_to"]["maxItems"] == MAX_ITEMS["belongs_to"]
    assert schemas["Retraction"]["properties"]["reason"]["maxLength"] == MAX_LENGTH["reason"]


def every_operation(client, development_id: str):
    """Each (method, concrete path) of the OpenAPI document, with real path parameters."""
    values = {"a": "china", "b": "russia", "actor_id": "china", "position": "1",
              "development_id": development_id, "stream_id": development_id}
    for path, operations in client.get("/openapi.json").get_json()["paths"].items():
        for method in [m for m in operations if m in ("get", "post", "put", "patch", "delete")]:
            yield method, re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


def test_an_unknown_query_parameter_is_a_422_naming_it_on_every_endpoint(
    client, timeline, auth
):
    development_id = client.get("/api/v1/developments?limit=1").get_json()["developments"][0]["id"]
    before = timeline.audit.count()
    operations = list(every_operation(client, development_id))
    assert len(operations) >= 15
    for method, path in operations:
        response = client.open(f"{path}?asof=2020-01-01", method=method.upper(), json={},
                               headers={**auth, "If-Match": '"1"'})
        errors = is_problem(response, 422)["errors"]
        assert list(errors) == ["asof"], (method, path, errors)
    assert timeline.audit.count() == before


def test_documented_query_parameters_and_pagination_still_work(client):
    assert client.get("/api/v1/relationships?as_of=2024-01-01&stance=cooperation").status_code \
        == 200
    assert client.get("/api/v1/developments?actor=china&actor=russia&from=2024-01-01"
                      "&to=2024-12-31&kind=visit&known_at=2030-01-01T00:00:00Z").status_code == 200
    seen, url = [], "/api/v1/developments?limit=10"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
        seen += response.get_json()["developments"]
        link = response.headers.get("Link")
        url = link[1:link.index(">")].removeprefix("http://localhost") if link else None
    assert len(seen) == len({d["id"] for d in seen}) > 10
    events = client.get("/api/v1/events?limit=5").get_json()
    assert client.get(f"/api/v1/events?after={events['next']}&limit=5").status_code == 200
    head = client.get("/api/v1/audit/head").get_json()
    verified = client.get(f"/api/v1/audit/verify?position={head['position']}&hash={head['hash']}")
    assert verified.get_json()["ok"] is True
    assert client.get("/api/v1/relationships/china/russia/replay?from=2024-01-01&until=2024-12-31"
                      ).status_code == 200


WRITE_PREFLIGHT = {
    "Origin": "https://dash.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, if-match, idempotency-key",
}


def allowed(response, header: str) -> set[str]:
    return {part.strip().lower() for part in response.headers.get(header, "").split(",")}


def test_a_named_origin_may_write_across_origins(client, app, timeline, auth):
    app.config["CORS_ORIGINS"] = "https://dash.example"
    location = record(client, auth).headers["Location"]
    preflight = client.options(f"{location}/corrections", headers=WRITE_PREFLIGHT)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://dash.example"
    assert "post" in allowed(preflight, "Access-Control-Allow-Methods")
    assert allowed(preflight, "Access-Control-Allow-Headers") >= {
        "authorization", "content-type", "if-match", "idempotency-key", "if-none-match"}
    before = timeline.audit.count()
    written = client.post("/api/v1/developments", json=DEVELOPMENT, headers={
        **auth, "Origin": "https://dash.example", "Idempotency-Key": "from-the-dashboard"})
    assert written.status_code == 201 and timeline.audit.count() > before
    assert written.headers["Access-Control-Allow-Origin"] == "https://dash.example"
    assert allowed(written, "Access-Control-Expose-Headers") >= {"etag", "link", "location"}
    assert "Origin" in written.headers.getlist("Vary")


def test_a_wildcard_or_unnamed_origin_may_only_read(client, app):
    app.config["CORS_ORIGINS"] = "*"
    preflight = client.options("/api/v1/developments", headers=WRITE_PREFLIGHT)
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "post" not in allowed(preflight, "Access-Control-Allow-Methods")
    assert "if-match" not in allowed(preflight, "Access-Control-Allow-Headers")
    assert allowed(preflight, "Access-Control-Expose-Headers") >= {"etag", "link", "location"}
    app.config["CORS_ORIGINS"] = "https://dash.example"
    other = client.options("/api/v1/developments",
                           headers={**WRITE_PREFLIGHT, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


DATES = [  # (value, whether it is a date this service accepts)
    ("0001", True), ("0999-01", True), ("2024-02-29", True), ("9999-12-31", True),
    ("2024-01-31", True), ("0000", False), ("0000-01-01", False), ("2024-00", False),
    ("2024-13", False), ("2024-01-00", False), ("2024-01-32", False), ("10000", False),
    ("٢٠٢٤", False), (" 2024", False), ("2024-W19", True), ("2020-W53", True),
    ("0001-W01", True), ("2024-W00", False), ("2024-W54", False), ("2024-W1", False),
    ("2024-w19", False), ("2024W19", False), ("2024-W19-1", False),
]


def test_the_openapi_date_pattern_says_what_is_accepted(client, timeline, auth):
    properties = client.get("/openapi.json").get_json()["components"]["schemas"][
        "DevelopmentInput"]["properties"]
    string, as_object = properties["date"]["oneOf"][:2]
    assert string["pattern"] == as_object["properties"]["value"]["pattern"]
    assert as_object["properties"]["precision"]["enum"] == ["year", "month", "week", "day"]
    served = client.get("/openapi.json").get_json()["components"]["schemas"]["PartialDateOut"]
    assert served["properties"]["precision"]["enum"] == ["year", "month", "week", "day"]
    for value, accepted in DATES:
        assert bool(re.match(string["pattern"], value)) is accepted, value
        before = timeline.audit.count()
        response = client.post("/api/v1/developments", json={**DEVELOPMENT, "date": value},
                               headers=auth)
        if accepted:
            assert response.status_code == 201, (value, response.get_json())
        else:
            assert "date" in is_problem(response, 422)["errors"], value
            assert timeline.audit.count() == before
    # The documented object's precision is a string: null is refused like any other mismatch.
    response = client.post("/api/v1/developments", headers=auth, json={
        **DEVELOPMENT, "date": {"value": "2024", "precision": None}})
    assert "date" in is_problem(response, 422)["errors"]
