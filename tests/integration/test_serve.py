"""`timeline serve` on a production server, with the seed data shipped in the package."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import SEEDS, serving
from timeline.cli import main
from timeline.seeding import load

ROOT = Path(__file__).resolve().parents[2]


def test_serve_in_an_empty_directory_serves_the_seeded_timeline_with_gunicorn(tmp_path):
    with serving(tmp_path) as port, urllib.request.urlopen(
        f"http://127.0.0.1:{port}/api/v1/relationships/china/russia?as_of=2023-12-31"
    ) as response:
        server = response.headers["Server"]
        pair = json.load(response)
    assert server.startswith("gunicorn")
    assert pair["stance"] == "partnership"
    assert pair["developments"]
    assert (tmp_path / "timeline.db").exists()  # the default store, in the directory it ran in


def test_seed_without_a_path_loads_the_shipped_data_wherever_it_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no seeds/ here
    result = CliRunner().invoke(main, ["--store", "memory://", "seed"])
    assert result.exit_code == 0, result.output
    assert f"{len(load(SEEDS)[1])} developments recorded" in result.output


def test_a_seed_path_that_does_not_exist_is_an_error_for_serve_too(tmp_path):
    result = CliRunner().invoke(
        main, ["--store", "memory://", "serve", "--seeds", str(tmp_path / "nowhere")]
    )
    assert result.exit_code == 1
    assert "no such seed file or directory" in result.output


def test_a_built_package_carries_a_copy_of_the_seeds(tmp_path):
    # What a wheel holds is what setuptools' build_py writes: build it, then import timeline
    # from the build (ahead of the editable install) in a directory with no seeds/.
    build = tmp_path / "build"
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q",
         "build_py", "--build-lib", str(build)],
        cwd=ROOT, check=True, capture_output=True,
    )
    shipped = build / "timeline" / "seeds"
    assert not shipped.is_symlink()
    for source in SEEDS.iterdir():
        assert (shipped / source.name).read_bytes() == source.read_bytes()
    probe = (
        "import timeline, timeline.seeding as s\n"
        "with s.bundled() as path: print(timeline.__file__, len(s.load(path)[1]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env={"PYTHONPATH": str(build)},
        capture_output=True, text=True, check=True,
    )
    module, developments = result.stdout.split()
    assert Path(module).is_relative_to(build)
    assert int(developments) == len(load(SEEDS)[1])


def test_a_server_worker_sets_what_it_loaded_aside_from_the_collector(tmp_path):
    """The app a worker loads lives as long as the worker: the cyclic collector leaves it out
    of its collections of requests' garbage (api.server.set_aside), whether `timeline serve`
    or gunicorn run by hand with `-k api.server.StreamingWorker` started it."""
    import gc

    from api.server import Server, StreamingWorker

    worker = object.__new__(StreamingWorker)  # as gunicorn's arbiter made it, minus the fork
    worker.app = Server(f"sqlite:///{tmp_path / 'timeline.db'}", "127.0.0.1", 0, 1)
    gc.unfreeze()
    try:
        worker.load_wsgi()
        assert gc.get_freeze_count() > 0
        assert worker.wsgi.extensions["timeline"] is not None
    finally:
        gc.unfreeze()
