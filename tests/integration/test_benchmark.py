"""The benchmark still runs: a tiny run of every part of it (no timings are asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import POSTGRES, postgres_unavailable

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_at_a_tiny_size(tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/bench.py", "--sizes", "200,400", "--actors", "20",
         "--queries", "5", "--single", "30", "--http-seconds", "0.3",
         "--postgres", "off" if postgres_unavailable() else POSTGRES,
         "--postgres-max", "200", "--json", str(tmp_path / "results.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measures = {row["measure"] for row in
                json.loads((tmp_path / "results.json").read_text())["rows"]}
    for expected in [
        "ingest one per transaction, developments/s",
        "ingest in batches of 1000, events/s (sqlite)",
        "projection rebuild, events/s (sqlite)",
        "projection catch-up of the backlog, events/s (sqlite)",
        "read model bytes (sqlite)",
        "projection rebuild with its progress bar on a terminal, events/s (sqlite)",
        "query one pair as of a date (sqlite)",
        "growth 200 -> 400: one actor's relationships as of a date",
        "HTTP GET /api/v1/relationships/{a}/{b}",
        "peak RSS of a server worker",
    ]:
        assert expected in measures, expected
    if not postgres_unavailable():
        assert "projection rebuild, events/s (postgres)" in measures
        assert "read model bytes (postgres)" in measures


def test_the_projection_comparison_runs_on_a_tiny_store(tmp_path):
    from tests.conftest import SEEDS
    from timeline.application import Timeline
    from timeline.seeding import seed

    store = tmp_path / "tiny.db"
    app = Timeline(f"sqlite:///{store}")
    seed(app, SEEDS)
    app.close()
    result = subprocess.run(
        [sys.executable, "benchmarks/projection_ab.py", str(ROOT), str(ROOT), str(store),
         "--rounds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "raw read+decode ceiling" in result.stdout
    assert result.stdout.count("catch-up") == 2 and result.stdout.count("rebuild") == 2
