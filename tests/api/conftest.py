"""HTTP fixtures: an app from the factory on a seeded private store, and a write token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from api import create_app
from tests.conftest import SEEDS
from timeline.application import Timeline
from timeline.seeding import seed


@pytest.fixture
def app(store):
    flask_app = create_app({"STORE": store, "TESTING": True})
    seed(flask_app.extensions["timeline"], SEEDS)
    yield flask_app
    flask_app.extensions["timeline"].close()


@pytest.fixture
def timeline(app) -> Timeline:
    return app.extensions["timeline"]


@pytest.fixture
def client(app) -> Iterator[FlaskClient]:
    return app.test_client()


@pytest.fixture
def auth(timeline) -> dict[str, str]:
    return {"Authorization": f"Bearer {timeline.access.create_token('analyst-desk')}"}
