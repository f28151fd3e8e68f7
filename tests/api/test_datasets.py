"""Ingested data over HTTP: each development's provenance, and `?dataset=` on the listings,
the relationships and the replays."""

from __future__ import annotations

import pytest

from tests.helpers import gdelt_line, is_problem, write
from timeline.domain import development_id
from timeline.ingest import gdelt
from timeline.ingest.bulk import ingest

GDELT_ID = str(development_id("gdelt:1"))


@pytest.fixture
def ingested(timeline, tmp_path):
    """The seeded service with one GDELT event of Russia against Ukraine ingested."""
    file = write(tmp_path / "20240410000000.export.CSV",
                 gdelt_line("1", sqldate="20240409", dateadded="20240410000000"))
    ingest(timeline, gdelt.rows(file), recorded_by="gdelt")
    return timeline


def test_a_development_shows_the_record_it_came_from(client, ingested):
    found = client.get(f"/api/v1/developments/{GDELT_ID}").get_json()
    assert found["dataset"] == "gdelt"
    assert {k: found["provenance"][k] for k in ("dataset", "record_id", "file", "line")} == {
        "dataset": "gdelt", "record_id": "1", "file": "20240410000000.export.CSV", "line": 1}
    assert found["provenance"]["coding"]["GoldsteinScale"] == "-10.0"
    listed = client.get("/api/v1/developments?dataset=gdelt").get_json()["developments"]
    assert [(d["id"], d["provenance"]) for d in listed] == [(GDELT_ID, found["provenance"])]
    seeded = client.get("/api/v1/developments?dataset=seed&limit=3").get_json()
    assert {(d["dataset"], d["provenance"]) for d in seeded["developments"]} == {("seed", None)}


def test_a_client_reads_a_pair_as_one_dataset_tells_it(client, ingested):
    only_gdelt = client.get("/api/v1/relationships/russia/ukraine?dataset=gdelt").get_json()
    assert [d["id"] for d in only_gdelt["developments"]] == [GDELT_ID]
    everything = client.get("/api/v1/relationships/russia/ukraine").get_json()
    seed_only = client.get("/api/v1/relationships/russia/ukraine?dataset=seed").get_json()
    assert {d["id"] for d in everything["developments"]} == (
        {d["id"] for d in seed_only["developments"]} | {GDELT_ID})
    both = client.get("/api/v1/relationships/russia/ukraine?dataset=seed,gdelt").get_json()
    assert both["developments"] == everything["developments"]
    pairs = client.get("/api/v1/relationships?dataset=gdelt").get_json()["relationships"]
    assert [r["pair"] for r in pairs] == [["russia", "ukraine"]]
    steps = client.get("/api/v1/relationships/russia/ukraine/replay?until=2024-04-30"
                       "&order=reported&dataset=gdelt").get_json()["steps"]
    assert [(s["date"], s["development"]["id"]) for s in steps] == [("2024-04-10", GDELT_ID)]


def test_the_next_page_keeps_the_dataset(client, ingested):
    first = client.get("/api/v1/developments?dataset=seed&limit=1")
    assert "dataset=seed" in first.headers["Link"]


def test_an_unknown_dataset_is_a_422_naming_the_field_on_every_endpoint(client, timeline):
    before = timeline.audit.count()
    for path in ("/api/v1/developments?", "/api/v1/relationships?",
                 "/api/v1/relationships/russia/ukraine?",
                 "/api/v1/relationships/russia/ukraine/replay?until=2024-04-30&",
                 "/api/v1/replay?until=2024-04-30&"):
        for value in ("news", "gdelt,news", "", "GDELT"):
            body = is_problem(client.get(f"{path}dataset={value}"), 422)
            assert "dataset" in body["errors"], (path, value, body)
    assert timeline.audit.count() == before


def test_openapi_documents_the_dataset_filter_and_provenance(client):
    spec = client.get("/openapi.json").get_json()
    for path in ("/api/v1/developments", "/api/v1/relationships",
                 "/api/v1/relationships/{a}/{b}", "/api/v1/relationships/{a}/{b}/replay",
                 "/api/v1/replay"):
        names = [p["name"] for p in spec["paths"][path]["get"]["parameters"]]
        assert "dataset" in names, path
    schemas = spec["components"]["schemas"]
    development = schemas["DevelopmentDetailOut"]["properties"]
    assert {"dataset", "provenance"} <= set(development)
    assert set(schemas["ProvenanceOut"]["properties"]) == {
        "dataset", "record_id", "file", "line", "coding"}
