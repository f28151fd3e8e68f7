"""Browser fixtures: the seeded service on a real port, and the system Chromium.

One `timeline serve` per module, one browser per session. Playwright cannot download its own
browsers here, so the tests drive Debian's `chromium` package. Without it they skip with the
reason, unless TIMELINE_REQUIRE_BROWSER=1 (as in CI), which makes them fail instead, as
TIMELINE_REQUIRE_POSTGRES does for PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import SEEDS, fresh_store
from tests.integration.test_serving import ROOT, answering, free_port
from timeline.application import Timeline
from timeline.cli import main
from timeline.seeding import seed

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots, figures (gitignored)


def require_chromium() -> str:
    """The path of the system Chromium; else a skip, or a failure where one is required."""
    path = shutil.which("chromium")
    if path:
        return path
    reason = "no chromium on PATH (apt-get install -y chromium)"
    if os.environ.get("TIMELINE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"TIMELINE_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments, with the system Chromium (no sandbox: CI runs
    as root)."""
    return {**browser_type_launch_args, "executable_path": require_chromium(),
            "args": ["--no-sandbox"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@dataclass
class Service:
    """The running service: its address, and a write token for recording through the API."""

    url: str
    token: str

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.load(response)

    def post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


# Module-scoped: one server for the page's tests, stopped before the rest of the suite runs.
@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`timeline serve` (gunicorn, one worker) on a seeded SQLite file, on a free port."""
    yield from serve(f"sqlite:///{tmp_path_factory.mktemp('page') / 'timeline.db'}")


@pytest.fixture(scope="module")
def postgres_service() -> Iterator[Service]:
    """The same on PostgreSQL (a schema of its own), where the feed follows NOTIFY and a
    worker projects the read model."""
    with fresh_store("postgres") as store:
        yield from serve(store)


@pytest.fixture(scope="module")
def ingested_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The seeded service with samples/gdelt ingested beside the seed data, as
    `timeline ingest gdelt` does it."""
    store = f"sqlite:///{tmp_path_factory.mktemp('ingested') / 'timeline.db'}"
    yield from serve(store, gdelt=sorted((ROOT / "samples" / "gdelt").glob("*.export.CSV")))


@pytest.fixture(scope="module")
def large_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The seeded service with more developments than the page shows at once (SHOWN, 500):
    600 synthetic ones among 12 actors, as `timeline synth` records them."""
    store = f"sqlite:///{tmp_path_factory.mktemp('large') / 'timeline.db'}"
    yield from serve(store, synth=["--developments", "600", "--actors", "12", "--seed", "3"])


def serve(store: str, gdelt: list[Path] | None = None, synth: list[str] | None = None
          ) -> Iterator[Service]:
    app = Timeline(store)
    seed(app, SEEDS)
    token = app.access.create_token("browser tests")
    app.close()
    commands = ([["ingest", "gdelt", "--quiet", *map(str, gdelt)]] if gdelt else []) + (
        [["synth", "--quiet", *synth]] if synth else [])
    for command in commands:
        result = CliRunner().invoke(main, ["--store", store, *command])
        assert result.exit_code == 0, result.output
    port = free_port()
    # A closed page's stream is noticed at the next keep-alive: send one each second.
    env = {**os.environ, "TIMELINE_STREAM_HEARTBEAT": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "timeline.cli", "--store", store, "serve", "--port", str(port),
         "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        answering(port, server)
        yield Service(f"http://127.0.0.1:{port}", token)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def console(page: Any) -> list[str]:
    """What the page reports as errors: console errors and uncaught exceptions."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
