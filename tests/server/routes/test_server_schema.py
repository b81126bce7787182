"""schemathesis over /openapi.json, in-process: no input makes a 500 or breaks the documented schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from server_helpers import app_settings
from unrolled.server.app import create_app

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(app_settings()))  # Host: testserver allowed


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    # The config has cross-field bounds JSON Schema cannot state (the product
    # seq_len·batch·hidden·layers·directions, batch_index < batch_size, tbptt ≤ seq_len,
    # loss matching the task): schema-valid bodies may rightly get a 422 naming the field.
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    if response.status_code == 422:
        assert all(e["loc"][0] == "body" for e in response.json()["detail"])
