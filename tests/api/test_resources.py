"""Every resource, and the three users' journeys: a client, an analyst and an auditor."""

from __future__ import annotations

from datetime import UTC, datetime

import timeline.queries
from tests.helpers import SOURCE, record
from timeline.domain import development_id

NO_LIMITS = str(development_id("putin-xi-no-limits-partnership"))


def follow(client, url):
    """Every item of a paged list, following the Link headers; and how many pages."""
    items, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = response.get_json()
        name = next(k for k in body if k != "next")
        items += body[name]
        pages += 1
        link = response.headers.get("Link")
        assert (link is None) == (body["next"] is None)
        url = link.split(">")[0].lstrip("<") if link else None
    return items, pages


def test_actors(client, auth):
    actors = client.get("/api/v1/actors").get_json()["actors"]
    assert {"china", "russia", "sergei-lavrov"} <= {a["id"] for a in actors}
    lavrov = client.get("/api/v1/actors/sergei-lavrov").get_json()
    assert lavrov["belongs_to"] == ["russia"] and lavrov["kind"] == "person"
    created = client.post("/api/v1/actors", headers=auth, json={
        "id": "nato", "name": "NATO", "kind": "bloc", "aliases": ["North Atlantic Alliance"]})
    assert created.status_code == 201
    assert created.headers["Location"].endswith("/api/v1/actors/nato")
    assert client.get(created.headers["Location"]).get_json()["aliases"] == [
        "North Atlantic Alliance"]


def test_developments_list_filters_and_pages(client):
    everything = client.get("/api/v1/developments?limit=500").get_json()["developments"]
    paged, pages = follow(client, "/api/v1/developments?limit=4")
    assert paged == everything and pages == -(-len(everything) // 4)
    china = client.get("/api/v1/developments?actor=china&kind=material_support").get_json()
    assert {tuple(d["items"])[:1] for d in china["developments"]} == {
        ("rifle scopes",), ("microelectronics",)}
    visits = client.get("/api/v1/developments?status=occurred&kind=visit").get_json()
    # Both planned visits of the seed data took place (Lavrov's in April, Putin's in May).
    assert [d["planned_for"]["value"] for d in visits["developments"]] == ["2024-04", "2024-05"]
    assert client.get("/api/v1/developments?status=planned").get_json()["developments"] == []
    in_2022 = client.get("/api/v1/developments?from=2022-01-01&to=2022-12-31").get_json()
    assert all(d["date"]["value"].startswith("2022") for d in in_2022["developments"])
    two = client.get("/api/v1/developments?actor=iran&actor=north-korea").get_json()
    assert len(two["developments"]) == 2
    assert client.get("/api/v1/developments?actor=atlantis").status_code == 404


def test_a_development_with_its_history_and_as_known_at(client):
    found = client.get(f"/api/v1/developments/{NO_LIMITS}").get_json()
    assert (found["version"], found["place"]) == (2, "Beijing")
    assert [h["type"] for h in found["history"]] == ["recorded", "corrected"]
    first_recorded = found["history"][0]["recorded_at"]
    then = client.get(f"/api/v1/developments/{NO_LIMITS}",
                      query_string={"known_at": first_recorded}).get_json()
    assert (then["version"], then["place"]) == (1, "Moscow")
    before = client.get(f"/api/v1/developments/{NO_LIMITS}?known_at=2000-01-01T00:00:00Z")
    assert before.status_code == 404


def test_a_development_dated_by_iso_week_is_recorded_and_read_back_as_that_week(client, auth):
    reported = {**SOURCE, "reported_on": "2024-05-14"}  # after its week
    created = record(client, auth, date="2024-W19", sources=[reported],
                     summary="Sergei Lavrov visits Beijing in the week of 6 May.")
    ident = created.headers["Location"].rsplit("/", 1)[1]
    found = client.get(f"/api/v1/developments/{ident}").get_json()
    assert found["date"] == {"value": "2024-W19", "precision": "week", "approximate": False,
                             "derivation": None}
    # Monday 6 to Sunday 12 May 2024: a range of days that overlaps it finds it ...
    for start, end, overlaps in [("2024-05-12", "2024-05-20", True),
                                 ("2024-05-01", "2024-05-06", True),
                                 ("2024-05-13", "2024-05-31", False),
                                 ("2024-04-01", "2024-05-05", False)]:
        listed = client.get(f"/api/v1/developments?actor=sergei-lavrov&from={start}&to={end}"
                            "&limit=500").get_json()["developments"]
        assert (ident in {d["id"] for d in listed}) is overlaps, (start, end)

    # ... and in world time it is possible through the week and counts from its Sunday.
    def standing(as_of: str) -> str | None:
        listed = client.get(f"/api/v1/developments?actor=sergei-lavrov&as_of={as_of}"
                            "&limit=500").get_json()["developments"]
        return next((d["standing"] for d in listed if d["id"] == ident), "not begun")

    assert standing("2024-05-05") == "not begun"
    assert standing("2024-05-06") == standing("2024-05-11") == "possible"
    assert standing("2024-05-12") == "counts"


def test_relationships(client):
    pair = client.get("/api/v1/relationships/russia/china?as_of=2024-06-30").get_json()
    assert pair["pair"] == ["china", "russia"] and pair["stance"] == "partnership"
    assert {t["kind"] for t in pair["ties"]} >= {"partnership", "material_supply"}
    listed = client.get("/api/v1/relationships?actor=russia&as_of=2023-12-31").get_json()
    assert all("russia" in r["pair"] for r in listed["relationships"])
    wars = client.get("/api/v1/relationships?stance=war").get_json()["relationships"]
    assert [r["pair"] for r in wars] == [["russia", "ukraine"]]
    paged, _ = follow(client, "/api/v1/relationships?limit=3")
    assert paged == client.get("/api/v1/relationships?limit=500").get_json()["relationships"]
    steps = client.get("/api/v1/relationships/china/russia/replay?until=2024-04-30")
    steps = steps.get_json()["steps"]
    counted = [s for s in steps if s["event"] == "counts"]
    assert counted[0]["ties_opened"] == [["partnership", "china", "russia"]]
    replay = client.get("/api/v1/replay?from=2024-01-01&until=2024-04-30").get_json()["steps"]
    assert replay and all(s["date"] >= "2024-01-01" for s in replay)
    assert client.get("/api/v1/relationships/china/china").status_code == 422
    assert client.get("/api/v1/relationships/china/atlantis").status_code == 404


def test_the_old_name_of_a_pair_replay_redirects_with_its_query(client):
    moved = client.get("/api/v1/relationships/china/russia/history?until=2024-04-30")
    assert moved.status_code == 308
    assert moved.headers["Location"].endswith(
        "/api/v1/relationships/china/russia/replay?until=2024-04-30"
    )
    followed = client.get("/api/v1/relationships/china/russia/history?until=2024-04-30",
                          follow_redirects=True)
    assert followed.get_json() == client.get(
        "/api/v1/relationships/china/russia/replay?until=2024-04-30").get_json()


def test_client_journey_reads_current_state(client):
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["read_model_lag"] == 0
    state = client.get("/api/v1/relationships/china/russia")
    assert state.status_code == 200 and state.headers["ETag"]
    assert client.get("/api/v1/relationships/china/russia",
                      headers={"If-None-Match": state.headers["ETag"]}).status_code == 304


def test_analyst_journey_compares_before_and_after_a_correction(client, auth):
    location = record(client, auth, kind="sanctions", date="2024-04",
                      actors=[{"actor": "united-states", "role": "source"},
                              {"actor": "iran", "role": "target"}]).headers["Location"]
    before_correction = datetime.now(UTC).isoformat()
    assert client.get("/api/v1/relationships/iran/united-states?as_of=2023-12-31"
                      ).get_json()["stance"] == "neutral"
    client.post(f"{location}/corrections", headers={**auth, "If-Match": '"1"'}, json={
        "changes": {"date": "2023-11"}, "reason": "earlier than first reported",
        "source": SOURCE})
    now = client.get("/api/v1/relationships/iran/united-states?as_of=2023-12-31").get_json()
    then = client.get("/api/v1/relationships/iran/united-states",
                      query_string={"as_of": "2023-12-31", "known_at": before_correction}
                      ).get_json()
    assert now["stance"] == "hostility" and then["stance"] == "neutral"


def test_auditor_journey_pages_through_the_whole_log(client, timeline):
    events, pages = follow(client, "/api/v1/events?limit=10")
    assert [e["position"] for e in events] == list(range(1, timeline.audit.count() + 1))
    assert pages == -(-timeline.audit.count() // 10)
    first = events[0]
    assert first["type"] == "Actor.Registered" and first["recorded_by"] == "seed"
    assert client.get(f"/api/v1/events/{first['position']}").get_json() == first
    stream = client.get(f"/api/v1/streams/{NO_LIMITS}").get_json()["events"]
    assert [(e["stream_version"], e["type"]) for e in stream] == [
        (1, "Development.Recorded"), (2, "Development.Corrected")]
    assert stream[1]["data"]["reason"]


def test_a_rare_filter_answers_short_pages_each_with_a_cursor(client, monkeypatch):
    # Relationships as of a date: a page folds the pairs it reads (as things stand now, it
    # reads the outlines of that stance in their index, see the next test).
    urls = ["/api/v1/relationships?stance=war&as_of=2024-04-07&limit=2",
            "/api/v1/developments?kind=visit&limit=2"]
    whole = [follow(client, url.replace("limit=2", "limit=500"))[0] for url in urls]
    # Each page may read 3 pairs or developments: pages come back short, even empty, and
    # following `next` still gives every match.
    monkeypatch.setattr(timeline.queries, "SCAN_PAIRS", 3)
    monkeypatch.setattr(timeline.queries, "SCAN_DEVELOPMENTS", 3)
    for url, expected in zip(urls, whole, strict=True):
        items, pages = follow(client, url)
        assert expected and items == expected
        assert pages > (len(expected) + 1) // 2 + 1


def test_a_rare_stance_as_things_stand_comes_in_full_pages(client, monkeypatch):
    monkeypatch.setattr(timeline.queries, "SCAN_PAIRS", 3)
    everything, _ = follow(client, "/api/v1/relationships?limit=500")
    wars = [r for r in everything if r["stance"] == "war"]
    assert 1 <= len(wars) < len(everything) // 4
    items, pages = follow(client, "/api/v1/relationships?stance=war&limit=500")
    assert items == wars and pages == 1
