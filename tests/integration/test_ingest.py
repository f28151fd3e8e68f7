"""Ingesting GDELT 2.0 and ACLED exports: mapping, idempotence, time axes, bad rows, both stores."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from datetime import date

import pytest

from tests.conftest import content
from tests.helpers import ACLED_HEADER, acled_line, gdelt_line, write
from timeline.application import Timeline
from timeline.axes import Axes
from timeline.domain import InvalidInput, PartialDate, development_id
from timeline.ingest import acled, gdelt
from timeline.ingest.bulk import IngestError, ingest
from timeline.vocabulary import (
    ACLED_EVENT_KINDS,
    CAMEO_ROOTS,
    Kind,
    acled_kind,
    cameo_kind,
)

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
    assert found["dataset"] == "gdelt"
    assert found["provenance"] == {
        "dataset": "gdelt", "record_id": "1180000001", "file": "20240406101500.export.CSV",
        "line": 1,
        "coding": {"IsRootEvent": "1", "EventCode": "190", "EventBaseCode": "190",
                   "EventRootCode": "19", "QuadClass": "4", "GoldsteinScale": "-10.0",
                   "NumMentions": "12", "NumSources": "3", "NumArticles": "12",
                   "AvgTone": "-6.5"},
    }
    app.read_model.catch_up()
    (listed,) = app.list_developments()
    assert listed["provenance"] == found["provenance"] and listed["dataset"] == "gdelt"


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
    usagov = app.get_actor("cameo-usagov")
    assert set(usagov["aliases"]) == {"USAGOV", "UNITED STATES"}
    # GDELT names the role by its country: the name keeps the code, so it is not a second
    # "United States" beside the state on the map and in the pairs.
    assert usagov["name"] == "United States (USAGOV)"
    # A role in a state belongs to it, so its developments count in the state's relationships.
    assert usagov["belongs_to"] == ["united-states"]
    assert app.get_actor("united-states")["kind"] == "state"
    assert app.get_relationship("united-states", "nato")["developments"]


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
    assert week["kind"] == "territorial_gain"
    # Friday 5 April 2024 is in ISO week 14, Monday 1 to Sunday 7 April.
    assert week["date"] == {"value": "2024-W14", "precision": "week", "approximate": True,
                            "derivation": "ACLED time_precision 2: the week of 2024-04-05"}
    assert PartialDate.parse(week["date"]["value"]).latest == date(2024, 4, 7)
    month = app.get_development(development_id("acled:UKR100003"))
    assert month["date"]["value"] == "2020-05"


def test_a_states_forces_in_acled_belong_to_it_so_acled_alone_gives_its_relationships(
        store, tmp_path):
    app = Timeline(store)
    file = write(tmp_path / "acled.csv", ACLED_HEADER, acled_line(),
                 acled_line("UKR100002", actor1="Government of the United States (2021-)",
                            actor2="Civilians (Ukraine)", event_type="Strategic developments",
                            sub_event="Agreement"))
    report = ingest(app, acled.rows(file), recorded_by="acled")
    assert report.skipped == []
    russian_forces = app.get_actor("acled-military-forces-of-russia-2000")
    assert russian_forces["belongs_to"] == ["russia"]
    assert app.get_actor("acled-military-forces-of-ukraine-2019")["belongs_to"] == ["ukraine"]
    # A state named only by its forces is registered first, as a state.
    assert app.get_actor("russia")["kind"] == "state"
    assert app.get_actor("acled-government-of-the-united-states-2021")["belongs_to"] == [
        "united-states"]
    # A country's civilians are where the event was, not an agent of a state.
    assert app.get_actor("acled-civilians-ukraine")["belongs_to"] == []
    app.read_model.catch_up()
    pair = app.get_relationship("russia", "ukraine", datasets=["acled"])
    assert [d["id"] for d in pair["developments"]] == [
        str(development_id("acled:UKR100001"))]
    assert pair["score"] < 0 and pair["stance"] in ("tension", "hostility", "war")


def test_the_state_an_acled_actor_name_gives():
    assert acled.state_of("Military Forces of Russia (2000-)") == "Russia"
    assert acled.state_of("Police Forces of Ukraine (2019-) Prison Guards") == "Ukraine"
    assert acled.state_of("Government of the United States (2021-)") == "United States"
    assert acled.state_of("Military Forces of Sudan (2019-2021)") == "Sudan"
    for name in ("Civilians (Ukraine)", "Unidentified Armed Group (Ukraine)", "Wagner Group",
                 "Former Military Forces of Sudan (2019-2021)",
                 "Mutiny of Military Forces of Russia (2000-)"):
        assert acled.state_of(name) is None, name


def test_an_acled_event_known_to_its_week_counts_once_the_week_has_ended(store, tmp_path):
    app = Timeline(store)
    # Known to the week of Friday 5 April 2024 (Monday 1 to Sunday 7 April), reported later.
    file = write(tmp_path / "week.csv", ACLED_HEADER,
                 acled_line(precision="2", timestamp="1713139200"))  # 15 April 2024
    ingest(app, acled.rows(file), recorded_by="acled")
    app.read_model.catch_up()
    ident = str(development_id("acled:UKR100001"))

    def standing(day: date) -> str | None:
        found = {d["id"]: d for d in app.list_developments(axes=Axes(as_of=day))}
        return found[ident]["standing"] if ident in found else "not begun"

    assert standing(date(2024, 3, 31)) == "not begun"
    assert standing(date(2024, 4, 1)) == "possible"
    assert standing(date(2024, 4, 6)) == "possible"  # the day it names is no longer certain
    assert standing(date(2024, 4, 7)) == "counts"


def test_acled_week_precision_is_the_iso_week_across_the_year_boundary():
    new_year = acled.event_date("2024-12-30", "2")
    assert (str(new_year), new_year.precision) == ("2025-W01", "week")
    assert (new_year.earliest, new_year.latest) == (date(2024, 12, 30), date(2025, 1, 5))
    assert new_year.derivation == "ACLED time_precision 2: the week of 2024-12-30"
    assert str(acled.event_date("1-Jan-21", "2")) == "2020-W53"  # the older layout's dates


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
    assert (found["provenance"]["file"], found["provenance"]["coding"]["fatalities"]) == (
        "revised.csv", "5")  # the record as the export that revised it states it
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


def test_an_acled_revision_of_the_fatalities_alone_is_a_correction(store, tmp_path):
    app = Timeline(store)
    ingest(app, acled.rows(write(tmp_path / "first.csv", ACLED_HEADER, acled_line())),
           recorded_by="acled")
    revised = write(tmp_path / "revised.csv", ACLED_HEADER,
                    acled_line(fatalities="7", timestamp="1712620800"))
    report = ingest(app, acled.rows(revised), recorded_by="acled")
    assert (report.corrected, report.unchanged) == (1, 0)
    found = app.get_development(development_id("acled:UKR100001"))
    assert [v["type"] for v in found["history"]] == ["recorded", "corrected"]
    assert ["fatalities 3" in s["passage"] for s in found["sources"]] == [True, False]
    assert "fatalities 7" in found["sources"][1]["passage"]
    assert found["provenance"]["coding"]["fatalities"] == "7"
    again = ingest(app, acled.rows(revised), recorded_by="acled")
    assert (again.corrected, again.unchanged) == (0, 1)


def test_a_week_held_as_a_day_by_an_earlier_release_is_corrected_to_its_week_as_such(
        store, tmp_path):
    app = Timeline(store)
    file = write(tmp_path / "week.csv", ACLED_HEADER, acled_line(precision="2"),
                 acled_line("UKR100002", precision="2", notes="Shelling near Kharkiv."))
    # As releases before week dates recorded time_precision 2: the day given, approximate.
    earlier = PartialDate(2024, 4, 5, approximate=True, derivation=acled.DAY_OF_THE_WEEK)
    ingest(app, [replace(row, content=replace(row.content, date=earlier))
                 for row in acled.rows(file)], recorded_by="acled")
    # ACLED revised the second record (its notes) since: its correction says so.
    revised = write(tmp_path / "revised.csv", ACLED_HEADER, acled_line(precision="2"),
                    acled_line("UKR100002", precision="2", notes="Shelling of Kharkiv."))
    report = ingest(app, acled.rows(revised), recorded_by="acled")
    assert (report.corrected, report.unchanged) == (2, 0)
    reread = app.get_development(development_id("acled:UKR100001"))
    assert reread["date"]["value"] == "2024-W14"
    assert [(h["type"], h.get("reason")) for h in reread["history"]] == [
        ("recorded", None), ("corrected", acled.REREAD)]
    changed = app.get_development(development_id("acled:UKR100002"))
    assert changed["date"]["value"] == "2024-W14"
    assert changed["history"][-1]["reason"] == acled.REVISED
    again = ingest(app, acled.rows(revised), recorded_by="acled")
    assert (again.corrected, again.unchanged) == (0, 2)


def test_listings_relationships_and_replays_keep_the_datasets_asked_for(seeded, tmp_path):
    app = seeded
    file = write(tmp_path / "20240410000000.export.CSV",
                 gdelt_line("1", sqldate="20240409", dateadded="20240410000000"))
    ingest(app, gdelt.rows(file), recorded_by="gdelt")
    app.read_model.catch_up()
    gdelt_id = str(development_id("gdelt:1"))

    def datasets(found: list[dict]) -> set[str]:
        return {d["dataset"] for d in found}

    assert datasets(app.list_developments()) == {"seed", "gdelt"}
    assert [d["id"] for d in app.list_developments(datasets=["gdelt"])] == [gdelt_id]
    assert datasets(app.list_developments(datasets=["seed"])) == {"seed"}
    assert datasets(app.list_developments(datasets=["seed", "gdelt"])) == {"seed", "gdelt"}
    assert app.list_developments(datasets=["acled"]) == []
    pair = app.get_relationship("russia", "ukraine", datasets=["gdelt"])
    assert [d["id"] for d in pair["developments"]] == [gdelt_id]
    seeded_pair = app.get_relationship("russia", "ukraine", datasets=["seed"])
    assert seeded_pair["developments"] and gdelt_id not in [
        d["id"] for d in seeded_pair["developments"]]
    assert [r["pair"] for r in app.list_relationships(datasets=["gdelt"])] == [
        ["russia", "ukraine"]]
    assert [r["pair"] for r in app.relationships_page(datasets=["gdelt"], limit=5).items] == [
        ["russia", "ukraine"]]
    assert [r["pair"] for r in app.list_relationships(actor="china", datasets=["gdelt"])] == []
    # An analyst replays GDELT's view of the pair in the order GDELT saw the news.
    steps = app.replay(pair=("russia", "ukraine"), order="reported",
                       until=date(2024, 4, 30), datasets=["gdelt"])
    assert [(s["date"], s["development"]["id"]) for s in steps] == [("2024-04-10", gdelt_id)]
    with pytest.raises(InvalidInput) as refused:
        app.list_developments(datasets=["gdelt", "news"])
    assert refused.value.field == "dataset" and "'news' is not a dataset" in str(refused.value)


def test_the_dataset_of_seed_data_and_of_developments_recorded_by_hand(seeded):
    recorded = seeded.record_development(content(), recorded_by="analyst")
    assert seeded.get_development(recorded)["dataset"] == "manual"
    assert seeded.get_development(recorded)["provenance"] is None
    seeded.read_model.catch_up()
    assert [d["id"] for d in seeded.list_developments(datasets=["manual"])] == [str(recorded)]
    seed_entry = seeded.get_development(development_id("2022-russia-invades-ukraine"))
    assert (seed_entry["dataset"], seed_entry["provenance"]) == ("seed", None)


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


def test_the_ingest_commands_report_bad_rows_and_verify_passes(run, durable_store, tmp_path):
    exports = tmp_path / "gdelt"
    exports.mkdir()
    write(exports / "20240405000000.export.CSV", gdelt_line("1"))
    write(exports / "20240406000000.export.CSV", gdelt_line("2"), "bad\trow")
    write(exports / "20240407000000.export.CSV", gdelt_line("3"))
    write(exports / "20241399000000.export.CSV", gdelt_line("4"))  # no such day
    result = run("ingest", "gdelt", "--since", "2024-04-06", "--until", "2024-04-06",
                 str(exports))
    assert result.exit_code == 0, result.output
    assert f"{exports / '20240406000000.export.CSV'}:2: 2 columns, not 61" in result.output
    assert "1 recorded, 0 corrected, 0 unchanged, 1 skipped" in result.output
    strict = run("ingest", "gdelt", "--strict", str(exports / "20240406000000.export.CSV"))
    assert strict.exit_code == 1 and "--strict: nothing recorded" in strict.output
    acled_file = write(tmp_path / "acled.csv", ACLED_HEADER, acled_line())
    result = run("ingest", "acled", str(acled_file))
    assert result.exit_code == 0 and "1 recorded" in result.output
    app = Timeline(durable_store)
    try:
        assert app.read_model.lag() == 0  # the command brought the view up to date
    finally:
        app.close()
    again = run("ingest", "gdelt", str(exports))
    assert "In all: 2 recorded, 0 corrected, 1 unchanged, 1 skipped" in again.output
    assert "20241399000000.export.CSV: skipped, its name does not start with a day" in (
        again.output)
    verified = run("verify")
    assert verified.exit_code == 0, verified.output


def test_the_query_commands_keep_the_datasets_asked_for(run, tmp_path):
    run("ingest", "gdelt", str(write(tmp_path / "a.export.CSV", gdelt_line("1"))))
    run("ingest", "acled", str(write(tmp_path / "acled.csv", ACLED_HEADER, acled_line())))
    gdelt_only = run("developments", "--dataset", "gdelt", "--json")
    assert gdelt_only.exit_code == 0, gdelt_only.output
    assert '"dataset": "gdelt"' in gdelt_only.output and '"acled"' not in gdelt_only.output
    both = run("developments", "--dataset", "gdelt,acled", "--json").output
    assert '"dataset": "gdelt"' in both and '"dataset": "acled"' in both
    pairs = run("relationships", "--dataset", "acled", "--json").output
    assert "acled-military-forces-of-russia-2000" in pairs
    # ACLED's own pair of states (its forces belong to them), without GDELT's development.
    assert '"russia"' in pairs and str(development_id("acled:UKR100001")) in pairs
    assert str(development_id("gdelt:1")) not in pairs
    replayed = run("replay", "--until", "2024-04-30", "--by", "reported", "--dataset", "gdelt",
                   "--pair", "russia,ukraine")
    assert replayed.exit_code == 0 and "2024-04-06" in replayed.output, replayed.output
    text = run("developments", "--dataset", "gdelt").output
    assert "from: gdelt record 1, a.export.CSV:1" in text
    refused = run("developments", "--dataset", "gdelt,news")
    assert refused.exit_code == 2 and "'news' is not a dataset" in refused.output
