"""Helpers shared by the HTTP tests: a valid development, and checks of problem documents."""

from __future__ import annotations

SOURCE = {
    "publication": "Reuters",
    "attribution": "The Russian Foreign Ministry",
    "reported_on": "2024-04-09",
    "passage": "Lavrov met Wang Yi in Beijing.",
}
DEVELOPMENT = {
    "kind": "visit",
    "summary": "Sergei Lavrov visits Beijing.",
    "actors": [{"actor": "sergei-lavrov", "role": "source"}, {"actor": "china", "role": "target"}],
    "date": "2024-04-08",
    "certainty": "confirmed",
    "sources": [SOURCE],
}


def is_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


def record(client, auth, **changes):
    response = client.post("/api/v1/developments", json={**DEVELOPMENT, **changes}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response
