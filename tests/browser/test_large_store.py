"""The analyst's page on a store larger than it shows at once: a page view reads the first
items of each list (more on request), a busy pair's first developments in full, and the replay
a page at a time as it plays, never the whole store."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.browser.conftest import Service

SHOWN = 500  # page.js: the items a list shows at first, and each "Show more" adds
BEHIND = 50  # page.js: the developments of a pair shown in full


def every(service: Service, path: str, key: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = ""
    while True:
        body = service.get(f"{path}?limit=500{after}")
        found += body[key]
        if not body["next"]:
            return found
        after = f"&after={body['next']}"


def requests_to(page: Any, path: str) -> list[dict[str, list[str]]]:
    """The query of each request the page makes to this API path, from now on."""
    seen: list[dict[str, list[str]]] = []

    def heard(request: Any) -> None:
        url = urlparse(request.url)
        if url.path == f"/api/v1{path}":
            seen.append(parse_qs(url.query))
    page.on("request", heard)
    return seen


def test_a_page_view_reads_the_first_developments_and_shows_more_on_request(
        page, console, large_service):
    total = len(every(large_service, "/api/v1/developments", "developments"))
    assert total > SHOWN
    listed = requests_to(page, "/developments")
    page.goto(large_service.url)
    count = page.locator("#developments-count")
    count.filter(has_text=f"the first {SHOWN}; more in the store").wait_for()
    assert page.locator("#development-list li").count() == SHOWN
    assert len(listed) == 1 and listed[0]["limit"] == [str(SHOWN)]
    assert page.locator("#relationships-more").is_hidden()  # every pair fits in one page

    page.click("#developments-more")
    count.filter(has_text=f"({total})").wait_for()
    assert page.locator("#development-list li").count() == total
    assert page.locator("#developments-more").is_hidden()
    assert console == []


def test_a_busy_pair_shows_its_first_developments_in_full(page, console, large_service):
    busiest = max(every(large_service, "/api/v1/relationships", "relationships"),
                  key=lambda r: r["counts"]["developments"])
    behind = busiest["counts"]["developments"]
    assert behind > BEHIND
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/api/v1/developments/" in r.url
            else None)
    page.goto(f"{large_service.url}/?pair={','.join(busiest['pair'])}")
    details = page.locator("#details-body article[data-pair]")
    details.locator(".untold").filter(has_text=f"and {behind - BEHIND} more").wait_for()
    assert details.locator(".contributions tbody tr").count() == behind
    assert details.locator(".behind > li").count() == BEHIND
    assert len(fetched) <= BEHIND  # one document each at most, none for the rest
    assert console == []


def test_play_reads_the_replay_a_page_at_a_time(page, console, large_service):
    first = large_service.get(f"/api/v1/replay?order=reported&limit={SHOWN}")
    assert first["next"]  # the replay is longer than a page
    replayed = requests_to(page, "/replay")
    page.goto(large_service.url)
    page.locator("#developments-count").filter(has_text="more in the store").wait_for()
    page.click("#play")
    page.wait_for_function("() => document.querySelector('#status').innerText"
                           f".startsWith('Reported by {first['steps'][0]['date']}')")
    # Playing its first date took the replay's first page alone.
    assert len(replayed) == 1 and "after" not in replayed[0]
    page.click("#play")  # pause
    page.wait_for_selector('#play[aria-pressed="false"]')
    assert console == []
