"""Generated abuse of the open-data API from its own OpenAPI document (schemathesis, in-process
WSGI): every operation, with generated (valid and invalid) parameters, must answer without a
server error and as documented. Bounded examples keep it well under a minute."""

import pytest
import schemathesis
from hardening_helpers import new_project
from helpers import new_cycle
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from portal.extensions import db as _db


@pytest.fixture
def api_schema(app, db):
    # Some rows, so generated ids sometimes hit something real.
    cycle = new_cycle("results")
    new_project(cycle, 1000)
    _db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_answers_every_generated_request_as_documented(case):
    # Parameters that exclude each other (page with cursor) cannot be said in OpenAPI
    # parameters: such schema-valid combinations get the documented 400, not a 2xx.
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500
    assert "public" not in response.headers.get("Cache-Control", "") or response.status_code < 400
