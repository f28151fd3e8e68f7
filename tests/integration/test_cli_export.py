"""`timeline export -o FILE` replaces FILE only with a complete export: it writes a temporary
file in the same folder and renames it at the end, so a failed export leaves neither a
half-written file nor a stray part file, and an earlier export stays whole."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner
from eventsourcing.persistence import PersistenceError

from tests.conftest import SEEDS
from timeline.application import Timeline
from timeline.audit import AuditLog
from timeline.cli import main
from timeline.seeding import seed


@pytest.fixture
def folder(tmp_path):
    """Where the exports go: a folder of their own, beside the SQLite store's file."""
    exports = tmp_path / "exports"
    exports.mkdir()
    return exports


@pytest.fixture
def seeded(durable_store):
    app = Timeline(durable_store)
    seed(app, SEEDS)
    events = app.audit.count()
    app.close()
    return durable_store, events


def export(store: str, *args: str):
    return CliRunner().invoke(main, ["--store", store, "export", *args])


def test_an_export_replaces_the_file_whole_and_leaves_nothing_beside_it(seeded, folder):
    store, events = seeded
    target = folder / "log.ndjson"
    target.write_text("an earlier export\n")
    target.chmod(0o640)
    result = export(store, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert len(target.read_text().splitlines()) == events
    assert os.listdir(folder) == ["log.ndjson"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file keeps its permissions

    fresh = folder / "new.csv"
    old_umask = os.umask(0o022)
    try:
        assert export(store, "--format", "csv", "-o", str(fresh)).exit_code == 0
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # as any new file, not a private 0600
    assert len(fresh.read_text().splitlines()) == events + 1  # and the header


def test_a_failed_export_leaves_the_earlier_file_as_it_was_and_no_part_file(
    seeded, folder, monkeypatch
):
    store, _ = seeded
    target = folder / "log.ndjson"
    earlier = "an earlier, complete export\n"
    target.write_text(earlier)
    real_export = AuditLog.export

    def fails_halfway(self, out, *args, **kwargs):
        out.write('{"position": 1, "half": ')
        out.flush()
        raise PersistenceError("the connection was lost")

    monkeypatch.setattr(AuditLog, "export", fails_halfway)
    result = export(store, "-o", str(target))
    assert result.exit_code == 1
    assert "Error: the store failed: the connection was lost" in result.output
    assert target.read_text() == earlier
    assert os.listdir(folder) == ["log.ndjson"]

    # A new file is not created at all by an export that fails.
    missing = folder / "never.ndjson"
    assert export(store, "-o", str(missing)).exit_code == 1
    assert not missing.exists() and os.listdir(folder) == ["log.ndjson"]

    monkeypatch.setattr(AuditLog, "export", real_export)
    assert export(store, "-o", str(target)).exit_code == 0
    assert target.read_text() != earlier


def test_an_export_into_a_folder_that_cannot_take_it_is_one_clear_line(seeded, folder):
    store, _ = seeded
    result = export(store, "-o", str(folder / "no-such-folder" / "log.ndjson"))
    assert result.exit_code == 1
    assert "no-such-folder" in result.output and "No such file or directory" in result.output
    assert "Traceback" not in result.output
