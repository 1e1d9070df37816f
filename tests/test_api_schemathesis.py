"""Schemathesis against the live schema (issue 12, point 5): every operation, examples
generated from the schema the running app serves, through the whole Django stack (WSGI,
middleware, real PostgreSQL). Fails on any server error and on any response whose status,
headers or body the schema does not describe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from api.services import api_token_issue
from config.wsgi import application
from core.roles import Role, ensure_role_groups
from tests.factories import (
    ItemFactory,
    OutcomeRecordFactory,
    PlatformDomainFactory,
    PlatformFactory,
    RequestItemFactory,
    SentRequestFactory,
    UserFactory,
)

# Committed for real, as in production: the services' durable transactions (sending a
# request) refuse to run inside a test's wrapping transaction.
pytestmark = pytest.mark.django_db(transaction=True)

AUTH: dict[str, str] = {}
EXAMPLES = 40  # per operation
STATEFUL_SCENARIOS = 30
# Every other check runs (server errors, status codes, content types, headers, bodies
# against the schema, negative data rejected, auth enforced). Not "a schema-valid request
# is accepted": rules the schema cannot state (a hold's review date not in the past, a
# rejection's note, a cursor only the API hands out) make valid-looking input a 400.


@pytest.fixture
def api_schema(transactional_db: None, settings: Any) -> Iterator[Any]:
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000  # the fuzzer calls faster than any tool
    groups = ensure_role_groups()
    supervisor = UserFactory(username="fuzz", groups=[groups[Role.SUPERVISOR]])
    platform = PlatformFactory(name="Fuzzed")
    PlatformDomainFactory(platform=platform, domain="fuzzed.example")
    for _ in range(3):
        OutcomeRecordFactory(line=RequestItemFactory(request=SentRequestFactory(platform=platform)))
    ItemFactory.create_batch(3, platform=platform)
    secret = api_token_issue(user=supervisor, name="fuzz", by=supervisor).secret
    AUTH["Authorization"] = f"Bearer {secret}"
    # As Django's test client does: the calls run inside this test's transaction, which
    # closing the connection after each request would end.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=AUTH)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_api_answers_every_generated_call_as_its_schema_says(api_schema: Any) -> None:
    failures: dict[str, str] = {}
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            run_examples(operation)
        except (Exception, BaseExceptionGroup) as failure:  # every operation runs and reports
            failures[operation.label] = f"{type(failure).__name__}: {failure}"[:3000]
    assert operations >= 25
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())


def run_examples(operation: Any) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        # The same examples every run: CI passes or fails on the code, never on luck.
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])

    call()


def test_linked_calls_hold_to_the_schema_too(api_schema: Any) -> None:
    """Stateful: schemathesis chains calls through the ids the answers give (a list's ids
    into the detail and action operations), where random ids would mostly find 404s.
    Without any link to follow, schemathesis raises NoLinksFound and the test fails."""
    machine = api_schema.as_state_machine()

    class Linked(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": AUTH}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            # ignored_auth runs in the test above; here the token rides along with whatever
            # credentials a step generates, so "invalid auth accepted" would be our token.
            case.validate_response(
                response, excluded_checks=[positive_data_acceptance, ignored_auth]
            )

    Linked.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=6,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
