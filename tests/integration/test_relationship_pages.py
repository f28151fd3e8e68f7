"""A page of relationships costs its own pairs, not the store: as things stand now, a row per
pair from the outlines the read model keeps; on other axes, the page's pairs are found in the
pair index and only they are folded (issue: security and cost, section 1)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import pytest
from click.testing import CliRunner

import timeline.queries
from tests.conftest import SEEDS, content
from tests.conftest import source as a_source
from tests.helpers import outline_of
from timeline import cli
from timeline.application import Timeline
from timeline.axes import Axes
from timeline.domain import Participation
from timeline.readmodel import Among
from timeline.relationships import fold
from timeline.seeding import seed
from timeline.vocabulary import ActorKind, Kind, Role, Stance


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


def outlines(app, **axes) -> list[dict]:
    """Every relationship on the axes as a page outlines it, from the whole list in full."""
    return [outline_of(r) for r in app.list_relationships(**axes)]


def every_page(app, limit: int, **query) -> list[list[dict]]:
    """The items of each page of relationships, following the cursors to the end."""
    pages, after = [], None
    while True:
        page = app.relationships_page(after=after, limit=limit, **query)
        assert page.next is None or page.next != after  # a page always makes headway
        pages.append(page.items)
        if page.next is None:
            return pages
        after = page.next


def test_a_page_as_things_stand_reads_the_outlines_and_folds_nothing(app, folded):
    everything = outlines(app)
    assert len(everything) > 10
    folded.clear()
    assert app.relationships_page(limit=1).items == everything[:1]
    assert app.relationships_page(limit=500).items == everything
    assert folded == []


def test_a_page_on_other_axes_folds_only_its_own_pairs(app, folded):
    everything = outlines(app, as_of=date(2024, 4, 7))
    folded.clear()
    first = app.relationships_page(limit=1, as_of=date(2024, 4, 7)).items
    assert first == everything[:1]
    # Its own pair, and the next one, which tells that a next page exists.
    assert folded == [{tuple(everything[0]["pair"]), tuple(everything[1]["pair"])}]


def test_pages_add_up_to_the_whole_list_on_every_axis(app):
    for axes in ({}, {"as_of": date(2024, 4, 7)}, {"reported_by": date(2023, 6, 1)},
                 {"datasets": ["seed"]}, {"datasets": ["manual"]}):
        everything = outlines(app, **axes)
        assert [r for items in every_page(app, 3, **axes) for r in items] == everything, axes
        # A stance filter reads pages until its own is full.
        wars = app.relationships_page(stance=Stance.WAR, limit=1, **axes).items
        assert wars == [r for r in everything if r["stance"] == "war"][:1]


def test_an_actors_pages_add_up_on_both_paths(app, folded):
    for axes in ({}, {"as_of": date(2024, 4, 7)}):
        everything = outlines(app, actor="russia", **axes)
        assert len(everything) > 3
        assert [r for items in every_page(app, 2, actor="russia", **axes)
                for r in items] == everything
        for stance in {r["stance"] for r in everything}:
            assert [r for items in every_page(app, 2, actor="russia", stance=Stance(stance),
                                              **axes) for r in items] == [
                r for r in everything if r["stance"] == stance]
    first = outlines(app, actor="russia")[:1]
    folded.clear()
    assert app.relationships_page(actor="russia", limit=1).items == first
    assert folded == []


def test_a_rare_stance_reads_a_bounded_number_of_pairs_per_page(app, monkeypatch):
    # On other axes than now, a page folds the pairs it reads: at most SCAN_PAIRS.
    axes = {"as_of": date(2024, 4, 7)}
    everything = outlines(app, **axes)
    wars = [r for r in everything if r["stance"] == "war"]
    assert wars and len(wars) < len(everything) // 4
    # With a budget of 3 pairs a page, the pages of wars may be short, even empty, but each
    # says where to go on, and they add up to every war.
    monkeypatch.setattr(timeline.queries, "SCAN_PAIRS", 3)
    pages = every_page(app, 2, stance=Stance.WAR, **axes)
    assert [r for items in pages for r in items] == wars
    assert any(len(items) < 2 for items in pages[:-1])
    assert len(pages) >= len(everything) // 3


def test_a_page_folds_a_bounded_number_of_links_but_always_one_pair(app, monkeypatch):
    axes = {"as_of": date(2024, 4, 7)}
    everything = outlines(app, **axes)
    monkeypatch.setattr(timeline.queries, "SCAN_LINKS", 3)
    pages = every_page(app, 5, **axes)
    assert [r for items in pages for r in items] == everything
    assert all(pages) and max(len(items) for items in pages[:-1]) < 5


def marked(app) -> set[tuple[str, str]]:
    return {(a, b) for a, b, _ in app.read_model.view.marked_pairs(10_000)}


def test_a_pair_changed_since_its_outline_is_folded_until_outlined_anew(app, folded):
    assert marked(app) == set()  # seeding outlined every pair
    app.record_development(content(actors=(Participation("china", Role.SOURCE),
                                           Participation("ukraine", Role.TARGET)),
                                   kind=Kind.SANCTIONS))
    app.read_model.catch_up()
    assert marked(app) == {("china", "ukraine")}
    everything = outlines(app)
    folded.clear()
    # The stale outline is never read: the page folds the marked pair, and only it.
    assert [r for items in every_page(app, 7) for r in items] == everything
    assert folded and all(pairs <= {("china", "ukraine")} for pairs in folded)
    hostile = [r for r in everything if r["stance"] == "hostility"]
    assert ["china", "ukraine"] in [r["pair"] for r in hostile]
    assert [r for items in every_page(app, 2, stance=Stance.HOSTILITY)
            for r in items] == hostile
    # The projector outlines it anew: the same pages, and no fold.
    assert app.read_model.outline_pairs() == 1
    assert marked(app) == set()
    folded.clear()
    assert [r for items in every_page(app, 7) for r in items] == everything
    assert [r for items in every_page(app, 2, stance=Stance.HOSTILITY)
            for r in items] == hostile
    assert folded == []


def test_a_correction_that_moves_a_development_marks_the_pair_it_left(app):
    ident = app.record_development(content(actors=(Participation("iran", Role.SOURCE),
                                                   Participation("ukraine", Role.TARGET))))
    app.read_model.catch_up()
    app.read_model.outline_pairs()
    assert ["iran", "ukraine"] in [r["pair"] for r in app.relationships_page(limit=500).items]
    app.correct_development(ident, {"actors": (Participation("china", Role.SOURCE),
                                               Participation("ukraine", Role.TARGET))},
                            "It was China.", a_source())
    app.read_model.catch_up()
    assert {("iran", "ukraine"), ("china", "ukraine")} <= marked(app)
    everything = outlines(app)
    assert ["iran", "ukraine"] not in [r["pair"] for r in everything]
    assert app.relationships_page(limit=500).items == everything
    # Nothing of the pair stands any more: its row goes, until a development links it again.
    app.read_model.outline_pairs()
    assert ("iran", "ukraine") not in marked(app)
    assert app.relationships_page(limit=500).items == everything
    assert ("iran", "ukraine") not in [pair for pair, _ in
                                       app.read_model.view.select_outlines(None, 10_000)]


def test_an_outline_folded_before_a_later_run_leaves_that_runs_mark(app):
    # Another process applies events while this one outlines: the outline it folded is of the
    # pair before them, and must not clear their mark.
    view = app.read_model.view
    app.record_development(content())
    app.read_model.catch_up()
    (a, b, first_mark), = view.marked_pairs(10)
    states = fold(view.select_links(pair=(a, b)))
    app.record_development(content(kind=Kind.SANCTIONS))
    app.read_model.catch_up()
    (_, _, second_mark), = view.marked_pairs(10)
    assert second_mark > first_mark
    view.write_outlines([(a, b, first_mark, states[(a, b)])], view.generation())
    assert view.marked_pairs(10) == [(a, b, second_mark)]
    assert app.relationships_page(limit=500).items == outlines(app)


def after_statement(view, needle: str, action) -> None:
    """Run `action` once, right after the view's first read whose statement holds `needle`
    (another process writing between two statements of a query)."""
    real = view.reading

    class Hooked:
        def __init__(self, cursor) -> None:
            self.cursor = cursor

        def execute(self, statement, *args):
            found = self.cursor.execute(statement, *args)
            if needle in str(statement) and not view.__dict__.get("fired"):
                view.fired = True
                action()
            return found

        def __getattr__(self, name):
            return getattr(self.cursor, name)

    @contextmanager
    def reading():
        with real() as c:
            yield Hooked(c)

    view.reading = reading


@pytest.fixture
def durable(durable_store):
    """A seeded store that another connection can write while one reads (SQLite's memory
    store has one connection)."""
    app = Timeline(durable_store)
    seed(app, SEEDS)
    yield app
    app.close()


def test_a_stance_page_reads_one_snapshot_while_another_process_writes(durable):
    # Between two statements of one page (on PostgreSQL each its own snapshot), a pair of
    # the stance was marked, or outlined: it was shown twice, or not at all.
    app = durable
    view = app.read_model.view
    expected = app.relationships_page(stance=Stance.PARTNERSHIP, limit=500).items
    a, b = expected[0]["pair"]

    def mark() -> None:
        app.record_development(content(actors=(Participation(a, Role.SOURCE),
                                               Participation(b, Role.TARGET)),
                                       kind=Kind.VISIT))
        app.read_model.catch_up()

    after_statement(view, "pair_outlines", mark)
    page = app.relationships_page(stance=Stance.PARTNERSHIP, limit=500).items
    assert [r["pair"] for r in page] == [r["pair"] for r in expected]
    del view.reading, view.fired
    assert marked(app) == {(a, b)}
    after_statement(view, "pair_outlines", app.read_model.outline_pairs)
    assert [r["pair"] for r in app.relationships_page(stance=Stance.PARTNERSHIP,
                                                      limit=500).items] == [
        r["pair"] for r in expected]


def test_an_outliners_turn_begun_before_a_rebuild_writes_nothing(app):
    # A rebuild marks its pairs with the same positions again: the outline of a turn that
    # read its marks before the reset is of the old view, and must not be written (it
    # deleted a pair that stands, folded from the half-empty view).
    model, view = app.read_model, app.read_model.view
    app.record_development(content(actors=(Participation("iran", Role.SOURCE),
                                           Participation("ukraine", Role.TARGET))))
    model.catch_up()
    generation, turn = view.generation(), view.marked_pairs(500)
    view.reset(model.name)
    states = fold(view.select_links(among=Among(pairs=[(a, b) for a, b, _ in turn])))
    model.catch_up(model.rebuild_batch, bulk=True)  # marks (iran, ukraine) as before
    assert not view.write_outlines([(a, b, m, states.get((a, b))) for a, b, m in turn],
                                   generation)
    model.outline_pairs()
    assert app.relationships_page(limit=500).items == outlines(app)
    assert ["iran", "ukraine"] in [r["pair"] for r in outlines(app)]


def test_outlining_ends_when_a_pair_is_marked_again_behind_it(app, monkeypatch):
    # A busy pair written all the while: it waits for the next call, which ends too.
    model, view = app.read_model, app.read_model.view
    for target in ("ukraine", "iran"):
        app.record_development(content(actors=(Participation("china", Role.SOURCE),
                                               Participation(target, Role.TARGET))))
    model.catch_up()
    assert marked(app) == {("china", "iran"), ("china", "ukraine")}
    monkeypatch.setattr(model, "outline_pairs_run", 1)
    write = view.write_outlines

    def and_write_again(outlined, generation, chapters=None):
        written = write(outlined, generation, chapters)
        app.record_development(content())  # china -> russia... and the first pair again:
        app.record_development(content(actors=(Participation("china", Role.SOURCE),
                                               Participation("iran", Role.TARGET))))
        model.catch_up()
        return written

    monkeypatch.setattr(view, "write_outlines", and_write_again)
    assert model.outline_pairs() == 3  # (china, iran), (china, russia), (china, ukraine)
    assert ("china", "iran") in marked(app)


def test_commands_that_write_in_bulk_leave_every_pair_outlined(tmp_path):
    store = f"sqlite:///{tmp_path / 'bulk.db'}"
    result = CliRunner().invoke(cli.main, ["--store", store, "synth", "--developments", "300",
                                           "--actors", "12", "--seed", "3", "-q"])
    assert result.exit_code == 0, result.output
    app = Timeline(store)
    assert marked(app) == set() and app.read_model.view.count_marked() == 0
    assert app.relationships_page(limit=500).items == outlines(app)
    # The planner's statistics of the marks were taken once the outlines were made (with
    # those of the load, every pair was marked, and a page scanned instead of a range).
    with app.read_model.view.reading() as c:
        c.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'pair_marks'")
        assert {row["stat"].split()[0] for row in c.fetchall()} <= {"0"}
    app.read_model.rebuild()
    assert marked(app) == set()
    app.close()


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
    # The outliner counts more pairs a statement (ReadModel.outline_count_chunk).
    assert view.count_links(pairs, Axes(), budget=1, chunk=8) == {
        pair: every[pair] for pair in pairs[:8]}
