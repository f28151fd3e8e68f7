"""Long commands show their progress: the core reports its counts to a callback, the command
line draws them as a bar on a terminal, prints only its summary through a pipe, and nothing
under --quiet."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import tempfile
import termios
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import SEEDS
from tests.integration.test_audit import Raw
from timeline import progress as steps
from timeline.application import Timeline
from timeline.cli import Bars, main
from timeline.progress import counted
from timeline.seeding import load, seed
from timeline.synth import Synthesizer, run
from timeline.vocabulary import ActorKind

ROOT = Path(__file__).resolve().parents[2]


class Heard:
    """A progress callback that keeps every report."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, int, int | None]] = []

    def __call__(self, step: str, done: int, total: int | None) -> None:
        self.reports.append((step, done, total))

    def of(self, step: str) -> list[tuple[int, int | None]]:
        return [(done, total) for s, done, total in self.reports if s == step]


def assert_counts_up_to(reports: list[tuple[int, int | None]], total: int) -> None:
    """From 0 to the total, never backwards, ending at the total."""
    assert reports[0] == (0, total)
    assert reports[-1] == (total, total)
    done = [d for d, _ in reports]
    assert done == sorted(done)


# --- the core's counts -----------------------------------------------------------------------


def test_counted_reports_every_thousand_and_the_last():
    heard = Heard()
    assert list(counted(range(2500), heard, "things", 2500)) == list(range(2500))
    assert heard.of("things") == [(0, 2500), (1000, 2500), (2000, 2500), (2500, 2500)]
    items = [1, 2]
    assert counted(items, None, "things", 2) is items  # no callback: the items themselves


def test_rebuild_and_catch_up_report_the_events_they_project(store):
    app = Timeline(store)
    seed(app, SEEDS)
    events = app.audit.count()
    heard = Heard()
    assert app.read_model.rebuild(progress=heard) == events
    assert_counts_up_to(heard.of(steps.PROJECTED), events)

    app.register_actor("new-state", "New State", ActorKind.STATE, recorded_by="test")
    heard = Heard()
    assert app.read_model.catch_up(progress=heard) == 1
    assert heard.of(steps.PROJECTED) == [(0, 1), (1, 1)]
    heard = Heard()
    assert app.read_model.catch_up(progress=heard) == 0
    assert heard.reports == []  # nothing to do: no bar at all
    app.close()


def test_verify_export_and_import_report_the_events_they_go_through(store, tmp_path):
    app = Timeline(store)
    seed(app, SEEDS)
    events = app.audit.count()
    heard = Heard()
    assert app.audit.verify(progress=heard).ok
    assert_counts_up_to(heard.of(steps.VERIFIED), events)

    out = io.StringIO()
    heard = Heard()
    assert app.audit.export(out, after=10, progress=heard) == events - 10
    assert_counts_up_to(heard.of(steps.EXPORTED), events - 10)

    exported = io.StringIO()
    app.audit.export(exported)
    target = Timeline(f"sqlite:///{tmp_path / 'imported.db'}")
    heard = Heard()
    assert target.audit.import_log(io.StringIO(exported.getvalue()), progress=heard) == events
    # A file's size in events is not known before it is read.
    assert heard.of(steps.IMPORTED) == [(0, None), (events, None)]
    target.close()
    app.close()


def test_seeding_reports_each_entry_then_the_projection(store):
    app = Timeline(store)
    actors, developments = load(SEEDS)
    heard = Heard()
    seed(app, SEEDS, heard)
    assert_counts_up_to(heard.of(steps.SEEDED), len(actors) + len(developments))
    # Then the read model catches up with what the entries' own reads have not projected.
    projected = heard.of(steps.PROJECTED)
    assert 0 < projected[0][1] <= app.audit.count()
    assert_counts_up_to(projected, projected[0][1])
    # Then each pair is outlined (see ReadModel.outline_pairs).
    outlined = heard.of(steps.OUTLINED)
    assert_counts_up_to(outlined, len(app.list_relationships()))
    # On PostgreSQL, then the view's tables, if the load was most of the view (see
    # test_view_footprint).
    reindexed = heard.of(steps.REINDEXED)
    assert [s for s, _, _ in heard.reports] == (
        [steps.SEEDED] * len(heard.of(steps.SEEDED)) + [steps.PROJECTED] * len(projected)
        + [steps.OUTLINED] * len(outlined) + [steps.REINDEXED] * len(reindexed))
    app.close()


def test_synth_reports_actors_then_developments(store):
    app = Timeline(store)
    heard = Heard()
    report = run(app, Synthesizer(250, 12, seed=3), batch=100, progress=heard)
    assert_counts_up_to(heard.of(steps.REGISTERED), 12)
    assert heard.of(steps.RECORDED) == [(0, 250), (100, 250), (200, 250), (250, 250)]
    assert report.developments == 250
    app.close()


# --- the bar ---------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_shows_done_of_total_the_rate_and_the_time_left(monkeypatch):
    """With a clock under the test's control: 1000 events a second, 4000 to go at 2000."""
    clock = [1000.0]
    monkeypatch.setattr("time.time", lambda: clock[0])
    screen = Terminal()
    bars = Bars(screen)
    bars(steps.PROJECTED, 0, 6000)
    for done in (1000, 2000):
        clock[0] += 1.0
        bars(steps.PROJECTED, done, 6000)
    line = screen.getvalue().split("\r")[-1]
    assert "events projected" in line and "2000/6000" in line
    assert "1,000/s" in line and "ETA 00:00:04" in line
    bars.close()
    assert screen.getvalue().endswith("\n")  # what follows starts on a line of its own


def test_a_new_step_ends_the_bar_before_and_a_total_can_grow():
    screen = Terminal()
    bars = Bars(screen)
    bars(steps.SEEDED, 0, 2)
    bars(steps.SEEDED, 2, 2)
    bars(steps.PROJECTED, 0, 5)
    bars(steps.PROJECTED, 7, 5)  # events recorded meanwhile are applied too
    bars.close()
    text = screen.getvalue()
    assert "entries seeded" in text and "2/2" in text
    assert text.index("2/2") < text.index("\n") < text.index("events projected")
    assert "7/7" in text


# --- the command line, as a terminal and as a pipe -------------------------------------------


def command(store: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "timeline.cli", "--store", store, *args]


def environment() -> dict[str, str]:
    # The terminal's own width, not one a test runner exported.
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}


def on_terminal(args: list[str], stdout_too: bool = True) -> tuple[str, str, int]:
    """Run a command with standard error (and, by default, standard output) on a pseudo-
    terminal of 100 columns, as in a shell: (what the terminal showed, stdout if it was not
    the terminal, exit status)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    # Standard output, when not the terminal, goes to a file: a pipe nobody reads while the
    # terminal is read would fill and stop the command.
    with tempfile.TemporaryFile() as stdout:
        process = subprocess.Popen(
            args, cwd=ROOT, env=environment(), stdin=slave, stderr=slave,
            stdout=slave if stdout_too else stdout,
        )
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last process holding the terminal has ended
                break
            if not chunk:
                break
            shown += chunk
        os.close(master)
        status = process.wait(timeout=120)
        stdout.seek(0)
        return shown.decode(), stdout.read().decode(), status


def through_pipes(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=environment(), capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def seeded(durable_store) -> tuple[str, int]:
    app = Timeline(durable_store)
    seed(app, SEEDS)
    events = app.audit.count()
    app.close()
    return durable_store, events


def test_project_rebuild_shows_a_bar_on_a_terminal_and_only_the_summary_through_a_pipe(seeded):
    store, events = seeded
    summary = f"Rebuilt the read model from {events} events; lag now 0."

    shown, _, status = on_terminal(command(store, "project", "--rebuild"))
    assert status == 0, shown
    bar, _, after = shown.rpartition("\x1b[?25h")  # click shows the cursor again at the end
    assert "events projected" in bar and f"{events}/{events}" in bar and "/s" in bar
    assert after.strip() == summary

    piped = through_pipes(command(store, "project", "--rebuild"))
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == summary + "\n"
    assert piped.stderr == ""

    shown, _, status = on_terminal(command(store, "project", "--rebuild", "--quiet"))
    assert (status, shown) == (0, "")
    piped = through_pipes(command(store, "project", "--rebuild", "-q"))
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, "", "")


def test_every_long_command_shows_its_steps_on_a_terminal(tmp_path):
    store = f"sqlite:///{tmp_path / 'long.db'}"
    exported = tmp_path / "log.ndjson"
    for args, shows in [
        (["seed", str(SEEDS)], [steps.SEEDED, steps.PROJECTED]),
        (["synth", "--developments", "300", "--actors", "10", "--batch", "100"],
         [steps.REGISTERED, steps.RECORDED, "300/300"]),
        (["verify"], [steps.VERIFIED]),
        (["export", "-o", str(exported)], [steps.EXPORTED]),
        (["ingest", "gdelt", str(ROOT / "samples" / "gdelt")],
         [steps.RECORDED, "7/7", steps.PROJECTED]),
    ]:
        shown, _, status = on_terminal(command(store, *args))
        assert status == 0, shown
        for expected in shows:
            assert expected in shown, (args, shown)
    events = len(exported.read_text().splitlines())
    shown, _, status = on_terminal(
        command(f"sqlite:///{tmp_path / 'imported.db'}", "import", str(exported)))
    assert status == 0, shown
    # The total is counted from the file's lines; then the read model catches up.
    start = shown.index(steps.IMPORTED)
    assert f"{events}/{events}" in shown[start:shown.index("\n", start)]
    assert steps.PROJECTED in shown


def test_exported_data_on_stdout_is_never_mixed_with_progress(seeded):
    store, events = seeded
    shown, piped, status = on_terminal(command(store, "export"), stdout_too=False)
    assert status == 0, shown
    rows = [json.loads(line) for line in piped.splitlines()]
    assert [row["position"] for row in rows] == list(range(1, events + 1))
    assert steps.EXPORTED in shown  # the bar went to the terminal, on standard error

    # When the data itself is on the terminal, a bar would be drawn over it: none.
    shown, _, status = on_terminal(command(store, "export"))
    assert status == 0
    assert steps.EXPORTED not in shown and shown.count('"position"') == events


def test_quiet_verify_says_nothing_of_an_intact_chain_and_still_reports_a_broken_one(seeded):
    store, _ = seeded
    runner = CliRunner()
    intact = runner.invoke(main, ["--store", store, "verify", "--quiet"])
    assert (intact.exit_code, intact.output) == (0, "")
    Raw(store).attack("UPDATE {events} SET topic = 'x' WHERE {position} = 9")
    broken = runner.invoke(main, ["--store", store, "verify", "-q"])
    assert broken.exit_code == 1 and "NOT INTACT at position 9" in broken.output
