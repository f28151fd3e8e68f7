"""No request waits for a backlog: after a bulk write by another process, a read answers at once
from the read model as it stands, says how far behind it is, and the view catches up in the
background (this process's projector on SQLite, the worker on PostgreSQL)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from unittest.mock import ANY

from api import create_app
from tests.conftest import SEEDS, content
from tests.integration.test_processes import wait_for
from timeline import worker as the_worker
from timeline.application import Timeline
from timeline.readmodel import FileElection, ProcessElection, Projector
from timeline.seeding import seed
from timeline.vocabulary import ActorKind, Kind

ROOT = Path(__file__).resolve().parents[2]
BULK_EVENTS = 20_000

# Another process records a synthetic history through the application's commands, which do not
# project: it leaves a backlog of about BULK_EVENTS events for the serving process to find.
BULK_WRITE = """
import sys
from timeline import worker as the_worker
from timeline.application import Timeline
from timeline.synth import Synthesizer, run
app = Timeline(sys.argv[1])
run(app, Synthesizer(int(sys.argv[2]), 60, 7), 2000)
print(app.audit.count())
app.close()
"""


def test_after_a_bulk_write_by_another_process_a_read_answers_at_once_and_catches_up(
        durable_store):
    # Seeded by another process too: a serving process's projector, once started, would
    # catch up with the bulk write below before the read this test makes.
    seeding = Timeline(durable_store)
    seed(seeding, SEEDS)
    seeding.close()
    flask_app = create_app({"STORE": durable_store, "TESTING": True})
    app = flask_app.extensions["timeline"]
    client = flask_app.test_client()
    before = app.audit.count()
    assert app.read_model.lag() == 0

    written = subprocess.run(
        [sys.executable, "-c", BULK_WRITE, durable_store, str(BULK_EVENTS * 9 // 10)],
        check=False, cwd=ROOT, capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    head = int(written.stdout.strip())
    assert head - before >= BULK_EVENTS * 0.95

    read = client.get("/api/v1/relationships?limit=5")
    assert read.status_code == 200
    # It applied nothing itself: it answered from the view as it stood before the write...
    assert read.headers["Timeline-Position"] == str(before)
    assert int(read.headers["Timeline-Lag"]) == head - before
    # ...and says so in its body as well as in its headers.
    assert read.get_json()["read_model"] == {"position": before, "lag": head - before}
    # The client's own earlier writes are there: min_position up to the view's position
    # answers at once, while a position in the backlog waits (bounded) for the catch-up.
    assert client.get(f"/api/v1/actors?min_position={before}").status_code == 200

    worker = None
    if durable_store.startswith("postgresql"):  # there, the worker is the projector
        worker = subprocess.Popen([sys.executable, "-m", "timeline.cli", "--store",
                                   durable_store, "worker"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def caught_up() -> bool:
            # Then it outlines the pairs the backlog changed (see ReadModel.outline_pairs).
            return (client.get("/api/v1/actors").headers["Timeline-Lag"] == "0"
                    and app.read_model.view.count_marked() == 0)

        wait_for(caught_up, timeout=300, every=0.1)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
    current = client.get(f"/api/v1/relationships?limit=5&min_position={head}")
    assert current.status_code == 200
    assert current.headers["Timeline-Position"] == str(head)
    assert "read_model" not in current.get_json()  # current: the body is as it always was
    assert app.read_model.view.count_versions() >= head - before - 60  # the synth's history
    app.close()


def test_a_small_backlog_is_applied_by_the_read_itself(store):
    """Up to READ_CATCH_UP events, a read applies them first: a write is read back at once."""
    flask_app = create_app({"STORE": store, "TESTING": True, "READ_CATCH_UP": 50})
    app = flask_app.extensions["timeline"]
    seed(app, SEEDS)
    app.register_actor("atlantis", "Atlantis", ActorKind.STATE)  # a command: not projected
    read = flask_app.test_client().get("/api/v1/actors/atlantis")
    assert read.status_code == 200 and read.headers["Timeline-Lag"] == "0"
    assert "read_model" not in read.get_json()
    app.close()


def test_after_a_write_the_projector_outlines_its_pairs(store):
    """The serving process's projector (SQLite) or the worker (PostgreSQL) outlines the
    pairs a write changed; until then a page folds them (see ReadModel.outline_pairs)."""
    flask_app = create_app({"STORE": store, "TESTING": True})
    app = flask_app.extensions["timeline"]
    seed(app, SEEDS)
    app.record_development(content(kind=Kind.SANCTIONS))  # a command: not projected
    client = flask_app.test_client()
    read = client.get("/api/v1/relationships?limit=500")
    assert read.headers["Timeline-Lag"] == "0"  # applied by the read itself
    outline = next(r for r in read.get_json()["relationships"]
                   if r["pair"] == ["china", "russia"])
    assert outline["counts"]["developments"] == 12  # eleven seeded, and this one
    worker = None
    if store.startswith("postgresql"):  # there, the worker is the projector
        worker = subprocess.Popen([sys.executable, "-m", "timeline.cli", "--store", store,
                                   "worker"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: app.read_model.view.count_marked() == 0, timeout=60, every=0.05)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0, worker.stderr.read()
    assert client.get("/api/v1/relationships?limit=500").get_json() == read.get_json()
    app.close()


def test_a_serving_process_outlines_the_pairs_another_process_left_marked(tmp_path):
    """On SQLite: a command's own catch-up marks pairs and leaves them; a serving process
    started later outlines them without waiting for a read (its projector starts at once)."""
    store = f"sqlite:///{tmp_path / 'marked.db'}"
    command = Timeline(store)
    seed(command, SEEDS)
    command.record_development(content(kind=Kind.SANCTIONS))
    command.read_model.catch_up()  # as a query of the CLI does: no outlining
    assert command.read_model.view.count_marked() == 1
    command.close()
    flask_app = create_app({"STORE": store, "TESTING": True})
    app = flask_app.extensions["timeline"]
    wait_for(lambda: app.read_model.view.count_marked() == 0, timeout=60, every=0.05)
    app.close()


def test_the_workers_outliner_outlines_the_pairs_the_runner_changes(store, monkeypatch):
    """Beside the library's runner, which applies one event per transaction, a thread of the
    worker outlines the pairs they changed (timeline.worker.outline)."""
    monkeypatch.setattr(the_worker, "OUTLINE_INTERVAL", 0.02)
    app = Timeline(store)
    seed(app, SEEDS)
    stopping, followed = threading.Event(), threading.Event()
    outliner = threading.Thread(target=the_worker.outline, args=(app, stopping, followed))
    outliner.start()
    try:
        app.record_development(content(kind=Kind.SANCTIONS))
        app.read_model.catch_up()  # as the runner would
        wait_for(lambda: app.read_model.view.count_marked() == 0, timeout=60, every=0.02)
        assert app.read_model.view.select_outlines(("china", "russi"), 1) == [
            (("china", "russia"), ANY)]
    finally:
        followed.set()
        outliner.join(timeout=60)
    assert not outliner.is_alive()
    app.close()


def test_a_projector_far_behind_applies_long_runs_then_short_ones(store, monkeypatch):
    """Far behind (a bulk write by another process, a restart), a background projector
    applies long runs, fewer commits; near the log's end, short ones, so that a write waits
    for a short run at most (see ReadModel.next_run)."""
    app = Timeline(store)
    for number in range(60):  # commands: not projected, a backlog of 60 events
        app.register_actor(f"state-{number}", f"State {number}", ActorKind.STATE)
    model = app.read_model
    monkeypatch.setattr(model, "catch_up_batch", 5)
    monkeypatch.setattr(model, "long_backlog", 30)
    monkeypatch.setattr(model, "long_run", 20)
    assert model.lag() == 60
    runs: list[int] = []
    catch_up = model.catch_up

    def counted(batch: int | None = None, **options: object) -> int:
        runs.append(batch)  # type: ignore[arg-type]
        return catch_up(batch, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(model, "catch_up", counted)
    Projector(model, ProcessElection(f"runs-{store}"))._catch_up()
    assert model.lag() == 0
    # 60 and 40 behind: long runs; from 20 behind, short ones (the last finds none left).
    assert runs == [20, 20, 5, 5, 5, 5, 5]
    assert len(app.list_actors()) == 60
    app.close()


def test_one_projector_per_sqlite_file_is_elected(tmp_path):
    """The processes serving one file (gunicorn's workers) elect one projector; when it lets
    go (or its process dies), another is elected."""
    path = str(tmp_path / "timeline.db-projector")
    first, second = FileElection(path), FileElection(path)
    assert first.try_acquire()
    assert first.try_acquire()  # still its own
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_one_projector_per_memory_store_is_elected():
    first, second = ProcessElection("file:a"), ProcessElection("file:a")
    other = ProcessElection("file:b")
    assert first.try_acquire() and not second.try_acquire() and other.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()
    other.release()
