"""Every sortable column of every staff list pages correctly (issue 11, P1).

For each list and each ``?sort=``: the keyset pager walks every row exactly once, forwards
and backwards, in the order the sort promises (NULLs last), and the page behind a cursor
answers 200. Before this test, ``/platforms/?sort=country`` with a cursor was a 500: a
django_countries ``Country`` is not JSON serialisable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import pytest
from django.db.models import F, QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, Item, RemovalRequest
from cases.selectors.cases import CASE_SORTS, case_list_page_qs
from cases.selectors.items import ITEM_SORTS, item_list_qs
from cases.selectors.requests import REQUEST_SORTS, request_list_queryset
from core.pagination import keyset_page
from platforms.models import Platform, PlatformKind, PlatformTier
from platforms.selectors import PLATFORM_SORTS, platform_list_queryset
from tests.factories import (
    CaseFactory,
    ItemFactory,
    PlatformFactory,
    RemovalRequestFactory,
    SentRequestFactory,
)

pytestmark = pytest.mark.django_db


def _items() -> None:
    platforms = [PlatformFactory(), PlatformFactory()]
    for n in range(9):
        ItemFactory(platform=platforms[n % 3] if n % 3 < 2 else None)


def _requests() -> None:
    platforms = [PlatformFactory(), PlatformFactory()]
    now = timezone.now()
    for n in range(9):
        if n % 3 == 2:
            RemovalRequestFactory(platform=platforms[n % 2])  # a draft: no sent_at, no deadline
        else:
            request = cast(RemovalRequest, SentRequestFactory(platform=platforms[n % 2]))
            # Two pairs share a sent time and a deadline: the id must break the tie.
            sent = now - timedelta(hours=n // 2)
            RemovalRequest.objects.filter(pk=request.pk).update(
                sent_at=sent, deadline=sent + timedelta(days=3)
            )


def _cases() -> None:
    for n in range(7):
        CaseFactory(title=f"Case {n % 3}")


def _platforms() -> None:
    countries = ["GB", "FR", "", "GB", "DE", "", "FR"]
    for n, country in enumerate(countries):
        PlatformFactory(
            name=f"{'ab'[n % 2]}Platform {n}",
            country=country,
            kind=[PlatformKind.PASTE_SITE, PlatformKind.FORUM][n % 2],
            tier=[PlatformTier.NICHE, PlatformTier.MAINSTREAM][n % 3 == 0],
        )


LISTS: dict[str, tuple[Callable[[], QuerySet[Any]], dict[str, tuple[str, ...]], Callable, str]] = {
    "items": (item_list_qs, ITEM_SORTS, _items, "items:list"),
    "requests": (request_list_queryset, REQUEST_SORTS, _requests, "requests:list"),
    "cases": (case_list_page_qs, CASE_SORTS, _cases, "cases:list"),
    "platforms": (platform_list_queryset, PLATFORM_SORTS, _platforms, "platforms:list"),
}
CASES = [(name, sort) for name, (_q, sorts, _m, _u) in LISTS.items() for sort in sorts]


def _expected(queryset: QuerySet[Any], ordering: tuple[str, ...]) -> list[int]:
    """The promised order, straight from the database: NULLs last in either direction."""
    order = [
        F(name.lstrip("-")).desc(nulls_last=True)
        if name.startswith("-")
        else F(name).asc(nulls_last=True)
        for name in ordering
    ]
    return list(queryset.order_by(*order).values_list("pk", flat=True))


def _walk(queryset: QuerySet[Any], ordering: tuple[str, ...]) -> tuple[list[int], list[int]]:
    forward: list[int] = []
    pages = []
    params = QueryDict(mutable=True)
    while True:
        page = keyset_page(queryset, ordering=ordering, params=params, page_size=2)
        pages.append(page)
        forward += [row.pk for row in page.rows]
        if not page.next_cursor:
            break
        params = QueryDict(mutable=True)
        params["after"] = page.next_cursor
    page, backward = pages[-1], [row.pk for row in pages[-1].rows]
    while page.previous_cursor:
        params = QueryDict(mutable=True)
        params["before"] = page.previous_cursor
        page = keyset_page(queryset, ordering=ordering, params=params, page_size=2)
        backward = [row.pk for row in page.rows] + backward
    return forward, backward


@pytest.mark.parametrize(("name", "sort"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_every_sort_walks_every_row_once_both_ways(name: str, sort: str) -> None:
    make_queryset, sorts, make_rows, _url = LISTS[name]
    make_rows()
    queryset = make_queryset()
    expected = _expected(queryset, sorts[sort])
    assert len(expected) >= 7

    forward, backward = _walk(queryset, sorts[sort])

    assert forward == expected
    assert backward == expected


@pytest.mark.parametrize(("name", "sort"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_the_page_behind_a_cursor_of_every_sort_answers(client, alice, name, sort) -> None:
    make_queryset, sorts, make_rows, url_name = LISTS[name]
    make_rows()
    client.force_login(alice)
    first = keyset_page(make_queryset(), ordering=sorts[sort], params=QueryDict(), page_size=3)
    assert first.next_cursor

    response = client.get(reverse(url_name), {"sort": sort, "after": first.next_cursor})

    assert response.status_code == 200
    assert response.context["page"].previous_cursor


def test_a_country_cursor_holds_the_country_code() -> None:
    _platforms()
    page = keyset_page(
        platform_list_queryset(),
        ordering=PLATFORM_SORTS["country"],
        params=QueryDict(),
        page_size=1,
    )
    assert page.next_cursor
    params = QueryDict(mutable=True)
    params["after"] = page.next_cursor
    second = keyset_page(
        platform_list_queryset(), ordering=PLATFORM_SORTS["country"], params=params
    )
    assert [p.pk for p in second.rows] == _expected(
        platform_list_queryset(), PLATFORM_SORTS["country"]
    )[1:]
    assert Platform.objects.filter(country="").count() == 2
    assert Case.objects.count() == 0 and Item.objects.count() == 0
