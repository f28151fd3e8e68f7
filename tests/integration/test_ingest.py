"""Ingesting GDELT 2.0 and ACLED exports: mapping, idempotence, time axes, bad rows, both stores."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from timeline.application import Timeline
from timeline.axes import Axes
from timeline.cli import main
from timeline.domain import development_id
from timeline.ingest import acled, gdelt
from timeline.ingest.bulk import IngestError, ingest
from timeline.vocabulary import (
    ACLED_EVENT_KINDS,
    CAMEO_ROOTS,
    Kind,
    acled_kind,
    cameo_kind,
)


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
               fatalities: str = "3", timestamp: str = "1712448000") -> str:
    """An invented record in ACLED's current export layout (no real ACLED rows: its terms)."""
    return (f"{event_id},{event_date},2024,{precision},Political violence,{event_type},"
            f"{sub_event},Military Forces of Russia (2000-),,8,Military Forces of Ukraine (2019-),"
            f",1,18,,804,Europe,Ukraine,Kharkiv,Kharkivskyi,,Kharkiv,49.98,36.25,1,"
            f"Ukrainska Pravda,National,\"{notes}\",{fatalities},,{timestamp}")


# --- the tables ----------------------------------------------------------------------------


def test_the_cameo_table_covers_every_root_and_keeps_codes_as_strings():
    for root in CAMEO_ROOTS:
        assert cameo_kind(root) is not None, root
    assert cameo_kind("043", "043", "04") is Kind.VISIT
    assert cameo_kind("0431", "043", "04") is Kind.VISIT  # the most specific listed wins
    assert cameo_kind("040", "040", "04") is Kind.CONSULTATION
    assert cameo_kind("40") is None  # "040" is not 40


def test_the_acled_table_covers_every_event_type():
    for event_type in ("Battles", "Explosions/Remote violence", "Violence against civilians",
                       "Protests", "Riots", "Strategic developments"):
        assert event_type in ACLED_EVENT_KINDS
    assert acled_kind("Battles", "Non-state actor overtakes territory") is Kind.TERRITORIAL_GAIN
    assert acled_kind("Parades", "") is None


# --- GDELT ----------------------------------------------------------------------------------


def test_a_gdelt_row_maps_to_a_development_with_its_provenance(store, tmp_path):
    app = Timeline(store)
    file = write(tmp_path / "20240406101500.export.CSV", gdelt_line())
    report = ingest(app, gdelt.rows(file), recorded_by="gdelt")
    assert (report.recorded, report.actors_registered, report.skipped) == (1, 2, [])
    found = app.get_development(development_id("gdelt:1180000001"))
    assert found["kind"] == "combat"
    assert found["date"]["value"] == "2024-04-05"
    assert found["certainty"] == "reported"  # three sources
    assert found["place"] == "Kharkiv, Kharkiv, Ukraine"
    assert {(a["actor"], a["role"]) for a in found["actors"]} == {
        ("russia", "source"), ("ukraine", "target")}
    (source,) = found["sources"]
    assert source["publication"] == "www.example.org"
    assert source["attribution"] == "GDELT 2.0, machine-coded"
    assert source["reported_on"]["value"] == "2024-04-06"
    assert source["url"] == "https://www.example.org/news/1"
    assert "GDELT event 1180000001" in source["passage"]
    assert "GoldsteinScale -10.0" in source["passage"] and "QuadClass 4" in source["passage"]


def test_gdelt_actors_map_to_states_groups_or_new_actors_keeping_their_codes(store, tmp_path):
    app = Timeline(store)
    file = write(tmp_path / "a.CSV",
                 gdelt_line("1", actor1=("USAGOV", "UNITED STATES", "USA", ""),
                            actor2=("NAT", "NATO", "", "NAT"), code="043", root="04",
                            sources="1"))
    ingest(app, gdelt.rows(file), recorded_by="gdelt")
    found = app.get_development(development_id("gdelt:1"))
    assert found["kind"] == "visit" and found["certainty"] == "alleged"
    assert {a["actor"] for a in found["actors"]} == {"cameo-usagov", "nato"}
    assert set(app.get_actor("cameo-usagov")["aliases"]) == {"USAGOV", "UNITED STATES"}


def test_ingesting_a_file_twice_or_an_overlapping_zip_records_nothing(store, tmp_path):
    app = Timeline(store)
    file = write(tmp_path / "20240406101500.export.CSV", gdelt_line("1"), gdelt_line("2"))
    ingest(app, gdelt.rows(file), recorded_by="gdelt")
    count = app.audit.count()
    archive = tmp_path / "20240406103000.export.CSV.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("20240406103000.export.CSV",
                        gdelt_line("2") + "\n" + gdelt_line("3") + "\n")
    again = ingest(app, gdelt.rows(file), recorded_by="gdelt")
    overlapping = ingest(app, gdelt.rows(archive), recorded_by="gdelt")
    assert (again.recorded, again.unchanged) == (0, 2)
    assert (overlapping.recorded, overlapping.unchanged) == (1, 1)
    assert app.audit.count() == count + 1


def test_bad_gdelt_rows_are_reported_by_line_and_skipped(store, tmp_path):
    app = Timeline(store)
    file = write(
        tmp_path / "bad.CSV",
        gdelt_line("1"),
        "only\tthree\tcolumns",
        gdelt_line("3", sqldate="20240230"),
        gdelt_line("4", code="990", root="99"),
        gdelt_line("5", actor1=("", "", "", ""), actor2=("", "", "", "")),
        raw=gdelt_line("6").replace("UKRAINE", "UKRA\xefNE").encode("latin-1") + b"\n",
    )
    report = ingest(app, gdelt.rows(file), recorded_by="gdelt")
    assert report.recorded == 1
    reasons = [str(bad) for bad in report.skipped]
    assert reasons[0] == f"{file}:2: 3 columns, not 61"
    assert reasons[1].startswith(f"{file}:3: SQLDATE '20240230'") and "no day 30" in reasons[1]
    assert reasons[2] == f"{file}:4: unknown CAMEO code '990' (root '99')"
    assert reasons[3] == f"{file}:5: neither Actor1Code nor Actor2Code is given"
    assert reasons[4].startswith(f"{file}:6: not UTF-8")


def test_strict_mode_records_nothing_from_a_file_with_a_bad_row(store, tmp_path):
    app = Timeline(store)
    file = write(tmp_path / "bad.CSV", gdelt_line("1"), "only\tthree\tcolumns")
    before = app.audit.count()
    with pytest.raises(IngestError, match="bad.CSV:2: 3 columns, not 61"):
        ingest(app, gdelt.rows(file), strict=True, recorded_by="gdelt")
    assert app.audit.count() == before


def test_reported_by_before_dateadded_hides_a_gdelt_event(store, tmp_path):
    app = Timeline(store)
    file = write(tmp_path / "a.CSV", gdelt_line("1", sqldate="20240405",
                                                 dateadded="20240410000000"))
    ingest(app, gdelt.rows(file), recorded_by="gdelt")
    app.read_model.catch_up()
    ident = str(development_id("gdelt:1"))

    def listed(axes: Axes) -> list[str]:
        return [d["id"] for d in app.list_developments(axes=axes)]

    assert ident in listed(Axes())
    assert ident not in listed(Axes(reported_by=date(2024, 4, 9)))
    assert ident in listed(Axes(reported_by=date(2024, 4, 10)))
    assert ident not in listed(Axes(as_of=date(2024, 4, 4)))
    assert ident in listed(Axes(as_of=date(2024, 4, 5)))


# --- ACLED ----------------------------------------------------------------------------------


def test_an_acled_record_maps_to_a_development(store, tmp_path):
    app = Timeline(store)
    file = write(tmp_path / "acled.csv", ACLED_HEADER, acled_line(),
                 acled_line("UKR100002", precision="2", sub_event="Government regains territory"),
                 acled_line("UKR100003", event_date="9-May-20", precision="3"))
    report = ingest(app, acled.rows(file), recorded_by="acled")
    assert (report.recorded, report.skipped) == (3, [])
    first = app.get_development(development_id("acled:UKR100001"))
    assert first["kind"] == "combat" and first["summary"] == "Clashes near Kharkiv."
    assert first["date"]["value"] == "2024-04-05"
    assert {(a["actor"], a["role"]) for a in first["actors"]} == {
        ("acled-military-forces-of-russia-2000", "source"),
        ("acled-military-forces-of-ukraine-2019", "target"),
        ("ukraine", "participant")}
    (source,) = first["sources"]
    assert source["publication"] == "Ukrainska Pravda"
    assert source["reported_on"]["value"] == "2024-04-07"  # the timestamp's day
    assert "fatalities 3" in source["passage"]
    week = app.get_development(development_id("acled:UKR100002"))
    assert week["kind"] == "territorial_gain" and week["date"]["approximate"] is True
    month = app.get_development(development_id("acled:UKR100003"))
    assert month["date"]["value"] == "2020-05"


def test_a_revised_acled_record_becomes_a_correction_keeping_the_previous_version(store,
                                                                                  tmp_path):
    app = Timeline(store)
    first = write(tmp_path / "first.csv", ACLED_HEADER, acled_line())
    revised = write(tmp_path / "revised.csv", ACLED_HEADER,
                    acled_line(fatalities="5", notes="Clashes near Kharkiv; 5 killed.",
                               timestamp="1712620800"))
    ingest(app, acled.rows(first), recorded_by="acled")
    report = ingest(app, acled.rows(revised), recorded_by="acled")
    assert (report.recorded, report.corrected) == (0, 1)
    again = ingest(app, acled.rows(revised), recorded_by="acled")
    older = ingest(app, acled.rows(first), recorded_by="acled")  # history does not go back
    assert (again.corrected, again.unchanged, older.corrected, older.unchanged) == (0, 1, 0, 1)
    found = app.get_development(development_id("acled:UKR100001"))
    recorded, corrected = found["history"]
    assert recorded["changes"]["summary"] == "Clashes near Kharkiv."
    assert corrected["type"] == "corrected"
    assert corrected["changes"]["summary"] == "Clashes near Kharkiv; 5 killed."
    assert found["summary"] == "Clashes near Kharkiv; 5 killed."
    app.read_model.catch_up()
    ident = str(development_id("acled:UKR100001"))

    def summary_reported_by(day: date) -> list[str]:
        axes = Axes(reported_by=day)
        return [d["summary"] for d in app.list_developments(axes=axes) if d["id"] == ident]

    assert summary_reported_by(date(2024, 4, 8)) == ["Clashes near Kharkiv."]
    assert summary_reported_by(date(2024, 4, 9)) == ["Clashes near Kharkiv; 5 killed."]


def test_the_older_acled_layout_and_bad_records(store, tmp_path):
    app = Timeline(store)
    older = ("data_id,iso,event_id_cnty,event_id_no_cnty,event_date,year,time_precision,"
             "event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,"
             "interaction,region,country,admin1,admin2,admin3,location,latitude,longitude,"
             "geo_precision,source,source_scale,notes,fatalities,timestamp,iso3")
    record = ("7001,804,UKR7001,7001,9-May-20,2020,1,Protests,Peaceful protest,"
              "Protesters (Ukraine),,6,,,0,60,Europe,Ukraine,Kyiv,,,Kyiv,50.45,30.52,1,"
              "Kyiv Post,National,A rally in Kyiv.,0,1589000000,UKR")
    file = write(tmp_path / "older.csv", older, record,
                 record.replace("UKR7001", "UKR7002").replace("Protests", "Parades"),
                 record.replace("UKR7001", "UKR7003").replace("9-May-20", "31-Feb-20"),
                 "UKR7004,too,few")
    report = ingest(app, acled.rows(file), recorded_by="acled")
    assert report.recorded == 1
    assert [str(bad) for bad in report.skipped] == [
        f"{file}:3: unknown event_type 'Parades'",
        f"{file}:4: event_date '31-Feb-20' is not a date (YYYY-MM-DD or 9-May-20)",
        f"{file}:5: 3 fields, not 31",
    ]
    found = app.get_development(development_id("acled:UKR7001"))
    assert found["kind"] == "public_statement" and found["date"]["value"] == "2020-05-09"
    assert "UKR" in app.get_actor("ukraine")["aliases"]


def test_a_file_that_is_not_an_acled_export_is_refused(tmp_path):
    file = write(tmp_path / "x.csv", "a,b,c", "1,2,3")
    with pytest.raises(IngestError, match="not an ACLED export: no column event_id_cnty"):
        list(acled.rows(file))


# --- the command line -----------------------------------------------------------------------


def test_the_ingest_commands_report_bad_rows_and_verify_passes(tmp_path):
    store = f"sqlite:///{tmp_path / 'store.db'}"
    exports = tmp_path / "gdelt"
    exports.mkdir()
    write(exports / "20240405000000.export.CSV", gdelt_line("1"))
    write(exports / "20240406000000.export.CSV", gdelt_line("2"), "bad\trow")
    write(exports / "20240407000000.export.CSV", gdelt_line("3"))
    runner = CliRunner()
    result = runner.invoke(main, ["--store", store, "ingest", "gdelt", "--since", "2024-04-06",
                                  "--until", "2024-04-06", str(exports)])
    assert result.exit_code == 0, result.output
    assert f"{exports / '20240406000000.export.CSV'}:2: 2 columns, not 61" in result.output
    assert "1 recorded, 0 corrected, 0 unchanged, 1 skipped" in result.output
    strict = runner.invoke(main, ["--store", store, "ingest", "gdelt", "--strict",
                                  str(exports / "20240406000000.export.CSV")])
    assert strict.exit_code == 1 and "--strict: nothing recorded" in strict.output
    acled_file = write(tmp_path / "acled.csv", ACLED_HEADER, acled_line())
    result = runner.invoke(main, ["--store", store, "ingest", "acled", str(acled_file)])
    assert result.exit_code == 0 and "1 recorded" in result.output
    verified = runner.invoke(main, ["--store", store, "verify"])
    assert verified.exit_code == 0, verified.output
