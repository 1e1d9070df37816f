"""The hot write-path queries use their indexes on tables of realistic size (issue 11, point 3).

Each test builds 200k rows in a few seconds (INSERT ... SELECT generate_series, the row-audit
trigger off for this transaction only), ANALYZEs, and reads the plan PostgreSQL would run.
The compose test also counts queries: the same for 3 platforms as for 30.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import OPEN_REQUEST_STATES, ReferenceCounter, RemovalRequest, RequestItem
from cases.services.requests import weekly_ready_items_of
from cases.services.upstream import requests_compose_weekly_run
from tests.factories import ContactFactory, ItemFactory
from tests.plans import explain, insert_platforms

pytestmark = pytest.mark.django_db

BIG = 200_000


def _seq_scans(nodes: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
    return [n for n in nodes if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == table]


def _index_names(nodes: list[dict[str, Any]]) -> set[str]:
    return {n["Index Name"] for n in nodes if "Index Name" in n}


@pytest.fixture
def big_history(db: None) -> dict[str, Any]:
    """200k items over 3 years on 2,000 platforms, every one already sent in one of 20k
    closed requests; then a few platforms with fresh approved items ready to go."""
    user_model = get_user_model()
    officer = user_model.objects.create(username="plans-officer")
    supervisor = user_model.objects.create(username="plans-supervisor")
    contact = ContactFactory()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        insert_platforms(cursor, prefix="plans", count=2000)
        cursor.execute(
            """
            INSERT INTO cases_item (url_submitted, url_normalised, host, platform_id, category,
                legal_basis, assessment_note, threat_to_life, status, created_at, review_note,
                created_by_id, reviewed_by_id, reviewed_at, verification)
            SELECT u, u, 'plans.example', p.id, 'propaganda', 'terms_of_service', '', false,
                   'approved', now() - make_interval(mins => g * 8), '', %s, %s, now(), ''
            FROM generate_series(1, %s) g
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM platforms_platform
                  WHERE name LIKE 'plans-%%') p ON p.n = g %% 2000
            CROSS JOIN LATERAL (SELECT 'https://plans.example/' || g AS u) url
            """,
            [officer.pk, supervisor.pk, BIG],
        )
        cursor.execute(
            """
            INSERT INTO cases_removalrequest (reference, platform_id, request_type,
                legal_basis, state, language, threat_to_life, is_emergency, total_pause,
                followup_stage, notes, created_at, updated_at, sent_at, deadline,
                original_deadline, approved_by_id, approved_at, closed_at)
            SELECT 'TKD-2020-' || lpad(g::text, 6, '0'), %s, 'referral', 'terms_of_service',
                   'closed', 'en', false, false, interval '0', 4, '', t, t, t,
                   t + interval '7 days', t + interval '7 days', %s, t, t + interval '8 days'
            FROM generate_series(1, %s) g
            CROSS JOIN LATERAL (SELECT now() - make_interval(hours => g) AS t) at
            """,
            [contact.platform_id, supervisor.pk, BIG // 10],
        )
        # Ten items per request, by position (both were just numbered in order).
        cursor.execute(
            """
            WITH i0 AS (SELECT min(id) AS id FROM cases_item WHERE host = 'plans.example'),
                 r0 AS (SELECT min(id) AS id FROM cases_removalrequest
                        WHERE reference LIKE 'TKD-2020-%%')
            INSERT INTO cases_requestitem (request_id, item_id, outcome, outcome_source,
                outcome_reason)
            SELECT r0.id + (i.id - i0.id) / 10, i.id, 'removed', 'operator_portal', ''
            FROM cases_item i, i0, r0
            WHERE i.host = 'plans.example'
            """
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
        for table in ("platforms_platform", "cases_item", "cases_removalrequest",
                      "cases_requestitem"):  # fmt: skip
            cursor.execute(f"ANALYZE {table}")
    return {"officer": officer, "supervisor": supervisor, "contact": contact}


def test_compose_reads_the_ready_items_by_anti_joins_not_row_by_row(big_history: Any) -> None:
    ready = weekly_ready_items_of([big_history["contact"].platform_id]).values("id")
    nodes = explain(ready)
    assert not [n for n in nodes if n.get("Subplan Name")], "ready items checked row by row"
    # One platform's ready items come through an index on the platform.
    assert not _seq_scans(nodes, "cases_item"), nodes
    assert not _seq_scans(nodes, "cases_requestitem"), nodes


def test_compose_takes_the_same_queries_for_three_platforms_as_for_thirty(db: None) -> None:
    def compose(platforms: int) -> int:
        for _ in range(platforms):
            contact = ContactFactory()
            ItemFactory.create_batch(2, platform=contact.platform, approved=True)
        with CaptureQueriesContext(connection) as queries:
            result = requests_compose_weekly_run()
        assert len(result.drafts) == platforms
        assert all(d.lines.count() == 2 for d in result.drafts)
        return len(queries)

    # The year's reference counter exists after the first compose of the year.
    ReferenceCounter.objects.get_or_create(year=timezone.localdate().year)
    three = compose(3)
    thirty = compose(30)
    assert thirty == three


def test_the_sweeper_finds_due_requests_through_its_partial_index(big_history: Any) -> None:
    due = (
        RemovalRequest.objects.filter(
            state__in=OPEN_REQUEST_STATES,
            next_followup_at__lte=timezone.now(),
            clock_paused_at__isnull=True,
        )
        .order_by("next_followup_at", "id")
        .values("id")[:50]
    )
    nodes = explain(due)
    assert not _seq_scans(nodes, "cases_removalrequest"), nodes
    # Either partial index on open requests serves it; both skip the 20k closed ones.
    assert _index_names(nodes) & {"request_followup_due_idx", "request_deadline_open_idx"}


def test_a_portal_answer_reads_its_lines_through_an_index(big_history: Any) -> None:
    request_id = RemovalRequest.objects.order_by("-id").values_list("pk", flat=True)[0]
    lines = RequestItem.objects.filter(request_id=request_id).select_related("item").order_by("id")
    nodes = explain(lines)
    assert not _seq_scans(nodes, "cases_requestitem"), nodes
    assert not _seq_scans(nodes, "cases_item"), nodes
