"""The README's five-minute tour runs as printed, against `timeline serve` started elsewhere."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import serving

ROOT = Path(__file__).resolve().parents[2]
VISIT = "9f32700c-7396-52e5-8c15-76b3bc817155"  # the state visit the tour corrects


def tour() -> dict[str, str]:
    """Each user's part of the README's tour: its shell blocks, in order, as one script."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"\n## A five-minute tour\n(.*?)\n## ", readme, re.DOTALL).group(1)
    parts = re.findall(r"\n### (\w+)[^\n]*\n(.*?)(?=\n### |\Z)", section, re.DOTALL)
    return {
        user: "\n".join(re.findall(r"```sh\n(.*?)```", body, re.DOTALL)) for user, body in parts
    }


def test_the_readme_has_a_tour_for_each_kind_of_user():
    assert set(tour()) == {"Clients", "Analysts", "Auditors", "Datasets"}
    assert all(tour().values())


@pytest.fixture
def service(tmp_path):
    """The service as the tour expects it, but in a directory of its own on a free port; its
    `.venv` is this environment, so `.venv/bin/timeline` there is the command under test."""
    with serving(tmp_path) as port:
        (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
        (tmp_path / "samples").symlink_to(ROOT / "samples")
        yield tmp_path, port


def run(script: str, directory: Path, port: int) -> str:
    # The commands run unchanged: the only addition is a curl that goes to the test's port and
    # fails on an HTTP error status (curl -s alone would exit 0 with a problem document).
    prelude = (
        "set -euo pipefail\n"
        f'curl() {{ command curl --fail-with-body "${{@//localhost:8000/127.0.0.1:{port}}}"; }}\n'
    )
    result = subprocess.run(
        ["bash", "-c", prelude + script], cwd=directory, capture_output=True, text=True,
        timeout=120, check=False,  # the assertion below shows the output on failure
    )
    assert result.returncode == 0, f"{script}\nfailed with:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def documents(output: str) -> list[dict]:
    """The JSON objects in a run's output, which curl prints with no newline between them."""
    decoder, found, at = json.JSONDecoder(), [], output.find("{")
    while at != -1:
        document, end = decoder.raw_decode(output, at)
        found.append(document)
        at = output.find("{", end)
    return found


def test_the_tour_runs_as_printed(service):
    directory, port = service
    steps = tour()
    time.sleep(1)  # the analyst's "before" is to the second: let the seeding lie before it
    clients = run(steps["Clients"], directory, port)
    assert clients.rstrip().endswith("304")
    analysts = run(steps["Analysts"], directory, port)
    assert "opens material_supply china→russia" in analysts
    assert "reported (version 2, expected → counts)" in analysts
    on_the_day, known_in_2023, *_, seeded, corrected, now, before = documents(analysts)
    assert VISIT in [d["id"] for d in on_the_day["expected"]]
    assert "rifle scopes" in " ".join(d["summary"] for d in on_the_day["developments"])
    assert "partnership" in [t["kind"] for t in known_in_2023["ties"]]
    assert "rifle scopes" not in " ".join(d["summary"] for d in known_in_2023["developments"])
    assert [v["type"] for v in seeded["history"]] == ["recorded", "status_changed", "corrected"]
    assert "xi-jinping" in [a["actor"] for a in corrected["actors"]]
    assert VISIT in [d["id"] for d in now["developments"]]
    assert VISIT not in [d["id"] for d in before["developments"]]
    auditors = run(steps["Auditors"], directory, port)
    assert "The log still extends the kept head" in auditors
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/developments/{VISIT}") as got:
        assert json.load(got)["version"] == corrected["version"]
    datasets = run(steps["Datasets"], directory, port)
    assert "In all: 9 recorded, 0 corrected, 1 unchanged, 0 skipped" in datasets
    assert "In all: 0 recorded, 0 corrected, 10 unchanged, 0 skipped" in datasets
    pair, listed = documents(datasets)[:2]
    assert pair["stance"] == "war"
    assert {d["sources"][0]["attribution"] for d in pair["developments"]} == {
        "GDELT 2.0, machine-coded"}
    (visit,) = listed["developments"]
    assert visit["provenance"]["record_id"] == "1170000003"
    assert visit["provenance"]["file"] == "20240410101500.export.CSV"
    # The replay's lines follow curl's output, which ends with no newline.
    reported = re.findall(r"(\d{4}-\d\d-\d\d)  russia – ukraine  reported", datasets)
    assert reported == ["2024-04-10", "2024-04-10", "2024-04-12", "2024-04-12"]
    assert "events verified" in datasets
