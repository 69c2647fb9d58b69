"""Schemathesis against /api/v1/openapi.json, on SQLite and PostgreSQL: every operation of the document, called
through the WSGI app with an official's token and with data generated from the document (positive and negative),
answers no 5xx and only what the document declares: its status codes, content types and response schemas.

Bounded: a few examples per operation (the document has a dozen or so), no shrinking, a fixed seed for the
first pass so a failure shows again the same way.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from engine.clock import FrozenClock
from tests.workspace import make_workspace_app, new_case
from webapp.extensions import db
from workflows.tokens import TokenService

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 8


@pytest.fixture
def api(db_url, tmp_path):
    """The demo app with two cases, and an operator's token."""
    app = make_workspace_app(db_url, FrozenClock(), FILES_DIR=str(tmp_path / "files"), PROPAGATE_EXCEPTIONS=False)
    new_case(app)
    new_case(app, triage=None)
    with app.app_context():
        _info, token = TokenService(db.session).create("dtv1", "schemathesis")
    yield app, {"Authorization": f"Bearer {token}"}
    with app.app_context():
        db.engine.dispose()


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    return operations


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_its_document_says(api, mode):
    app, auth = api
    failures: dict[str, str] = {}
    for operation in _operations(app):

        @seed(1022)
        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case):
            case.call_and_validate(headers=auth, checks=CHECKS)

        try:
            call()
        except Exception as exc:  # noqa: BLE001 - every operation is tried; all failures are reported together
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
