"""Helpers for the tests that read PostgreSQL's plans on tables of realistic size
(tests/test_write_path_plans.py, tests/test_list_sort_plans.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import QuerySet


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(
    queryset: QuerySet[Any] | None = None, *, sql: str = "", params: Any = ()
) -> list[dict[str, Any]]:
    """Every node of the plan PostgreSQL would run for ``queryset`` (or ``sql``)."""
    if queryset is not None:
        sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (raw,) = cursor.fetchone()
    document = raw if isinstance(raw, list) else json.loads(raw)
    return list(plan_nodes(document[0]["Plan"]))


def insert_platforms(cursor: Any, *, prefix: str, count: int) -> None:
    """``count`` niche platforms named ``prefix-N`` in one statement (the caller has set
    session_replication_role = replica for its transaction: no audit rows)."""
    cursor.execute(
        """
        INSERT INTO platforms_platform (name, kind, tier, architecture, country, status,
            operator_can_act, response_target_days, preferred_language, notes,
            created_at, updated_at)
        SELECT %s || '-' || g, 'social_network', 'niche', 'centralised', 'GB', 'active',
               'yes', 7, 'en', '', now(), now()
        FROM generate_series(1, %s) g
        """,
        [prefix, count],
    )
