"""The worst-page benchmark still runs: a tiny run of every probe (no timings are asserted)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_worst_page_benchmark_runs_at_a_tiny_size(tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/pages.py", "--sizes", "300", "--actors", "12",
         "--limit", "5", "--rounds", "1", "--directory", str(tmp_path),
         "--json", str(tmp_path / "pages.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads((tmp_path / "pages.json").read_text())
    measures = {row["measure"] for row in rows}
    for endpoint in ["developments", "relationships", "replay (happened)", "replay (reported)",
                     "replay of the busiest pair", "events"]:
        assert f"{endpoint}: deep page" in measures, endpoint
    assert "pair query of a pair in a maximal fan-out development" in measures
    # One pair's state is not paged: its busiest pair's cost and bytes are shown, and what a
    # write to that pair costs the projector and the page of relationships that holds it.
    busiest = next(row for row in rows if row["measure"] == "pair query of the busiest pair")
    assert busiest["entries"] > 0 and busiest["bytes"] > 0
    for measure in ["outlining the busiest pair after a write to it (the projector's work)",
                    "relationships, the page that begins with it, before it is outlined",
                    "relationships, the page that begins with it, outlined"]:
        assert measure in measures, measure
    assert all(row["x_pair_query"] > 0 for row in rows)
    # Some probes alone (before and after a change, on one store): the store is only read.
    store = tmp_path / "pages-300-12.db"
    with sqlite3.connect(store) as db:
        events = db.execute("SELECT COUNT(*) FROM stored_events").fetchone()
    result = subprocess.run(
        [sys.executable, "benchmarks/pages.py", "--store", f"sqlite:///{store}", "--only",
         "replay", "--limit", "5", "--rounds", "1", "--json", str(tmp_path / "replay.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measures = [row["measure"] for row in json.loads((tmp_path / "replay.json").read_text())]
    assert len(measures) == 7 and all(
        m.startswith(("pair query (baseline)", "replay")) for m in measures), measures
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM stored_events").fetchone() == events
