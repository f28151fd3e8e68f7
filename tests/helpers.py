"""Helpers shared by the tests: a valid development, checks of problem documents, the outline
of a relationship, and rows of the event datasets written from their codebooks."""

from __future__ import annotations

from pathlib import Path

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


def outline_of(relationship: dict) -> dict:
    """A relationship in full (the pair's query) as a list of relationships outlines it:
    written here from the documented fields, apart from the code that makes outlines."""
    dropped = ("items", "developments")
    return {
        "pair": relationship["pair"], "stance": relationship["stance"],
        "score": relationship["score"],
        "ties": [{k: v for k, v in tie.items() if k not in dropped}
                 for tie in relationship["ties"]],
        "counts": {"developments": len(relationship["developments"]),
                   "expected": len(relationship["expected"]),
                   "possible": len(relationship["possible"])},
    }


def record(client, auth, **changes):
    response = client.post("/api/v1/developments", json={**DEVELOPMENT, **changes}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response


# --- dataset rows (see tests/integration/test_ingest.py) ---------------------------------


def gdelt_line(event_id: str = "1180000001", sqldate: str = "20240405",
               actor1: tuple[str, str, str, str] = ("RUS", "RUSSIA", "RUS", ""),
               actor2: tuple[str, str, str, str] = ("UKR", "UKRAINE", "UKR", ""),
               code: str = "190", root: str = "19", sources: str = "3",
               dateadded: str = "20240406101500",
               url: str = "https://www.example.org/news/1") -> str:
    """A line as the GDELT 2.0 Event Codebook lays it out: 61 tab-separated columns."""
    columns = [event_id, sqldate, sqldate[:6], sqldate[:4], "2024.2575"]
    for code_, name, country, group in (actor1, actor2):
        columns += [code_, name, country, group, "", "", "", "", "", ""]
    columns += ["1", code, code[:3], root, "4", "-10.0", "12", sources, "12", "-6.5"]
    for place in ("Moscow, Moskva, Russia", "Kyiv, Ukraine", "Kharkiv, Kharkiv, Ukraine"):
        columns += ["4", place, "UP", "UP07", "", "49.98", "36.25", "-1"]
    columns += [dateadded, url]
    assert len(columns) == 61
    return "\t".join(columns)


def write(path: Path, *lines: str, raw: bytes = b"") -> Path:
    path.write_bytes("".join(f"{line}\n" for line in lines).encode() + raw)
    return path


ACLED_HEADER = ("event_id_cnty,event_date,year,time_precision,disorder_type,event_type,"
                "sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,"
                "interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,"
                "location,latitude,longitude,geo_precision,source,source_scale,notes,"
                "fatalities,tags,timestamp")


def acled_line(event_id: str = "UKR100001", event_date: str = "2024-04-05",
               precision: str = "1", event_type: str = "Battles",
               sub_event: str = "Armed clash", notes: str = "Clashes near Kharkiv.",
               fatalities: str = "3", timestamp: str = "1712448000",
               actor1: str = "Military Forces of Russia (2000-)",
               actor2: str = "Military Forces of Ukraine (2019-)") -> str:
    """An invented record in ACLED's current export layout (no real ACLED rows: its terms)."""
    return (f"{event_id},{event_date},2024,{precision},Political violence,{event_type},"
            f"{sub_event},{actor1},,8,{actor2},"
            f",1,18,,804,Europe,Ukraine,Kharkiv,Kharkivskyi,,Kharkiv,49.98,36.25,1,"
            f"Ukrainska Pravda,National,\"{notes}\",{fatalities},,{timestamp}")
