"""A page of relationships costs its own pairs, not the store: the page's pairs are found in the
pair index and only they are folded (issue: security and cost, section 1)."""

from __future__ import annotations

from datetime import date

import pytest

import timeline.queries
from timeline.vocabulary import Stance


@pytest.fixture
def app(seeded):
    return seeded


@pytest.fixture
def folded(monkeypatch) -> list[set]:
    """The pairs of each fold a query does from now on."""
    found: list[set] = []
    real_fold = timeline.queries.fold

    def spy(linked, as_of=None):
        linked = list(linked)
        found.append({link.pair for link in linked})
        return real_fold(linked, as_of)

    monkeypatch.setattr(timeline.queries, "fold", spy)
    return found


def test_a_page_folds_only_its_own_pairs(app, folded):
    everything = app.list_relationships()
    assert len(everything) > 10
    folded.clear()
    first = app.list_relationships(limit=1)
    assert [r["pair"] for r in first] == [everything[0]["pair"]]
    # Its own pair, and the next one, which tells that a next page exists.
    assert folded == [{tuple(everything[0]["pair"]), tuple(everything[1]["pair"])}]


def test_pages_in_the_index_add_up_to_the_whole_list_on_every_axis(app):
    for axes in ({}, {"as_of": date(2024, 4, 7)}, {"reported_by": date(2023, 6, 1)},
                 {"datasets": ["seed"]}, {"datasets": ["manual"]}):
        everything = app.list_relationships(**axes)
        paged, after = [], None
        while True:
            page = app.list_relationships(after=after, limit=3, **axes)
            paged += page
            if len(page) < 3:
                break
            after = tuple(page[-1]["pair"])
        assert paged == everything, axes
        # A stance filter reads pages until its own is full.
        wars = app.list_relationships(stance=Stance.WAR, limit=1, **axes)
        assert wars == [r for r in everything if r["stance"] == "war"][:1]


def test_an_actors_pages_fold_only_their_own_pairs_and_add_up(app, folded):
    everything = app.list_relationships(actor="russia")
    assert len(everything) > 3
    paged, after = [], None
    while True:
        page = app.relationships_page(actor="russia", after=after, limit=2)
        paged += page.items
        if page.next is None:
            break
        after = page.next
    assert paged == everything
    folded.clear()
    assert app.relationships_page(actor="russia", limit=1).items == everything[:1]
    assert folded == [{tuple(everything[0]["pair"]), tuple(everything[1]["pair"])}]


def test_a_rare_stance_reads_a_bounded_number_of_pairs_per_page(app, monkeypatch):
    everything = app.list_relationships()
    wars = [r for r in everything if r["stance"] == "war"]
    assert wars and len(wars) < len(everything) // 4
    # With a budget of 3 pairs a page, the pages of wars may be short, even empty, but each
    # says where to go on, and they add up to every war.
    monkeypatch.setattr(timeline.queries, "SCAN_PAIRS", 3)
    pages, after = [], None
    while True:
        page = app.relationships_page(stance=Stance.WAR, after=after, limit=2)
        pages.append(page.items)
        if page.next is None:
            break
        after = page.next
    assert [r for items in pages for r in items] == wars
    assert any(len(items) < 2 for items in pages[:-1])
    assert len(pages) >= len(everything) // 3


def test_a_page_folds_a_bounded_number_of_links_but_always_one_pair(app, monkeypatch):
    everything = app.list_relationships()
    monkeypatch.setattr(timeline.queries, "SCAN_LINKS", 3)
    pages, after = [], None
    while True:
        page = app.relationships_page(after=after, limit=5)
        assert page.items or page.next is None
        pages.append(page.items)
        if page.next is None:
            break
        after = page.next
    assert [r for items in pages for r in items] == everything
    assert max(len(items) for items in pages[:-1]) < 5
