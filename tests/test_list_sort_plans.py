"""The item and request list sorts read an index at any depth (issue 11, P1; decision 0027).

200k items on 2,000 platforms (one in ten with no platform) and 50k requests (one in five a
draft with no sent time or deadline), built with INSERT ... SELECT generate_series and the
row-audit trigger off for this transaction only, then ANALYZEd. For each sort the page query
the pager really runs (first page, half-way, and 95 % down where the NULL rows are) is
EXPLAINed: no Seq Scan of the big table and no Sort, so the cost does not grow with depth.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, QuerySet
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from cases.models import RemovalRequest
from cases.selectors.items import ITEM_SORTS, item_list_qs
from cases.selectors.requests import REQUEST_SORTS, request_list_queryset
from core.pagination import _encode, _key, keyset_page
from tests.plans import explain, insert_platforms

pytestmark = pytest.mark.django_db

ITEMS = 200_000
REQUESTS = 50_000


@pytest.fixture
def big_lists(db: None) -> None:
    officer = get_user_model().objects.create(username="sort-plans-officer")
    supervisor = get_user_model().objects.create(username="sort-plans-supervisor")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        insert_platforms(cursor, prefix="sorts", count=2000)
        cursor.execute(
            """
            INSERT INTO cases_item (url_submitted, url_normalised, host, platform_id, category,
                legal_basis, assessment_note, threat_to_life, status, created_at, review_note,
                created_by_id, verification)
            SELECT u, u, 'sorts.example', CASE WHEN g %% 10 = 0 THEN NULL ELSE p.id END,
                   'propaganda', 'terms_of_service', '', false, 'pending_approval',
                   now() - make_interval(mins => g), '', %s, ''
            FROM generate_series(1, %s) g
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM platforms_platform
                  WHERE name LIKE 'sorts-%%') p ON p.n = (g * 7919) %% 2000
            CROSS JOIN LATERAL (SELECT 'https://sorts.example/' || g AS u) url
            """,
            [officer.pk, ITEMS],
        )
        cursor.execute(
            """
            INSERT INTO cases_removalrequest (reference, platform_id, request_type,
                legal_basis, state, language, threat_to_life, is_emergency, total_pause,
                followup_stage, notes, created_at, updated_at, sent_at, deadline,
                original_deadline, approved_by_id, approved_at)
            SELECT 'TKD-2019-' || lpad(g::text, 6, '0'), p.id, 'referral', 'terms_of_service',
                   CASE WHEN draft THEN 'draft' ELSE 'sent' END, 'en', false, false,
                   interval '0', 0, '', t, t,
                   CASE WHEN draft THEN NULL ELSE t END,
                   CASE WHEN draft THEN NULL ELSE t + make_interval(days => 1 + g %% 9) END,
                   CASE WHEN draft THEN NULL ELSE t + make_interval(days => 1 + g %% 9) END,
                   CASE WHEN draft THEN NULL ELSE %s END, CASE WHEN draft THEN NULL ELSE t END
            FROM generate_series(1, %s) g
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM platforms_platform
                  WHERE name LIKE 'sorts-%%') p ON p.n = g %% 2000
            CROSS JOIN LATERAL (SELECT now() - make_interval(mins => g) AS t,
                                       g %% 5 = 0 AS draft) at
            """,
            [supervisor.pk, REQUESTS],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
        for table in ("platforms_platform", "cases_item", "cases_removalrequest"):
            cursor.execute(f"ANALYZE {table}")


def _page_queries(queryset: QuerySet[Any], ordering: tuple[str, ...], depth: float) -> list[str]:
    """The SQL the pager runs for the page that starts ``depth`` of the way down."""
    params = QueryDict(mutable=True)
    if depth:
        total = queryset.count()
        order = [
            F(n.lstrip("-")).desc(nulls_last=True) if n[0] == "-" else F(n).asc(nulls_last=True)
            for n in ordering
        ]
        row = queryset.order_by(*order)[int(total * depth)]
        params["after"] = _encode(row, [_key(queryset, name) for name in ordering])
    with CaptureQueriesContext(connection) as ctx:
        page = keyset_page(queryset, ordering=ordering, params=params)
    assert len(page.rows) == 50
    return [q["sql"] for q in ctx.captured_queries]


def _assert_index_backed(sqls: list[str], table: str, index: str, *, deep: bool) -> None:
    """The page reads ``table`` by an index scan only, never sorts; its first (non-NULL)
    part walks ``index``. A NULL part may walk the primary key instead (the planner's
    choice while NULLs are common): that is also a range from the cursor, not a sort."""
    assert 1 <= len(sqls) <= 2
    for number, sql in enumerate(sqls):
        nodes = explain(sql=sql)
        scans = [n for n in nodes if n.get("Relation Name") == table and "Scan" in n["Node Type"]]
        assert scans, nodes
        assert all(n["Node Type"] != "Seq Scan" for n in scans), nodes
        assert not [n for n in nodes if "Sort" in n["Node Type"]], nodes
        if number == 0 and "IS NULL" not in sql:
            walked = [n for n in scans if n.get("Index Name") == index]
            assert walked, nodes
            if deep:
                # The scan starts at the cursor (an Index Cond), not filters from the top.
                assert "ROW(" in sql and all("Index Cond" in n for n in walked), walked


# First page, half-way, and 95 % down (the NULL rows: no platform, not sent, no deadline).
DEPTHS = (0, 0.5, 0.95)


def test_the_item_list_by_platform_walks_its_index(big_lists: None) -> None:
    for depth in DEPTHS:
        sqls = _page_queries(item_list_qs(), ITEM_SORTS["platform"], depth)
        _assert_index_backed(sqls, "cases_item", "item_platform_id_idx", deep=bool(depth))


@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("sent", "request_sent_id_idx"),
        ("deadline", "request_deadline_id_idx"),
        ("platform", "request_platform_id_idx"),
    ],
)
def test_the_request_list_sorts_walk_their_index(big_lists: None, sort: str, index: str) -> None:
    for depth in DEPTHS:
        sqls = _page_queries(request_list_queryset(), REQUEST_SORTS[sort], depth)
        _assert_index_backed(sqls, "cases_removalrequest", index, deep=bool(depth))


def test_a_page_of_a_requests_lines_reads_its_index(big_lists: None) -> None:
    """The request page's lines, 100 at a time in id order, through (request, id): walking
    the primary key and filtering on the request took 316 ms on the largest request."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            """
            WITH r AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
                       FROM cases_removalrequest WHERE reference LIKE 'TKD-2019-%%')
            INSERT INTO cases_requestitem (request_id, item_id, outcome, outcome_source,
                outcome_reason)
            SELECT r.id, i.id, 'pending', '', ''
            FROM cases_item i JOIN r ON r.n = i.id %% %s
            WHERE i.host = 'sorts.example'
            """,
            [REQUESTS],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
        cursor.execute("ANALYZE cases_requestitem")
    request = RemovalRequest.objects.order_by("id").last()
    assert request is not None
    lines = request.lines.select_related("item")
    params = QueryDict(mutable=True)
    with CaptureQueriesContext(connection) as ctx:
        first = keyset_page(lines, ordering=("id",), params=params, page_size=2)
    params["after"] = first.next_cursor or ""
    with CaptureQueriesContext(connection) as deep:
        keyset_page(lines, ordering=("id",), params=params, page_size=2)
    for sql in (ctx.captured_queries[0]["sql"], deep.captured_queries[0]["sql"]):
        nodes = explain(sql=sql)
        scans = [n for n in nodes if n.get("Relation Name") == "cases_requestitem"]
        assert [n.get("Index Name") for n in scans] == ["request_item_request_id_idx"], nodes
        assert not [n for n in nodes if "Sort" in n["Node Type"]], nodes
