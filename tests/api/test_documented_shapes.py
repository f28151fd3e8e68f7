"""What the OpenAPI document promises is what is served: every body has exactly the fields of
its documented response schema, at every depth (none served undocumented, none required
missing)."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields

from tests.helpers import DEVELOPMENT, SOURCE, record


def documented_schema(app, endpoint: str, status: int) -> Any:
    view = app.view_functions[endpoint]
    responses = getattr(view, "_apidoc", {}).get("response", {}).get("responses", {})
    documented = responses.get(status)
    if isinstance(documented, list):  # flask-smorest keeps the main response in a list
        documented = documented[0]
    return documented and documented.get("schema")


def mismatches(schema: Any, body: Any, where: str) -> list[str]:
    """How a served body differs from its schema's fields (names, presence, nesting)."""
    if not isinstance(body, dict):
        return [f"{where}: not an object"]
    by_key = {field.data_key or name: field for name, field in schema.fields.items()}
    found = [f"{where}.{key}: served, not documented" for key in body if key not in by_key]
    for key, field in by_key.items():
        if key not in body:
            found += [f"{where}.{key}: required, not served"] if field.required else []
        elif body[key] is not None:
            found += nested(field, body[key], f"{where}.{key}")
    return found


def nested(field: Any, value: Any, where: str) -> list[str]:
    if isinstance(field, fields.Nested):
        return mismatches(field.schema, value, where)
    if isinstance(field, fields.List):
        return [m for i, item in enumerate(value) for m in nested(field.inner, item, f"{where}[{i}]")]
    return []


def test_every_documented_body_is_exactly_its_schema(app, client, auth, timeline):
    checked: set[str] = set()
    problems: list[str] = []

    @app.after_request
    def compare(response):
        schema = documented_schema(app, request.endpoint, response.status_code)
        if schema is not None and response.is_json:
            where = f"{request.method} {request.path} {response.status_code}"
            problems.extend(mismatches(schema, response.get_json(), where))
            checked.add(request.url_rule.rule)
        return response

    created = record(client, auth).headers["Location"]
    ident = created.rsplit("/", 1)[1]
    client.post(f"{created}/corrections", headers={**auth, "If-Match": '"1"'}, json={
        "changes": {"place": "Beijing"}, "reason": "place reported", "source": SOURCE})
    planned = record(client, auth, status="planned", planned_for="2024-05",
                     date=DEVELOPMENT["date"]).headers["Location"]
    client.post(f"{planned}/status", headers={**auth, "If-Match": '"1"'},
                json={"status": "occurred", "reason": "it took place"})
    client.post(f"{created}/retraction", headers={**auth, "If-Match": '"2"'},
                json={"reason": "the report was wrong"})
    client.post("/api/v1/actors", headers=auth,
                json={"id": "atlantis", "name": "Atlantis", "kind": "state"})
    for path in [
        "/api/v1/actors", "/api/v1/actors/china",
        "/api/v1/developments?actor=china&limit=5", f"/api/v1/developments/{ident}",
        "/api/v1/relationships?as_of=2024-06-30", "/api/v1/relationships/china/russia",
        "/api/v1/relationships/china/russia/replay?until=2024-06-30",
        "/api/v1/replay?until=2024-06-30", "/api/v1/events?limit=5", "/api/v1/events/1",
        f"/api/v1/streams/{ident}", "/api/v1/audit/head", "/api/v1/audit/verify", "/healthz",
        "/api/v1/audit/tree", "/api/v1/audit/proof/inclusion?index=0&size=3",
        "/api/v1/audit/proof/consistency?from=2&to=5",
    ]:
        assert client.get(path).status_code == 200, path

    assert not problems
    documented = {
        rule.rule for rule in app.url_map.iter_rules()
        if any(documented_schema(app, rule.endpoint, status) for status in (200, 201))
    }
    assert documented <= checked, f"not exercised here: {sorted(documented - checked)}"
