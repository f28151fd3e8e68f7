"""The append benchmark still runs, both ways, at a tiny size (no timings are asserted)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import STORES, require_postgres

ROOT = Path(__file__).resolve().parents[2]


def test_the_append_benchmark_runs_against_its_baseline(tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/append.py", "--count", "30", "--actors", "10",
         "--rounds", "1", "--json", str(tmp_path / "append.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = json.loads((tmp_path / "append.json").read_text())
    rows = table["rows"]
    assert table["interleaved tree cost"]["sqlite"] > 0
    assert {row["measure"] for row in rows} == {
        "developments/s, one per transaction", "events/s, batches of 1000",
        "developments/CPU s, one per transaction", "events/CPU s, batches of 1000",
        "WAL frames per single append",
    }
    assert all(row[way] > 0 for row in rows for way in ("baseline", "hardened", "no tree"))
    # Without the tree's rows an append writes fewer pages.
    [frames] = [row for row in rows if row["measure"].startswith("WAL")]
    assert frames["no tree"] < frames["hardened"]


@pytest.mark.parametrize("kind", STORES)
def test_the_proof_benchmark_runs_and_counts_two_statements_a_proof(kind):
    if kind == "postgres":
        require_postgres()
    result = subprocess.run(
        [sys.executable, "benchmarks/proofs.py", "--sizes", "100,300", "--proofs", "5",
         "--rounds", "2", "--append", "20", "--store", kind],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.split()[0].isdigit()]
    table = [row for row in rows if len(row) == 11]  # in the recorder
    served = [row for row in rows if len(row) == 5]  # through the API
    assert [row[0] for row in table] == [row[0] for row in served] == ["100", "300"]
    assert all(row[6] == "2.0" for row in table)  # statements per proof, at either size
    assert all(float(row[9]) > 0 for row in table)  # time per hash of a proof
    assert all(float(row[1]) > 0 and float(row[3]) > 0 for row in served)
    share = re.search(r"growing the tree: ([\d.]+)% one .*, ([\d.]+)% in batches", result.stdout)
    assert share and all(float(part) > 0 for part in share.groups()), result.stdout
