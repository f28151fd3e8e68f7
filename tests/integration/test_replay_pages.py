"""Property: a replay served a page at a time adds up to the whole replay, in both orders, on
every time axis and for every dataset filter; and a page of the whole store's replay reads only
the links of its own pairs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import timeline.queries
from tests.conftest import SEEDS, STORES, fresh_store
from timeline.application import Timeline
from timeline.ingest import gdelt
from timeline.ingest.bulk import ingest
from timeline.readmodel import ViewQueries
from timeline.seeding import seed
from timeline.synth import Synthesizer, SynthReport, batches, record_batch, register_actors

PAIRS = [None, ("china", "russia"), ("state-000000", "state-000001")]
DAYS = st.one_of(st.none(), st.dates(date(1965, 1, 1), date(2025, 12, 31)))
# The history holds seed and GDELT developments (none recorded by hand): each filter below keeps
# some of them, all of them, or none.
DATASETS = [(), ("seed",), ("gdelt",), ("manual",), ("gdelt", "seed")]
SAMPLES = Path(__file__).parents[2] / "samples" / "gdelt"


@pytest.fixture(scope="module", params=STORES)
def history(request):
    """The seed data, then a synthetic history (corrections, retractions, status changes,
    late records) in runs, then the GDELT samples, with the moments between the runs (for
    known_at)."""
    with fresh_store(request.param) as url:
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
        yield app, moments
        app.close()


def paged(app: Timeline, limit: int, **query):
    steps, after = [], None
    while True:
        page = app.replay_page(limit=limit, after=after, **query)
        assert len(page.items) <= limit
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
    # whatever else the history holds.
    pairs = sorted({tuple(step["pair"]) for step in page})
    folded = read[-1] if order == "happened" else read[-2]
    assert list(folded["query"]["among"].pairs) == pairs
    assert folded["links"] == sum(len(app.read_model.links(
        pair=pair, every_version=order == "reported")) for pair in pairs)


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
