"""The three time axes over HTTP, on the seed data: the world as of a date, what had been
reported by a date, and what this store had recorded at a moment (docs/user-guide.md)."""

from __future__ import annotations

from api.http import encode_cursor
from timeline.domain import development_id

LAVROV_TRIP = str(development_id("2024-04-lavrov-visits-beijing"))
PUTIN_VISIT = str(development_id("2024-05-putin-visits-china"))
NO_LIMITS = str(development_id("putin-xi-no-limits-partnership"))


def pair(client, query: str) -> dict:
    response = client.get(f"/api/v1/relationships/china/russia?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(entries) -> set[str]:
    return {entry["id"] for entry in entries}


def summaries(entries) -> str:
    return " ".join(entry["summary"] for entry in entries)


def test_as_of_the_day_of_the_report_the_supplies_count_and_both_visits_are_expected(client):
    found = pair(client, "as_of=2024-04-07")
    assert found["axes"] == {"as_of": "2024-04-07", "reported_by": None, "known_at": None}
    counted = summaries(found["developments"])
    assert "rifle scopes" in counted and "satellite imagery" in counted
    assert "Hong Kong" in counted
    assert "material_supply" in {tie["kind"] for tie in found["ties"]}
    assert {LAVROV_TRIP, PUTIN_VISIT} <= ids(found["expected"])
    assert not {LAVROV_TRIP, PUTIN_VISIT} & ids(found["developments"])
    # The day before the report, the supplies of "April 2024" were not yet certain.
    before = pair(client, "as_of=2024-04-06")
    assert "rifle scopes" in summaries(before["possible"])
    assert "rifle scopes" not in summaries(before["developments"])


def test_a_planned_visit_counts_from_the_day_it_took_place(client):
    after_lavrov = pair(client, "as_of=2024-04-10")
    assert LAVROV_TRIP in ids(after_lavrov["developments"])
    assert LAVROV_TRIP not in ids(after_lavrov["expected"])
    assert PUTIN_VISIT in ids(after_lavrov["expected"])
    after_putin = pair(client, "as_of=2024-05-20")
    assert PUTIN_VISIT in ids(after_putin["developments"])
    # One development, read as of each date: the status in force then.
    trip = client.get(f"/api/v1/developments/{LAVROV_TRIP}?as_of=2024-04-07").get_json()
    assert (trip["status"], trip["standing"]) == ("planned", "expected")
    trip = client.get(f"/api/v1/developments/{LAVROV_TRIP}?as_of=2024-04-10").get_json()
    assert (trip["status"], trip["standing"]) == ("occurred", "counts")


def test_reported_by_shows_what_the_world_knew_then(client):
    known = pair(client, "reported_by=2023-06-01")
    assert known["axes"]["reported_by"] == "2023-06-01"
    assert NO_LIMITS in ids(known["developments"])
    assert "partnership" in {tie["kind"] for tie in known["ties"]}
    assert "rifle scopes" not in summaries(known["developments"])
    assert not known["expected"]
    on_report_day = pair(client, "reported_by=2024-04-07")
    assert LAVROV_TRIP in ids(on_report_day["expected"])
    trip = client.get(f"/api/v1/developments/{LAVROV_TRIP}?reported_by=2024-04-07").get_json()
    assert trip["status"] == "planned" and trip["version"] == 1
    assert [entry["reported_from"] for entry in trip["history"]] == ["2024-04-07"]
    # The 2022 declaration as the Joint Statement reported it, not as the 2024 article did.
    statement = client.get(f"/api/v1/developments/{NO_LIMITS}?reported_by=2023-06-01").get_json()
    assert statement["date"]["value"] == "2022-02-04" and statement["place"] == "Beijing"


def test_every_list_takes_the_three_axes_and_echoes_them(client):
    query = "as_of=2024-04-07&reported_by=2024-04-07&known_at=2100-01-01"
    listed = client.get(f"/api/v1/developments?{query}&limit=100").get_json()
    assert listed["axes"]["reported_by"] == "2024-04-07"
    assert listed["axes"]["known_at"].startswith("2100-01-01T23:59:59")
    standing = {d["id"]: (d["status"], d["standing"]) for d in listed["developments"]}
    assert standing[LAVROV_TRIP] == ("planned", "expected")
    assert PUTIN_VISIT in standing
    # Only what had begun by the date.
    assert all(d["date"]["value"][:7] <= "2024-04" for d in listed["developments"])
    planned = client.get("/api/v1/developments?as_of=2024-04-07&status=planned").get_json()
    assert LAVROV_TRIP in ids(planned["developments"])
    relationships = client.get(f"/api/v1/relationships?{query}").get_json()
    assert relationships["axes"]["as_of"] == "2024-04-07"
    steps = client.get("/api/v1/replay?until=2024-04-30&reported_by=2024-04-07").get_json()
    assert steps["axes"]["reported_by"] == "2024-04-07" and steps["order"] == "happened"


def test_a_bare_date_is_the_whole_day_and_bad_axes_are_named(client):
    # Everything was recorded today, so nothing was recorded by the end of 7 April 2024.
    assert client.get("/api/v1/relationships/china/russia?known_at=2024-04-07"
                      ).get_json()["developments"] == []
    assert client.get(f"/api/v1/developments/{NO_LIMITS}?known_at=2024-04-07").status_code == 404
    for query, field in (("reported_by=April", "reported_by"), ("as_of=2024-13-01", "as_of"),
                         ("known_at=2024-04-07T10:00:00", "known_at")):
        response = client.get(f"/api/v1/relationships/china/russia?{query}")
        assert response.status_code == 422, query
        assert field in str(response.get_json()), query
    assert client.get("/api/v1/replay?until=2024-04-30&order=sideways").status_code == 422


WEEK_NOT_A_DAY = ("'2024-W19' is an ISO week, not a day: give a day (YYYY-MM-DD), such as its"
                  " Monday 2024-05-06 or its Sunday 2024-05-12")


def test_a_query_day_is_a_day_not_the_iso_week_a_development_may_be_dated(client):
    # Python reads "2024-W19" as its Monday: `to` would leave out the rest of the week.
    for path, name in (("developments?as_of=", "as_of"), ("developments?reported_by=",
                       "reported_by"), ("developments?from=", "from"), ("developments?to=", "to"),
                       ("relationships/china/russia?as_of=", "as_of"), ("replay?until=",
                       "until"), ("replay?until=2024-05-31&from=", "from")):
        response = client.get(f"/api/v1/{path}2024-W19")
        assert response.status_code == 422, path
        assert response.get_json()["errors"][name] == [WEEK_NOT_A_DAY], path
    assert client.get("/api/v1/developments?known_at=2024-W19").status_code == 422
    assert client.get("/api/v1/developments?as_of=2024-05-12").status_code == 200


def test_replay_as_the_news_arrived(client):
    found = client.get("/api/v1/relationships/china/russia/replay?order=reported"
                       "&until=2024-04-30").get_json()
    assert found["order"] == "reported"
    steps = found["steps"]
    assert [s["date"] for s in steps] == sorted(s["date"] for s in steps)
    on_7 = [s for s in steps if s["date"] == "2024-04-07"]
    moved = {s["development"]["id"]: s["standing"] for s in on_7}
    assert moved[LAVROV_TRIP] == {"from": None, "to": "expected"}
    assert any("rifle scopes" in s["development"]["summary"]
               and s["standing"]["to"] == "counts" for s in on_7)
    on_9 = [(s["development"]["id"], s["version"], s["standing"]) for s in steps
            if s["date"] == "2024-04-09"]
    # The Foreign Ministry's release: the trip took place (version 2), then its summary is
    # corrected from the plan (version 3).
    assert on_9 == [(LAVROV_TRIP, 2, {"from": "expected", "to": "counts"}),
                    (LAVROV_TRIP, 3, {"from": "counts", "to": "counts"})]
    # The first report is the Joint Statement of 2022, which opened the partnership.
    assert steps[0]["date"] == "2022-02-04"
    assert steps[0]["ties_opened"] == [["partnership", "china", "russia"]]


def test_a_replay_is_served_in_pages_that_add_up_to_it(client):
    whole = client.get("/api/v1/replay?until=2024-06-30&limit=500").get_json()
    assert whole["next"] is None and len(whole["steps"]) > 5
    steps, url = [], "/api/v1/replay?until=2024-06-30&limit=4"
    while url:
        response = client.get(url)
        found = response.get_json()
        assert len(found["steps"]) <= 4
        steps += found["steps"]
        url = response.headers.get("Link", "").partition("<")[2].partition(">")[0] or None
        if url:
            url = url.replace("http://localhost", "")
    assert steps == whole["steps"]
    assert client.get("/api/v1/replay?until=2024-06-30&after=bad").status_code == 422


def test_a_replay_by_report_is_served_in_pages_that_add_up_to_it(client):
    whole = client.get("/api/v1/replay?order=reported&limit=500").get_json()
    assert whole["next"] is None and len(whole["steps"]) > 5
    steps, after = [], None
    while True:
        found = client.get("/api/v1/replay?order=reported&limit=3"
                           + (f"&after={after}" if after else "")).get_json()
        steps += found["steps"]
        after = found["next"]
        if after is None:
            break
    assert steps == whole["steps"]
    # A cursor names a step of one order: the other order refuses it, naming `after`.
    cursor = client.get("/api/v1/replay?limit=1").get_json()["next"]
    refused = client.get(f"/api/v1/replay?order=reported&after={cursor}")
    assert refused.status_code == 422 and "after" in refused.get_json()["errors"]
    # A cursor of the right shape but out of range is refused too, not a crash.
    huge = encode_cursor("2024-01-01", 10**30, "2024-01-01", "x", "a", "b", "a", "b")
    assert client.get(f"/api/v1/replay?after={huge}").status_code == 422
