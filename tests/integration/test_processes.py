"""Real processes on one store: a worker killed mid-way resumes, and racing corrections."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from tests.conftest import content, fresh_store, source
from timeline.application import Timeline
from timeline.vocabulary import ActorKind

ROOT = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, timeout: float = 60.0, every: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(every)


def state(app: Timeline):
    return (
        app.list_relationships(),
        app.list_relationships(as_of=date(2024, 4, 30)),
        app.list_developments(limit=1000),
        app.read_model.view.count_versions(),
    )


def test_a_worker_killed_while_catching_up_resumes_and_equals_a_rebuild():
    with fresh_store("postgres") as url:
        app = Timeline(url)
        app.register_actor("china", "China", ActorKind.STATE)
        app.register_actor("russia", "Russia", ActorKind.STATE)
        for _ in range(400):  # commands do not project: this is a backlog for the worker
            ident = app.record_development(content())
        app.correct_development(ident, {"place": "Beijing"}, "place", source())
        backlog = app.read_model.lag()
        assert backlog > 400

        worker = spawn("-m", "timeline.cli", "--store", url, "worker")
        wait_for(lambda: (app.read_model.view.max_tracking_id(app.name) or 0) >= 50)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        assert 0 < app.read_model.lag() < backlog, "killed in the middle of catching up"

        worker = spawn("-m", "timeline.cli", "--store", url, "worker")
        wait_for(lambda: app.read_model.lag() == 0)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, worker.stderr.read()
        assert "stopped" in worker.stderr.read()

        resumed = state(app)
        assert resumed[3] == 401  # each development event applied once, none twice
        app.read_model.rebuild()
        assert state(app) == resumed
        app.close()


def test_the_worker_refuses_a_sqlite_store(tmp_path):
    with fresh_store("sqlite", tmp_path) as url:
        result = subprocess.run(
            [sys.executable, "-m", "timeline.cli", "--store", url, "worker"],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )
    assert result.returncode == 1
    assert "no worker is needed" in result.stderr and "Traceback" not in result.stderr


RACER = """
import sys, time
from tests.conftest import source
from timeline.application import Timeline, VersionMismatch
app = Timeline(sys.argv[1])
start = float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
try:
    app.correct_development(sys.argv[2], {"place": sys.argv[4]}, "race", source(),
                            expected_version=1)
    print("recorded")
except VersionMismatch:
    print("refused")
"""


def test_a_correction_raced_from_two_processes_with_one_version_records_exactly_one(
    durable_store,
):
    app = Timeline(durable_store)
    app.register_actor("china", "China", ActorKind.STATE)
    app.register_actor("russia", "Russia", ActorKind.STATE)
    ident = str(app.record_development(content()))
    start = str(time.time() + 2.0)  # both processes are up and waiting by then
    racers = [
        spawn("-c", RACER, durable_store, ident, start, place) for place in ("Beijing", "Moscow")
    ]
    results = [racer.communicate(timeout=60) for racer in racers]
    outcomes = sorted(out.strip() for out, _ in results)
    assert outcomes == ["recorded", "refused"], [err for _, err in results]
    history = app.get_development(ident)["history"]
    assert [entry["type"] for entry in history] == ["recorded", "corrected"]
    assert app.audit.verify().ok
    app.close()
