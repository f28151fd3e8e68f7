"""schemathesis over the whole OpenAPI description, in process: no 5xx, and every response
conforms to its documented status, headers and schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from api import create_app
from tests.conftest import SEEDS
from timeline.seeding import seed

app = create_app({"STORE": "memory://", "TESTING": True})
seed(app.extensions["timeline"], SEEDS)
TOKEN = app.extensions["timeline"].access.create_token("schemathesis")

# Every check runs. One is told that 422 is a fair answer to schema-valid data: rules that span
# fields or resources (an actor id must be registered, no 30 February, a planned development
# needs planned_for) cannot be written in JSON Schema, and breaking them is a 422 by design;
# and a well-formed If-Match that names a version other than the current one is a 412.
# A missing If-Match is 428 Precondition Required (RFC 6585), the status made for it.
config = SchemathesisConfig.from_dict({
    "checks": {
        "missing_required_header": {
            "expected-statuses": ["400", "401", "403", "406", "415", "422", "428"],
        },
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429"],
        },
    },
})
schema = schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)


@schema.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"})
