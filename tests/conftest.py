"""Shared fixtures: applications built on fresh stores of both kinds, and the seed data.

Every test that takes `store` (or a fixture built on it) runs twice: on SQLite and on
PostgreSQL. PostgreSQL tests get a schema of their own, dropped afterwards; they skip with the
reason when no server answers, unless TIMELINE_REQUIRE_POSTGRES=1 (as in CI), which makes them
fail instead. The server is TIMELINE_TEST_POSTGRES (default: this machine's, database test).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from uuid import uuid4

import pytest

from timeline.application import Timeline
from timeline.domain import Content, PartialDate, Participation, Source
from timeline.seeding import seed
from timeline.vocabulary import ActorKind, Certainty, Kind, Role

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
POSTGRES = os.environ.get("TIMELINE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
STORES = ["sqlite", "postgres"]


@cache
def postgres_unavailable() -> str | None:
    """Why the test server cannot be used, or None when it can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test,postgres]')"
    try:
        psycopg.connect(POSTGRES.split("?")[0], connect_timeout=3).close()
    except psycopg.Error as error:
        return f"no PostgreSQL server at {POSTGRES}: {str(error).strip()}"
    return None


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("TIMELINE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"TIMELINE_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def fresh_store(kind: str, directory: Path | None = None) -> Iterator[str]:
    """The URL of a new, empty store: SQLite in memory (or in a file in `directory`), or a
    PostgreSQL schema of its own that is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'{uuid4().hex}.db'}" if directory else "memory://"
        return
    require_postgres()
    import psycopg

    schema = f"test_{uuid4().hex[:16]}"
    try:
        yield f"{POSTGRES}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=STORES)
def store(request) -> Iterator[str]:
    """A fresh store of each kind (SQLite in memory; PostgreSQL)."""
    with fresh_store(request.param) as url:
        yield url


@pytest.fixture(params=STORES)
def durable_store(request, tmp_path) -> Iterator[str]:
    """A fresh store of each kind that outlives its processes (a SQLite file; PostgreSQL)."""
    with fresh_store(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def app(store) -> Iterator[Timeline]:
    """A Timeline on a fresh store, with a few actors registered."""
    timeline = Timeline(store)
    for slug, name, kind, belongs_to in [
        ("china", "China", ActorKind.STATE, ()),
        ("russia", "Russia", ActorKind.STATE, ()),
        ("ukraine", "Ukraine", ActorKind.STATE, ()),
        ("sergei-lavrov", "Sergei Lavrov", ActorKind.PERSON, ("russia",)),
    ]:
        timeline.register_actor(slug, name, kind, belongs_to=belongs_to)
    yield timeline
    timeline.close()


@pytest.fixture
def seeded(store) -> Iterator[Timeline]:
    """A Timeline on a fresh store, loaded with the seed files."""
    timeline = Timeline(store)
    seed(timeline, SEEDS)
    yield timeline
    timeline.close()


def source(passage: str = "China has begun sending rifle scopes.") -> Source:
    return Source(
        publication="The Telegraph",
        attribution="US officials, speaking on condition of anonymity to Bloomberg News",
        reported_on=PartialDate.parse("2024-04-07", approximate=True),
        passage=passage,
    )


def content(**changes) -> Content:
    """A valid development's content; keyword arguments replace fields."""
    fields = {
        "kind": Kind.MATERIAL_SUPPORT,
        "summary": "China sends rifle scopes to Russia.",
        "actors": (Participation("china", Role.SOURCE), Participation("russia", Role.TARGET)),
        "date": PartialDate.parse("2024-04", approximate=True),
        "certainty": Certainty.REPORTED,
        "sources": (source(),),
        "items": ("rifle scopes",),
    }
    fields.update(changes)
    return Content(**fields)


@contextmanager
def serving(directory: Path, *args: str) -> Iterator[int]:
    """`timeline serve` started in `directory` on a free port, as a user starts it: with the
    `timeline` script of this environment and no TIMELINE_STORE, so the store is the default
    one in that directory. Yields the port once /healthz answers; stops the server after."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "TIMELINE_STORE"}
    script = Path(sys.executable).parent / "timeline"
    server = subprocess.Popen(
        [str(script), "serve", "--port", str(port), *args],
        cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    pytest.fail(f"timeline serve did not start:\n{server.communicate()[0]}")
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()  # gunicorn stops its workers on SIGTERM
        server.communicate(timeout=30)
