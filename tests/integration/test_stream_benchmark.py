"""The streams benchmark still runs: a tiny run (no timings are asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_streams_benchmark_runs_briefly_and_every_stream_gets_every_write(tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/streams.py", "--seconds", "1", "--streams", "5",
         "--workers", "1", "--threads", "16", "--json", str(tmp_path / "streams.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((tmp_path / "streams.json").read_text())
    assert len(figures["write p50"]) == 3 and figures["writes_with_streams"] > 0
    assert figures["received_min"] == figures["received_max"] == figures["writes_with_streams"]
    assert figures["streams_ended_early"] == 0
