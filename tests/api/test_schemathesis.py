"""schemathesis over the whole OpenAPI description, in process and on both stores: no 5xx,
and every response conforms to its documented status, headers and schema."""

from __future__ import annotations

import atexit
from contextlib import ExitStack

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from api import create_app
from tests.conftest import SEEDS, fresh_store, postgres_unavailable
from timeline.seeding import seed

# Every check runs. Two are told what else is a fair answer: 422 to schema-valid data, since
# rules that span fields or resources (an actor id must be registered, no 30 February, a
# planned development needs planned_for) cannot be written in JSON Schema; 412 to a well-formed
# If-Match naming a version other than the current one; and 428 Precondition Required
# (RFC 6585) to a missing If-Match, the status made for it.
CONFIG = SchemathesisConfig.from_dict({
    "checks": {
        "missing_required_header": {
            "expected-statuses": ["400", "401", "403", "406", "415", "422", "428"],
        },
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429"],
        },
    },
})
SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
# The live streams never end on their own, and a call in process reads a body to its end:
# tests/integration/test_feed.py tests them against a real server instead.
STREAMS = r"/stream$"
_stores = ExitStack()
atexit.register(_stores.close)  # drops the PostgreSQL schema when the run ends


def seeded_api(kind: str):
    """The API on a seeded store of that kind, with a write token; None if unavailable."""
    if kind == "postgres" and postgres_unavailable():
        return None, None
    app = create_app({"STORE": _stores.enter_context(fresh_store(kind)), "TESTING": True})
    timeline = app.extensions["timeline"]
    seed(timeline, SEEDS)
    _stores.callback(timeline.close)
    return app, timeline.access.create_token("schemathesis")


sqlite_app, sqlite_token = seeded_api("sqlite")
sqlite_schema = schemathesis.openapi.from_wsgi(
    "/openapi.json", sqlite_app, config=CONFIG
).exclude(path_regex=STREAMS)


@sqlite_schema.parametrize()
@SETTINGS
def test_api_on_sqlite(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {sqlite_token}"})


postgres_app, postgres_token = seeded_api("postgres")
postgres_schema = schemathesis.openapi.from_wsgi(
    "/openapi.json", postgres_app or sqlite_app, config=CONFIG
).exclude(path_regex=STREAMS)


@postgres_schema.parametrize()
@SETTINGS
def test_api_on_postgres(case):
    if postgres_app is None:
        from tests.conftest import require_postgres

        require_postgres()
        pytest.skip("no PostgreSQL server")
    case.call_and_validate(headers={"Authorization": f"Bearer {postgres_token}"})
