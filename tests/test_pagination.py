"""Keyset pagination: every row exactly once, both ways, for every kind of ordering."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from cases.models import Item
from core.pagination import keyset_page
from tests.factories import ItemFactory, PlatformFactory

pytestmark = pytest.mark.django_db

ORDERINGS = [
    ("-created_at", "-id"),  # uniform, non-null: the row-comparison fast path
    ("created_at", "id"),
    ("platform__name", "-id"),  # nullable key through a relation, mixed directions
    ("-platform__name", "id"),
    ("-threat_to_life", "created_at", "id"),
]


@pytest.fixture
def items() -> list[Item]:
    platforms = [PlatformFactory(name=n) for n in ("Alpha", "Beta")]
    created = []
    base = timezone.now() - timedelta(days=1)
    for n in range(23):
        item = ItemFactory(
            platform=platforms[n % 3] if n % 3 < 2 else None, threat_to_life=n % 4 == 0
        )
        Item.objects.filter(pk=item.pk).update(created_at=base + timedelta(minutes=n // 2))
        created.append(item)
    return created


def walk(queryset, ordering, *, page_size: int) -> tuple[list[int], list[int]]:
    forward, params, pages = [], QueryDict(mutable=True), []
    while True:
        page = keyset_page(queryset, ordering=ordering, params=params, page_size=page_size)
        pages.append(page)
        forward += [row.pk for row in page.rows]
        if not page.next_cursor:
            break
        params = QueryDict(mutable=True)
        params["after"] = page.next_cursor
    backward = [row.pk for row in pages[-1].rows]
    page = pages[-1]
    while page.previous_cursor:
        params = QueryDict(mutable=True)
        params["before"] = page.previous_cursor
        page = keyset_page(queryset, ordering=ordering, params=params, page_size=page_size)
        backward = [row.pk for row in page.rows] + backward
    return forward, backward


@pytest.mark.parametrize("ordering", ORDERINGS, ids=",".join)
def test_it_walks_every_row_once_forwards_and_backwards(items, ordering) -> None:
    queryset = Item.objects.select_related("platform")
    expected = list(
        queryset.order_by(
            *[f"{name}" if not name.endswith("platform__name") else name for name in ordering]
        ).values_list("pk", flat=True)
    )
    # PostgreSQL sorts NULL first in DESC; the pager keeps NULLs last either way.
    with_platform = [pk for pk in expected if Item.objects.get(pk=pk).platform_id]
    without = [pk for pk in expected if not Item.objects.get(pk=pk).platform_id]
    if "platform__name" in ordering[0]:
        expected = with_platform + without

    forward, backward = walk(queryset, ordering, page_size=4)

    assert forward == expected
    assert backward == expected


def test_it_ignores_a_tampered_cursor(items) -> None:
    params = QueryDict(mutable=True)
    params["after"] = "YWJjfHg:forged"

    page = keyset_page(
        Item.objects.all(), ordering=("-created_at", "-id"), params=params, page_size=5
    )

    assert [r.pk for r in page.rows] == list(
        Item.objects.order_by("-created_at", "-id").values_list("pk", flat=True)[:5]
    )
    assert page.previous_cursor is None


def test_it_runs_one_query_per_page(items, django_assert_num_queries) -> None:
    first = keyset_page(
        Item.objects.all(), ordering=("-created_at", "-id"), params=QueryDict(), page_size=5
    )
    params = QueryDict(mutable=True)
    params["after"] = first.next_cursor

    with django_assert_num_queries(1):
        keyset_page(Item.objects.all(), ordering=("-created_at", "-id"), params=params, page_size=5)
