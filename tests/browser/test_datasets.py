"""The page over ingested data (issue 18): a development's dataset and provenance in its details,
and the dataset filter, on the seeded service with samples/gdelt ingested beside the seed data."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.browser.conftest import Service
from tests.browser.test_page import PAIRS, developments, open_page, pairs, wait_for_ids

NO_LIMITS = "putin-xi-no-limits-partnership"
CHECKED = """() => [...document.querySelectorAll('#datasets input[data-dataset]')]
    .filter((box) => box.checked).map((box) => box.value)"""


def address(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def open_details(page: Any, development_id: str) -> Any:
    """Opens a development's details from the list, as a reader would; its article."""
    if not page.locator("#development-list-box[open]").count():
        page.click("#development-list-box summary")
    page.click(f'#development-list [data-development-id="{development_id}"]')
    article = page.locator(f'#details article[data-development-id="{development_id}"]')
    article.wait_for()
    return article


def test_a_gdelt_development_shows_its_record_and_a_seeded_one_its_dataset_alone(
        page, console, ingested_service: Service):
    open_page(page, ingested_service)
    gdelt = developments(ingested_service, "&dataset=gdelt")
    assert gdelt
    chosen = gdelt[0]
    record = chosen["provenance"]
    article = open_details(page, chosen["id"])
    assert article.get_attribute("data-dataset") == "gdelt"
    provenance = article.locator(f'.provenance[data-record-id="{record["record_id"]}"]')
    assert provenance.locator('[data-field="record_id"]').inner_text() == record["record_id"]
    assert provenance.locator('[data-field="file"]').inner_text() == record["file"]
    assert record["file"].endswith(".export.CSV")
    assert provenance.locator('[data-field="line"]').inner_text() == str(record["line"])
    coding = {row.get_attribute("data-coding"): row.locator("td").inner_text()
              for row in provenance.locator("[data-coding]").all()}
    assert coding == record["coding"]
    assert "GoldsteinScale" in coding and "QuadClass" in coding

    seeded = next(d for d in developments(ingested_service) if d["key"] == NO_LIMITS)
    assert (seeded["dataset"], seeded["provenance"]) == ("seed", None)
    article = open_details(page, seeded["id"])
    assert article.get_attribute("data-dataset") == "seed"
    assert "seed" in article.locator("dl.facts .dataset").inner_text()
    assert article.locator('[data-provenance="none"]').count() == 1
    assert article.locator("[data-record-id], [data-coding]").count() == 0
    assert console == []


def test_choosing_only_gdelt_keeps_gdelt_in_the_timeline_the_map_a_pair_and_the_address(
        page, console, ingested_service: Service):
    service = ingested_service
    open_page(page, service)
    every = developments(service)
    wait_for_ids(page, [d["id"] for d in every])
    assert page.evaluate(CHECKED) == ["seed", "manual", "gdelt", "acled"]
    for name in ("seed", "manual", "acled"):
        page.uncheck(f'#datasets [data-dataset="{name}"]')
    gdelt = developments(service, "&dataset=gdelt")
    assert 0 < len(gdelt) < len(every)
    assert {d["dataset"] for d in gdelt} == {"gdelt"}
    wait_for_ids(page, [d["id"] for d in gdelt])
    assert set(page.evaluate("""[...document.querySelectorAll(
        '#development-list [data-dataset]')].map((e) => e.dataset.dataset)""")) == {"gdelt"}
    assert address(page)["dataset"] == ["gdelt"]
    assert "dataset=gdelt" in page.url
    # The map and the pairs hold GDELT's pairs only, as the API scores them from GDELT alone.
    shown = pairs(service, "&dataset=gdelt")
    assert shown != pairs(service)
    page.wait_for_function(f"(expected) => JSON.stringify(({PAIRS})()) === "
                           "JSON.stringify(expected)", arg=shown, timeout=10000)
    assert page.evaluate("timelinePage.map.edges().not('.member').map((e) => e.id()).sort()") \
        == shown
    # A pair's details count GDELT's developments alone.
    pair = next(p for p in shown if p == "russia,ukraine")
    page.click(f'#pair-list [data-pair="{pair}"]')
    details = page.locator(f'#details article[data-pair="{pair}"]')
    details.wait_for()
    expected = service.get("/api/v1/relationships/russia/ukraine?dataset=gdelt")
    everything = service.get("/api/v1/relationships/russia/ukraine")
    assert len(expected["developments"]) < len(everything["developments"])
    listed = details.locator(".contributions [data-development-id]").evaluate_all(
        "(links) => links.map((e) => e.dataset.developmentId)")
    assert listed == [d["id"] for d in expected["developments"]]
    assert f"score {expected['score']:.2f}" in details.inner_text()
    # Unticking the last dataset is refused: the view stays on GDELT.
    page.click('#datasets [data-dataset="gdelt"]')  # page.uncheck would insist
    page.wait_for_function("() => document.querySelector('#status').textContent.includes("
                           "'at least one dataset')")
    assert page.evaluate(CHECKED) == ["gdelt"]
    assert address(page)["dataset"] == ["gdelt"]
    # Ticking all again is every dataset: the address drops the parameter.
    for name in ("seed", "manual", "acled"):
        page.check(f'#datasets [data-dataset="{name}"]')
    wait_for_ids(page, [d["id"] for d in every])
    assert "dataset" not in address(page)
    assert console == []


def test_loading_a_dataset_in_the_address_shows_that_dataset_alone(
        page, console, ingested_service: Service):
    service = ingested_service
    seeded = developments(service, "&dataset=seed")
    assert {d["dataset"] for d in seeded} == {"seed"}
    assert len(seeded) < len(developments(service))
    open_page(page, service, "?dataset=seed")
    wait_for_ids(page, [d["id"] for d in seeded])
    assert page.evaluate(CHECKED) == ["seed"]
    page.wait_for_function(f"(expected) => JSON.stringify(({PAIRS})()) === "
                           "JSON.stringify(expected)", arg=pairs(service, "&dataset=seed"),
                           timeout=10000)
    # Named in any order, as the API takes them; kept in the URL with its commas.
    open_page(page, service, "?dataset=gdelt,seed")
    wait_for_ids(page, [d["id"] for d in developments(service, "&dataset=seed,gdelt")])
    assert page.evaluate(CHECKED) == ["seed", "gdelt"]
    assert address(page)["dataset"] == ["gdelt,seed"]
    # A shared pair opens as those datasets score it.
    open_page(page, service, "?dataset=gdelt&pair=russia,ukraine")
    expected = service.get("/api/v1/relationships/russia/ukraine?dataset=gdelt")
    details = page.locator('#details article[data-pair="russia,ukraine"]')
    details.wait_for()
    assert details.locator(".contributions [data-development-id]").evaluate_all(
        "(links) => links.map((e) => e.dataset.developmentId)") \
        == [d["id"] for d in expected["developments"]]
    assert console == []


def test_a_dataset_the_api_does_not_know_is_shown_with_its_message(
        page, console, ingested_service: Service):
    page.goto(f"{ingested_service.url}/?dataset=seed,nope")
    status = page.locator("#status.error")
    status.wait_for()
    assert "dataset" in status.inner_text()


def test_playing_the_news_replays_the_datasets_kept(page, console, ingested_service: Service):
    open_page(page, ingested_service, "?dataset=gdelt")
    with page.expect_request(lambda request: "/api/v1/replay" in request.url) as asked:
        page.click("#play")
    assert parse_qs(urlsplit(asked.value.url).query)["dataset"] == ["gdelt"]
    page.wait_for_function("() => location.search.includes('reported_by=')")
    page.click("#play")  # pause
    assert address(page)["dataset"] == ["gdelt"]
    assert console == []
