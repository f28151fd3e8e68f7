"""A page of developments reads a bounded number of them, whatever the filters: a rare filter
answers with short pages (even empty ones) and a cursor, never with a scan of the store
(issue: security and cost, section 1)."""

from __future__ import annotations

from datetime import date

import pytest

import timeline.queries
from timeline.vocabulary import Kind, Status


@pytest.fixture
def app(seeded):
    return seeded


def pages(app, limit, **filters):
    found, after = [], None
    while True:
        page = app.developments_page(after=after, limit=limit, **filters)
        found.append(page.items)
        if page.next is None:
            return found
        after = page.next


@pytest.mark.parametrize("filters", [
    {}, {"kind": Kind.VISIT}, {"actors": ["xi-jinping"]}, {"status": Status.ONGOING},
    {"status": Status.OCCURRED, "as_of": date(2024, 4, 7)}, {"start": date(2024, 5, 1)},
    {"end": date(2022, 12, 31), "reported_by": date(2024, 4, 7)},
    {"datasets": ["seed"], "kind": Kind.VISIT},
])
def test_short_pages_of_a_bounded_scan_add_up_to_the_whole_list(app, monkeypatch, filters):
    whole = app.list_developments(**filters)
    everything = app.list_developments()
    assert whole and len(everything) > 20
    monkeypatch.setattr(timeline.queries, "SCAN_DEVELOPMENTS", 4)
    found = pages(app, 3, **filters)
    assert [d for items in found for d in items] == whole
    assert all(len(items) <= 3 for items in found)
    if "end" not in filters:  # each page read 4 at most, up to the end of the store
        assert len(found) >= len(everything) // 4


def test_a_page_reads_no_more_than_its_scan(app, monkeypatch):
    everything = app.list_developments()
    monkeypatch.setattr(timeline.queries, "SCAN_DEVELOPMENTS", 5)
    # No development is a rare kind here: the page ends where the scan did.
    page = app.developments_page(kind=Kind.ARMS_DEAL, limit=50)
    fifth = everything[4]
    assert page.items == [d for d in everything[:5] if d["kind"] == "arms_deal"]
    assert page.next is not None and page.next[2] == fifth["id"]
