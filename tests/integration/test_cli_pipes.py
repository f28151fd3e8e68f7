"""The command line as a shell runs it: usage errors exit 2 (click's convention), and output
cut short by its reader (`timeline relationships | head -1`) ends quietly with status 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import SEEDS, fresh_store
from timeline.application import Timeline
from timeline.cli import main
from timeline.seeding import seed

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [
    ["actors", "--no-such-option"],
    ["no-such-command"],
    ["replay"],  # --until is required
    ["developments", "--kind", "invasion"],
    ["relationships", "--as-of", "yesterday"],
    ["replay", "--until", "2024-04-30", "--pair", "china"],
    ["verify", "--head", "not-a-head"],
])
def test_usage_errors_exit_2_with_the_usage(args):
    result = CliRunner().invoke(main, ["--store", "memory://", *args])
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output and "Error:" in result.output
    assert "Traceback" not in result.output


def run_with_stdout_closed(store: str, *args: str) -> subprocess.CompletedProcess:
    """Run a command whose stdout is a pipe nobody reads any more, as `| head -1` leaves it
    once it has its line: the first write meets a closed pipe, every time."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [sys.executable, "-m", "timeline.cli", "--store", store, *args],
            cwd=ROOT, stdout=writer, stderr=subprocess.PIPE, text=True, timeout=120,
            check=False,
        )
    finally:
        os.close(writer)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_closed_pipe_ends_every_printing_command_quietly_with_status_0(kind, tmp_path):
    with fresh_store(kind, tmp_path) as url, fresh_store("sqlite", tmp_path) as empty:
        app = Timeline(url)
        seed(app, SEEDS)
        app.access.create_token("to-revoke")
        app.close()
        exported = tmp_path / "log.ndjson"
        assert subprocess.run(
            [sys.executable, "-m", "timeline.cli", "--store", url, "export", "-o",
             str(exported)], cwd=ROOT, capture_output=True, timeout=120, check=False,
        ).returncode == 0
        for store, args in [
            (url, ["seed", str(SEEDS)]),
            (url, ["developments"]),
            (url, ["developments", "--json"]),
            (url, ["actors"]),
            (url, ["relationships"]),
            (url, ["relationships", "--json"]),
            (url, ["replay", "--until", "2024-12-31"]),
            (url, ["project"]),
            (url, ["verify"]),
            (url, ["export"]),
            (url, ["token", "create", "--name", "piped"]),
            (url, ["token", "list"]),
            (url, ["token", "revoke", "to-revoke"]),
            (url, ["migrate"]),
            (url, ["--version"]),
            (url, ["--help"]),
            (empty, ["import", str(exported)]),
        ]:
            result = run_with_stdout_closed(store, *args)
            assert (result.returncode, result.stderr.strip()) == (0, ""), args
