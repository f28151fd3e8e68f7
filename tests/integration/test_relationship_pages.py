"""A page of relationships costs its own pairs, not the store: the page's pairs are found in the
pair index and only they are folded (issue: security and cost, section 1)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import pytest

import timeline.queries
from tests.conftest import content
from timeline.application import Timeline
from timeline.axes import Axes
from timeline.domain import Participation
from timeline.vocabulary import ActorKind, Role, Stance


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


def vm_steps(view, call):
    """The SQLite virtual machine's steps a call of the view's costs (its reads, counted)."""
    steps = 0
    real = view.reading

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    @contextmanager
    def counted():
        with real() as c:
            connection = c.sqlite_cursor.connection
            connection.set_progress_handler(tick, 1)
            try:
                yield c
            finally:
                connection.set_progress_handler(None, 1)

    view.reading = counted
    try:
        call()
    finally:
        del view.reading
    return steps


def pair_steps(path, busy: int) -> tuple[int, int]:
    """The steps of finding the pairs (a, b), (a, c) and (b, c), and those of b, in a store
    where the first pair holds `busy` links and the others one."""
    app = Timeline(f"sqlite:///{path}")
    for actor in ("a-state", "b-state", "c-state"):
        app.register_actor(actor, actor.title(), ActorKind.STATE)
    for source, target, times in (("a-state", "b-state", busy), ("a-state", "c-state", 1),
                                  ("b-state", "c-state", 1)):
        for _ in range(times):
            app.record_development(content(actors=(Participation(source, Role.SOURCE),
                                                   Participation(target, Role.TARGET))))
    app.read_model.catch_up()
    view = app.read_model.current()
    found: list = []
    every = vm_steps(view, lambda: found.extend(view.select_pairs(Axes(), None, 3)))
    assert found == [("a-state", "b-state"), ("a-state", "c-state"), ("b-state", "c-state")]
    of_b: list = []
    steps_of_b = vm_steps(view, lambda: of_b.extend(view.select_pairs(Axes(), None, 3,
                                                                      actor="b-state")))
    assert of_b == [("a-state", "b-state"), ("b-state", "c-state")]
    app.close()
    return every, steps_of_b


def test_finding_a_pages_pairs_costs_the_same_however_many_links_they_hold(tmp_path):
    # A page's pairs are found one seek each, so a busy pair's many links are not read (a
    # DISTINCT over the links read each of them, and so does a row-value bound on SQLite).
    quiet, busy = pair_steps(tmp_path / "quiet.db", 1), pair_steps(tmp_path / "busy.db", 120)
    assert busy[0] < 1.2 * quiet[0] and busy[1] < 1.2 * quiet[1], (quiet, busy)


def test_counting_a_pages_links_stops_at_its_budget(seeded, monkeypatch):
    view = seeded.read_model.current()
    monkeypatch.setattr(type(view), "COUNT_CHUNK", 5)
    pairs = view.select_pairs(Axes(), None, 100)
    assert len(pairs) > 2 * view.COUNT_CHUNK
    every = view.count_links(pairs, Axes())
    assert set(every) == set(pairs) and all(n > 0 for n in every.values())
    budgeted = view.count_links(pairs, Axes(), budget=1)
    # The first chunk of pairs, in order, counted exactly; the rest left out.
    assert list(budgeted) == pairs[:view.COUNT_CHUNK]
    assert budgeted == {pair: every[pair] for pair in pairs[:view.COUNT_CHUNK]}
