"""Synthetic timelines: the mix the benchmarks rely on, and the same history for a seed."""

from __future__ import annotations

from collections import Counter

from timeline.application import Timeline
from timeline.synth import FIRST_YEAR, LAST_YEAR, Synthesizer, run
from timeline.vocabulary import ActorKind


def test_a_synthetic_history_has_the_promised_mix(store):
    app = Timeline(store)
    report = run(app, Synthesizer(2000, 60, seed=7), batch=200)
    assert report.developments == 2000
    assert 150 <= report.late <= 250  # about 10% recorded out of date order
    assert 50 <= report.corrections <= 150  # about 5%
    assert 5 <= report.retractions <= 40  # about 1%
    assert report.status_changes > 0  # planned developments that occur or are cancelled
    kinds = Counter(actor["kind"] for actor in app.list_actors())
    assert set(kinds) == {kind.value for kind in ActorKind}
    listed = app.list_developments(limit=5000)
    precisions = Counter(d["date"]["precision"] for d in listed)
    assert set(precisions) == {"year", "month", "day"}
    years = [int(d["date"]["value"][:4]) for d in listed]
    assert max(years) - min(years) >= 40  # decades
    pairs = Counter(tuple(sorted(p["actor"] for p in d["actors"])) for d in listed)
    busiest = pairs.most_common(1)[0][1]
    assert busiest >= 10 * sorted(pairs.values())[len(pairs) // 2]  # heavy-tailed
    assert app.audit.verify().ok
    app.close()


def test_the_same_seed_gives_the_same_history(tmp_path):
    def history(seed):
        app = Timeline("memory://")
        run(app, Synthesizer(300, 20, seed=seed), batch=50)
        found = [(d["id"], d["date"], d["actors"], d["status"]) for d in
                 app.list_developments(limit=1000)]
        app.close()
        return found

    assert history(3) == history(3)
    assert history(3) != history(4)


def test_a_synthetic_history_happens_within_its_years():
    # A cancellation without a source would count from the day it was recorded: the history
    # would end on the day the store was made, and change with it.
    app = Timeline("memory://")
    report = run(app, Synthesizer(600, 20, seed=5), batch=100)
    cancelled = [d for d in app.list_developments(limit=1000) if d["status"] == "cancelled"]
    assert report.status_changes and cancelled
    steps = app.replay()
    days = [step["date"] for step in steps]
    assert f"{FIRST_YEAR}-01-01" <= min(days) and max(days) <= f"{LAST_YEAR}-12-31"
    withdrawn = {step["development"]["id"]: step["date"] for step in steps
                 if step["event"] == "withdrawn"}
    for development in cancelled:  # when it was planned for, as its source reports it
        assert withdrawn[development["id"]].startswith(development["planned_for"]["value"])
    app.close()
