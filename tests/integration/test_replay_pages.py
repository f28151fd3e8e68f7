"""Property: a replay served a page at a time adds up to the whole replay, in both orders, on
every time axis and for every dataset filter; and a page of the whole store's replay reads only
the links of its own pairs.

The history here keeps a chapter of each pair every CHAPTER moments (see pair_chapters), far
fewer than a service does, so that nearly every page of world time resumes from chapters,
often from several of one pair, and the pages that fold whole pairs (other axes, datasets, the
order of the news) run beside them on the same history."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.sqlite import SQLiteCursor
from hypothesis import given, settings
from hypothesis import strategies as st

import timeline.queries
from tests.conftest import SEEDS, STORES, content, fresh_store, source
from timeline.application import Timeline
from timeline.domain import PartialDate, Participation
from timeline.ingest import gdelt
from timeline.ingest.bulk import ingest
from timeline.readmodel import CHAPTER_KEY, REPORT_CHAPTER_KEY, ReadModel, ViewQueries
from timeline.seeding import seed
from timeline.synth import Synthesizer, SynthReport, batches, record_batch, register_actors
from timeline.vocabulary import Role

PAIRS = [None, ("china", "russia"), ("state-000000", "state-000001")]
DAYS = st.one_of(st.none(), st.dates(date(1965, 1, 1), date(2025, 12, 31)))
# The history holds seed and GDELT developments (none recorded by hand): each filter below keeps
# some of them, all of them, or none.
DATASETS = [(), ("seed",), ("gdelt",), ("manual",), ("gdelt", "seed")]
SAMPLES = Path(__file__).parents[2] / "samples" / "gdelt"
CHAPTER = 3


@pytest.fixture(scope="module", params=STORES)
def history(request):
    """The seed data, then a synthetic history (corrections, retractions, status changes,
    late records) in runs, then the GDELT samples, with the moments between the runs (for
    known_at)."""
    with fresh_store(request.param) as url, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ViewQueries, "chapter_moments", CHAPTER)
        patch.setattr(ReadModel, "BOOK_MOMENTS", 4 * CHAPTER)  # a few busy pairs at a time,
        patch.setattr(ReadModel, "BOOK_LINKS", 7)  # their versions a few links at a time
        app = Timeline(url)
        seed(app, SEEDS)
        moments = [datetime.now(UTC)]
        synthesizer = Synthesizer(300, 12, seed=3)
        report = SynthReport()
        register_actors(app, synthesizer, report)
        for operations in batches(synthesizer, 100):
            record_batch(app, synthesizer.seed, operations, report)
            moments.append(datetime.now(UTC))
        for path in sorted(SAMPLES.glob("*.export.CSV")):
            assert ingest(app, gdelt.rows(path), recorded_by="gdelt").recorded
        app.read_model.catch_up_bulk()  # as a serving process's projector does: chapters
        yield app, moments
        app.close()


def paged(app: Timeline, limit: int, **query):
    steps, after = [], None
    while True:
        page = app.replay_page(limit=limit, after=after, **query)
        assert len(page.items) <= limit
        assert page.items or after is None  # a page after a cursor is never empty
        steps += page.items
        if page.next is None:
            return steps
        after = page.next


@settings(max_examples=40, deadline=None, derandomize=True)
@given(order=st.sampled_from(["happened", "reported"]), until=DAYS, start=DAYS,
       reported_by=DAYS, known_at=st.integers(0, 3), pair=st.sampled_from(PAIRS),
       limit=st.sampled_from([1, 3, 40]), datasets=st.sampled_from(DATASETS))
def test_pages_add_up_to_the_whole_replay(history, order, until, start, reported_by, known_at,
                                          pair, limit, datasets):
    app, moments = history
    query = {"order": order, "until": until, "start": start, "reported_by": reported_by,
             "known_at": None if known_at == 0 else moments[known_at - 1], "pair": pair,
             "datasets": datasets}
    assert paged(app, limit, **query) == app.replay(**query)


@pytest.mark.parametrize("order", ["happened", "reported"])
def test_the_dataset_filter_keeps_the_steps_of_its_developments_a_page_at_a_time(history, order):
    app, _ = history
    whole = app.replay(order=order)
    gdelt_only = paged(app, 7, order=order, datasets=("gdelt",))
    assert gdelt_only == app.replay(order=order, datasets=("gdelt",))
    assert 0 < len(gdelt_only) < len(whole)
    assert paged(app, 7, order=order, datasets=("manual",)) == []
    assert paged(app, 40, order=order, datasets=("gdelt", "seed")) == whole


@pytest.mark.parametrize("order", ["happened", "reported"])
def test_a_deep_page_of_the_whole_replay_reads_only_its_own_pairs(history, order,
                                                                 monkeypatch):
    app, _ = history
    whole = app.replay(order=order)
    middle = len(whole) // 2
    after = app.replay_page(limit=middle, order=order).next
    read: list[dict] = []
    select_links = ViewQueries.select_links

    def counted(self, **query):
        found = select_links(self, **query)
        read.append({"query": query, "links": len(found or ())})
        return found

    monkeypatch.setattr(ViewQueries, "select_links", counted)
    page = app.replay_page(limit=10, after=after, order=order).items
    assert page == whole[middle:middle + 10]
    # Every read names what it reads (pairs, developments or versions): none reads the store.
    assert read and all(r["query"].get("among") for r in read)
    # The fold reads the page's pairs (by report: with every version of their developments),
    # whatever else the history holds; a busy pair from its chapters, a short one whole (a
    # busy pair whose chapters hold only versions the page's steps read already: not again).
    pairs = {tuple(step["pair"]) for step in page}
    named = [r for r in read if r["query"]["among"].pairs or r["query"]["among"].positions]
    assert {pair for r in named for pair in (*r["query"]["among"].pairs,
                                             *r["query"]["among"].positions)} <= pairs
    assert any(r["query"]["among"].positions for r in named)
    assert sum(r["links"] for r in named) < sum(len(app.read_model.links(
        pair=pair, every_version=order == "reported")) for pair in pairs)


def test_a_page_in_world_time_reads_the_versions_of_its_steps_once(history, monkeypatch):
    """The versions of a page's steps, read to find the steps, are not read again with its
    busy pairs' chapters (chapter_links takes their links from the first read)."""
    app, _ = history
    whole = app.replay()
    after = app.replay_page(limit=len(whole) // 2).next
    by_steps: set[int] = set()
    by_chapters: list[int] = []
    select_links = ViewQueries.select_links

    def counted(self, **query):
        found = select_links(self, **query)
        among = query.get("among")
        if among is not None and among.versions:
            by_steps.update(link.position for link in found)
        if among is not None and among.positions:
            by_chapters.extend(p for positions in among.positions.values() for p in positions)
        return found

    monkeypatch.setattr(ViewQueries, "select_links", counted)
    page = app.replay_page(limit=20, after=after).items
    assert page == whole[len(whole) // 2:len(whole) // 2 + 20]
    assert by_steps and by_chapters
    assert not by_steps & set(by_chapters)


def test_a_page_by_report_reads_no_report_of_a_pair_after_its_last_step(history, monkeypatch):
    """A busy pair's chapter by report is read up to the page's last step of the pair, not
    to the chapter's end: a later report makes only later steps (reports_up_to)."""
    app, _ = history
    whole = app.replay(order="reported")
    view = app.read_model.view
    select_links = ViewQueries.select_links
    checked = 0
    for middle in range(len(whole) // 4, len(whole), len(whole) // 8):
        after = app.replay_page(limit=middle, order="reported").next
        read: dict[tuple[str, str], set[int]] = {}

        def counted(self, read=read, **query):
            among = query.get("among")
            if among is not None and among.positions:
                for pair, positions in among.positions.items():
                    read.setdefault(pair, set()).update(positions)
            return select_links(self, **query)

        monkeypatch.setattr(ViewQueries, "select_links", counted)
        page = app.replay_page(limit=10, after=after, order="reported").items
        monkeypatch.setattr(ViewQueries, "select_links", select_links)
        assert page == whole[middle:middle + 10]
        last = {}
        for step in page:  # each pair's last step: its report's key, as a page orders them
            last[tuple(step["pair"])] = (step["date"] or "", step["development"]["id"],
                                         step["version"])
        for pair, positions in read.items():
            refs = view.select_facts(positions)
            assert all(tuple(ref[:3]) <= last[pair] for ref, _ in refs.values())
            checked += len(positions)
    assert checked


@pytest.mark.parametrize("order", ["happened", "reported"])
def test_a_page_folds_a_bounded_number_of_links_but_always_shows_a_step(history, order,
                                                                        monkeypatch):
    app, _ = history
    whole = app.replay(order=order)
    monkeypatch.setattr(timeline.queries, "SCAN_LINKS", 10)
    # Every pair here holds more than 10 links, or few enough that some pages hold more than
    # one step: pages come back short, yet each shows a step and they add up to the replay.
    steps, after, sizes = [], None, []
    while True:
        page = app.replay_page(limit=20, after=after, order=order)
        assert page.items
        steps += page.items
        sizes.append(len(page.items))
        if page.next is None:
            break
        after = page.next
    assert steps == whole
    assert max(sizes[:-1]) < 20


def busiest(app: Timeline) -> tuple[tuple[str, str], int]:
    """The pair with the most links now, and how many."""
    sizes: dict[tuple[str, str], int] = {}
    for link in app.read_model.links():
        sizes[link.pair] = sizes.get(link.pair, 0) + 1
    return max(sizes.items(), key=lambda item: (item[1], item[0]))


@pytest.mark.parametrize("order", ["happened", "reported"])
@pytest.mark.parametrize(("until", "start"), [(None, None), (date(2024, 1, 1), None),
                                              (None, date(1990, 1, 1))])
def test_a_deep_page_of_a_busy_pairs_replay_folds_its_chapter_not_its_history(
        history, order, until, start, monkeypatch):
    app, _ = history
    pair, _ = busiest(app)
    query = {"pair": pair, "until": until, "start": start, "order": order}
    whole = app.replay(**query)
    middle = len(whole) // 2
    assert paged(app, 7, **query) == whole
    after = app.replay_page(limit=middle, **query).next
    size = len(app.read_model.links(pair=pair, every_version=order == "reported"))
    read: list[int] = []
    select_links = ViewQueries.select_links

    def counted(self, **query):
        found = select_links(self, **query)
        read.append(len(found or ()))
        return found

    monkeypatch.setattr(ViewQueries, "select_links", counted)
    page = app.replay_page(after=after, limit=2, **query)
    assert page.items == whole[middle:middle + 2]
    # The chapter of the cursor and those after it that a page of 2 may need, each of at
    # most CHAPTER moments (or reports, and the versions in force before them), each link
    # read with its other direction: not the pair's history.
    assert read and sum(read) <= 3 * 2 * 2 * CHAPTER < size


def test_a_pairs_replay_by_report_shows_a_correction_that_takes_the_pair_away(history):
    app, _ = history
    pair, _ = busiest(app)
    whole = app.replay(order="reported")
    of_pair = [step for step in whole if tuple(step["pair"]) == pair]
    assert app.replay(pair=pair, order="reported") == of_pair
    assert paged(app, 5, pair=pair, order="reported") == of_pair


@pytest.mark.parametrize("chapter", [1000, CHAPTER])  # the pair has no chapters, or several
def test_a_correction_naming_another_target_is_a_step_of_the_pair_it_leaves(
        store, chapter, monkeypatch):
    monkeypatch.setattr(ViewQueries, "chapter_moments", chapter)
    app = Timeline(store)
    seed(app, SEEDS)
    development = app.record_development(content())  # china to russia
    app.correct_development(
        development, {"actors": (Participation("china", Role.SOURCE),
                                 Participation("iran", Role.TARGET))},
        "It went to Iran.", source(), recorded_by="tester")
    app.read_model.catch_up_bulk()  # outlined: with chapters, when they are kept so often
    pair = ("china", "russia")
    assert bool(app.read_model.view.read_chapters([(pair, None, None, None)], True)) == (
        chapter == CHAPTER)
    steps = app.replay(pair=pair, order="reported")
    mine = [step for step in steps if step["development"]["id"] == str(development)]
    assert [(s["version"], s["standing"]) for s in mine] == [
        (1, {"from": None, "to": "counts"}), (2, {"from": "counts", "to": None})]
    assert steps == [s for s in app.replay(order="reported") if tuple(s["pair"]) == pair]
    assert paged(app, 3, pair=pair, order="reported") == steps
    app.close()


@pytest.mark.parametrize("store", STORES)
def test_a_pair_changed_since_its_chapters_were_kept_is_folded_whole_until_outlined(store):
    with fresh_store(store) as url, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ViewQueries, "chapter_moments", CHAPTER)
        app = Timeline(url)
        seed(app, SEEDS)  # outlined: china-russia has chapters
        pair = ("china", "russia")
        assert app.read_model.view.read_chapters([(pair, None, None, None)])[pair]
        # Supplies of 2022, before most of the pair's steps: every later chapter is stale.
        app.record_development(content(date=PartialDate.parse("2022-03")))
        app.read_model.catch_up()
        assert app.read_model.view.read_chapters([(pair, None, None, None)]) == {}
        whole = app.replay(pair=pair)
        assert "2022-03-31" in [step["date"] for step in whole]
        assert paged(app, 2, pair=pair) == whole
        assert paged(app, 5) == app.replay()
        assert app.read_model.outline_pairs()
        assert app.read_model.view.read_chapters([(pair, None, None, None)])[pair]
        assert paged(app, 2, pair=pair) == whole
        assert paged(app, 5) == app.replay()
        app.close()


CHAPTER_TABLES = {"pair_chapters": CHAPTER_KEY, "pair_report_chapters": REPORT_CHAPTER_KEY}


def chapter_rows(app: Timeline, pair: tuple[str, str]) -> dict[tuple[str, ...], bytes]:
    """The pair's rows of chapters, by table and key, with their bytes."""
    view, found = app.read_model.view, {}
    for table, key in CHAPTER_TABLES.items():
        with view.reading() as c:
            c.execute(view.sql(f"SELECT {', '.join(key)}, chapters FROM {{{table}}}"
                               " WHERE a = ? AND b = ?"), pair)
            for row in c.fetchall():
                found[(table, *(str(row[name]) for name in key))] = bytes(row["chapters"])
    return found


def count_writes(app: Timeline, kind: str) -> None:
    """Count each row the view inserts, updates or deletes in the tables of chapters, in a
    table `written` (a trigger on each, for each statement's rows)."""
    view = app.read_model.view
    with view.writing() as c:
        c.execute(f"CREATE TABLE {written_table(app)} (tbl TEXT NOT NULL)")
        for table in CHAPTER_TABLES:
            name = view.sql(f"{{{table}}}")
            if kind == "sqlite":
                for event in ("INSERT", "UPDATE", "DELETE"):
                    c.execute(f"CREATE TRIGGER {table}_{event.lower()} AFTER {event} ON {name}"
                              f" BEGIN INSERT INTO written VALUES ('{table}'); END")
                continue
            schema = name.rsplit(".", 1)[0]
            c.execute(f"CREATE FUNCTION {schema}.count_{table}() RETURNS trigger"
                      f" LANGUAGE plpgsql AS $$ BEGIN INSERT INTO {schema}.written"
                      f" VALUES ('{table}'); RETURN NULL; END $$")
            c.execute(f"CREATE TRIGGER counted AFTER INSERT OR UPDATE OR DELETE ON {name}"
                      f" FOR EACH ROW EXECUTE FUNCTION {schema}.count_{table}()")


def written_table(app: Timeline) -> str:
    """The name of the table `written`, in the view's schema."""
    return app.read_model.view.sql("{view_shape}").replace("view_shape", "written")


def writes(app: Timeline) -> dict[str, int]:
    """The rows written in each table of chapters since the last call (see count_writes)."""
    view, written = app.read_model.view, written_table(app)
    with view.writing() as c:
        c.execute(f"SELECT tbl FROM {written}")
        found = [row["tbl"] for row in c.fetchall()]
        c.execute(f"DELETE FROM {written}")
    return {table: found.count(table) for table in CHAPTER_TABLES}


@pytest.mark.parametrize("kind", STORES)
def test_outlining_a_busy_pair_after_a_write_writes_only_the_chapters_that_changed(kind):
    with fresh_store(kind) as url, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ViewQueries, "chapter_moments", CHAPTER)
        patch.setattr(ViewQueries, "chapters_per_row", 1)  # a row per chapter: many rows
        app = Timeline(url)
        seed(app, SEEDS)
        pair = ("china", "russia")
        count_writes(app, kind)
        before = chapter_rows(app, pair)
        rows = {table: sum(key[0] == table for key in before) for table in CHAPTER_TABLES}
        assert min(rows.values()) >= 4, rows
        # A development after all of the pair's, in world time and as the news arrived: only
        # its last chapters change, and only they are written (all of them were, deleted and
        # inserted again, before).
        later = replace(source(), reported_on=PartialDate.parse("2025-01-16"))
        app.record_development(content(date=PartialDate.parse("2025-01-15"), sources=(later,)))
        app.read_model.catch_up()
        assert app.read_model.outline_pairs() == 1
        written = writes(app)
        for table, count in written.items():
            assert 0 < count <= 2, (table, written)
        after = chapter_rows(app, pair)
        assert len([key for key in before if after.get(key) == before[key]]) >= (
            len(before) - 4)
        # One of 2022, before most of its steps: every later chapter changes; those that
        # no longer begin where a chapter does go. The rows are those a rebuild makes.
        app.record_development(content(date=PartialDate.parse("2022-03")))
        app.read_model.catch_up()
        assert app.read_model.outline_pairs() == 1
        assert writes(app)["pair_chapters"] > written["pair_chapters"]
        outlined = chapter_rows(app, pair)
        app.read_model.rebuild()
        assert chapter_rows(app, pair) == outlined
        assert paged(app, 2, pair=pair) == app.replay(pair=pair)
        app.close()


def test_a_page_resumes_from_its_chapters_as_they_were_made_when_a_write_comes_between(
        store, monkeypatch):
    # A correction of a development of the pair lands after the page read its chapters and
    # before it read their links: the page is the replay as the chapters made it, whole.
    monkeypatch.setattr(ViewQueries, "chapter_moments", CHAPTER)
    app = Timeline(store)
    seed(app, SEEDS)
    pair = ("china", "russia")
    before = app.replay(pair=pair)
    view = app.read_model.view
    (first, *_), = view.read_chapters([(pair, None, None, None)]).values()
    corrected = view.select_facts(first.positions)[first.positions[0]][0].ident
    read_chapters = ViewQueries.read_chapters

    def and_then_a_write(self, *args, **kwargs):
        found = read_chapters(self, *args, **kwargs)
        monkeypatch.setattr(ViewQueries, "read_chapters", read_chapters)
        app.correct_development(UUID(corrected), {"summary": "Corrected meanwhile."},
                                "A better summary.", source(), recorded_by="tester")
        app.read_model.catch_up()
        return found

    monkeypatch.setattr(ViewQueries, "read_chapters", and_then_a_write)
    page = app.replay_page(pair=pair, limit=len(before))
    assert page.items == before
    after = app.replay(pair=pair)
    assert after != before  # the summary changed in the steps of that development
    assert paged(app, 2, pair=pair) == after
    app.close()


def test_the_first_page_of_a_replay_seeks_the_moments_index_with_no_scan_of_the_versions(
        tmp_path, monkeypatch):
    # Unbounded, SQLite planned the first page as a scan of the moments with a Bloom filter on
    # the versions joined, which it builds from every version before the first row (0.23 s
    # at 1M developments, the deep pages 0.2 ms): a page must cost the page, not the store.
    with fresh_store("sqlite", tmp_path) as url:
        app = Timeline(url)
        seed(app, SEEDS)
        synthesizer = Synthesizer(60, 8, seed=5)
        register_actors(app, synthesizer, SynthReport())
        for operations in batches(synthesizer, 100):
            record_batch(app, synthesizer.seed, operations, SynthReport())
        app.read_model.catch_up_bulk()  # with the statistics a bulk load leaves
        statements: list[tuple[str, list]] = []
        execute = SQLiteCursor.execute

        def recorded(self, statement, params=(), *args):
            statements.append((statement, list(params)))
            return execute(self, statement, params, *args)

        monkeypatch.setattr(SQLiteCursor, "execute", recorded)
        assert app.replay_page(limit=20).items
        assert app.replay_page(limit=20, order="reported").items
        monkeypatch.undo()
        first_pages = [(s, p) for s, p in statements if "ORDER BY" in s and "LIMIT" in s
                       and ("development_moments" in s or "reported_from" in s)]
        assert len(first_pages) >= 2
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            for statement, params in first_pages:
                plan = " | ".join(row[-1] for row in db.execute(
                    f"EXPLAIN QUERY PLAN {statement}", params))
                assert "BLOOM" not in plan and "SCAN" not in plan, plan
        app.close()
