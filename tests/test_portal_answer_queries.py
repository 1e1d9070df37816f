"""A portal answer costs a constant number of queries, however many URLs (issue 11, P4)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cases.models import OutcomeRecord, RequestItem, RequestState
from core.models import AuditEvent
from tests.test_portal import answer, issue, open_request, page_url

pytestmark = pytest.mark.django_db

# The whole POST: link lookup, the lines' ids, the request lock, the link's lock, check
# and last use in one UPDATE, one read of the lines (locked), receipt sequence, the
# submission (no savepoint of its own), one INSERT of outcome records, one UPDATE of the
# lines, one INSERT of audit events, the request's state change and its audit event, the
# submission's audit event, and the savepoints around it. 22 were allowed before the
# link's lock, its contact and its last use became one statement (issue 11, P4).
PORTAL_ANSWER_MAX_QUERIES = 17


def _post_answers(client: Client, urls: int, *, all_removed: bool = False) -> int:
    rr, contact, lines = open_request(urls=urls)
    _, token = issue(rr, contact)
    data: dict[str, str] = {}
    if all_removed:
        data["all_removed"] = "1"
    else:
        for line in lines:
            data.update(answer(line, "removed"))
    with CaptureQueriesContext(connection) as queries:
        response = client.post(page_url(token), data)
    assert response.status_code == 302, response.content[:500]
    rr.refresh_from_db()
    assert rr.state == RequestState.ANSWERED
    assert OutcomeRecord.objects.filter(line__request=rr).count() == urls
    assert set(RequestItem.objects.filter(request=rr).values_list("outcome", flat=True)) == {
        "removed"
    }
    events = AuditEvent.objects.filter(target_id=str(rr.pk), action="request_item.outcome_recorded")
    assert events.count() == urls
    return len(queries)


@pytest.mark.parametrize("all_removed", [False, True])
def test_a_twelve_line_answer_takes_as_many_queries_as_a_two_line_one(
    client: Client, all_removed: bool
) -> None:
    two = _post_answers(client, 2, all_removed=all_removed)
    twelve = _post_answers(client, 12, all_removed=all_removed)
    assert twelve == two
    assert twelve <= PORTAL_ANSWER_MAX_QUERIES


def test_a_twelve_line_answer_stays_within_the_query_budget(
    client: Client, django_assert_max_num_queries: object
) -> None:
    rr, contact, lines = open_request(urls=12)
    _, token = issue(rr, contact)
    data: dict[str, str] = {}
    for line in lines:
        data.update(answer(line, "removed"))
    with django_assert_max_num_queries(PORTAL_ANSWER_MAX_QUERIES):  # type: ignore[operator]
        response = client.post(page_url(token), data)
    assert response.status_code == 302
