"""P1: every staff list, the dashboard and the detail pages, rendered whole, vs the bare view.

Target (issue 11): each page <= 1.5x the bare one-query view measured in the same run,
<= 10 queries, and the same number of queries on a deep page as on the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.db import connection
from django.db.models import QuerySet
from django.http import QueryDict

from benchmarks.figures import BenchContext, Figure
from benchmarks.measure import PageTimer, PageTiming, rolled_back

RATIO_TARGET = 1.5
QUERY_TARGET = 10
TARGET = f"<= {RATIO_TARGET}x, <= {QUERY_TARGET} queries"
DEEP_FRACTION = 0.9


@dataclass
class ListSpec:
    """One staff list: its URL, the filterset and queryset its view pages through."""

    name: str
    url: str
    # () -> (filterset class, base queryset, sorts, default sort)
    parts: Callable[[], tuple[Any, QuerySet[Any], dict[str, tuple[str, ...]], str]]
    filtered: dict[str, str] = field(default_factory=dict)
    search: dict[str, str] = field(default_factory=dict)


def _items_parts() -> tuple[Any, QuerySet[Any], dict[str, tuple[str, ...]], str]:
    from cases.filters import ItemFilter
    from cases.selectors.items import DEFAULT_ITEM_SORT, ITEM_SORTS, item_list_qs

    return ItemFilter, item_list_qs(), ITEM_SORTS, DEFAULT_ITEM_SORT


def _requests_parts() -> tuple[Any, QuerySet[Any], dict[str, tuple[str, ...]], str]:
    from cases.forms.requests import RequestFilterSet
    from cases.selectors.requests import (
        DEFAULT_REQUEST_SORT,
        REQUEST_SORTS,
        request_list_queryset,
    )

    return RequestFilterSet, request_list_queryset(), REQUEST_SORTS, DEFAULT_REQUEST_SORT


def _platforms_parts() -> tuple[Any, QuerySet[Any], dict[str, tuple[str, ...]], str]:
    from platforms.filters import PlatformFilter
    from platforms.selectors import DEFAULT_PLATFORM_SORT, PLATFORM_SORTS, platform_list_queryset

    return PlatformFilter, platform_list_queryset(), PLATFORM_SORTS, DEFAULT_PLATFORM_SORT


def _cases_parts() -> tuple[Any, QuerySet[Any], dict[str, tuple[str, ...]], str]:
    from cases.filters import CaseFilter
    from cases.selectors.cases import CASE_SORTS, DEFAULT_CASE_SORT, case_list_qs

    return CaseFilter, case_list_qs(), CASE_SORTS, DEFAULT_CASE_SORT


def list_specs() -> list[ListSpec]:
    return [
        ListSpec(
            "items",
            "/items/",
            _items_parts,
            filtered={"status": "approved", "category": "propaganda"},
            search={"q": "post/4242"},
        ),
        ListSpec(
            "requests",
            "/requests/",
            _requests_parts,
            filtered={"state": "closed", "request_type": "referral"},
            search={"q": "TKD-2025-0001"},
        ),
        ListSpec(
            "platforms",
            "/platforms/",
            _platforms_parts,
            filtered={"tier": "niche", "kind": "forum"},
            search={"q": "p01234"},
        ),
        ListSpec(
            "cases",
            "/cases/",
            _cases_parts,
            filtered={"status": "open"},
            search={"q": "case 0042"},
        ),
    ]


def deep_cursor(spec: ListSpec, params: dict[str, str], sort: str) -> str:
    """The ``after`` cursor of the row ``DEEP_FRACTION`` down the list (found with OFFSET;
    the timed page never uses it), signed as core.pagination signs its own."""
    from core.pagination import _SALT, _jsonable, _key, _order_by

    filterset_class, base, sorts, _default = spec.parts()
    queryset = filterset_class(QueryDict(urlencode(params)), queryset=base).qs
    keys = [_key(queryset, name) for name in sorts[sort]]
    position = int(queryset.count() * DEEP_FRACTION)
    values = queryset.order_by(*_order_by(keys, backwards=False)).values_list(
        *[key.name for key in keys]
    )[position]
    return signing.dumps([_jsonable(value) for value in values], salt=_SALT)


def _figure(name: str, timing: PageTiming, floor: PageTiming, note: str = "") -> Figure:
    if timing.status != 200:
        return Figure(
            "P1", name, None, "ms", TARGET, None, floor=floor.ms, note=f"HTTP {timing.status}"
        )
    ratio = timing.ms / floor.ms if floor.ms else None
    met = ratio is not None and ratio <= RATIO_TARGET and timing.queries <= QUERY_TARGET
    if not met:
        note = "; ".join(filter(None, [note, timing.explain_note()]))
    return Figure(
        "P1",
        name,
        round(timing.ms, 1),
        "ms",
        TARGET,
        met,
        floor=round(floor.ms, 1),
        queries=timing.queries,
        note=note,
    )


def _unknown(name: str, exc: Exception) -> Figure:
    return Figure("P1", name, None, "ms", TARGET, None, note=f"{type(exc).__name__}: {exc}")


def _page(timer: PageTimer, floor: PageTiming, name: str, url: str, note: str = "") -> Figure:
    try:
        return _figure(name, timer.get(url), floor, note)
    except Exception as exc:
        return _unknown(name, exc)


def _list_figures(timer: PageTimer, floor: PageTiming, spec: ListSpec) -> list[Figure]:
    try:
        _filterset, _base, sorts, default = spec.parts()
    except Exception as exc:
        return [_unknown(f"{spec.name}: every page", exc)]
    first = _page(timer, floor, f"{spec.name}: first page ({default})", spec.url)
    figures = [first]
    name = f"{spec.name}: deep page ({default}, {int(DEEP_FRACTION * 100)} % down)"
    try:
        cursor = deep_cursor(spec, {}, default)
    except Exception as exc:
        figures.append(_unknown(name, exc))
    else:
        deep = _page(timer, floor, name, spec.url + "?" + urlencode({"after": cursor}))
        if first.queries is not None and deep.queries is not None:
            constant = deep.queries == first.queries
            note = f"queries {first.queries} first, {deep.queries} deep" + (
                "" if constant else " (not constant with depth)"
            )
            met = deep.met and constant
            deep = replace(deep, met=met, note="; ".join(filter(None, [note, deep.note])))
        figures.append(deep)
    for label, params in (("filtered", spec.filtered), ("search", spec.search)):
        if params:
            query = urlencode(params)
            figures.append(
                _page(timer, floor, f"{spec.name}: {label} ({query})", f"{spec.url}?{query}")
            )
    for sort in sorts:
        if sort != default:
            url = spec.url + "?" + urlencode({"sort": sort})
            figures.append(_page(timer, floor, f"{spec.name}: sort {sort}", url))
    return figures


def _one(sql: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    return row[0] if row else None


def _detail_figures(timer: PageTimer, floor: PageTiming) -> list[Figure]:
    pages: list[tuple[str, str | None]] = [("dashboard", "/")]
    busiest = _one(
        "SELECT platform_id FROM cases_item WHERE platform_id IS NOT NULL "
        "GROUP BY platform_id ORDER BY count(*) DESC LIMIT 1"
    )
    pages.append(("platform detail (busiest platform)", busiest and f"/platforms/{busiest}/"))
    largest = _one(
        "SELECT request_id FROM cases_requestitem GROUP BY request_id "
        "ORDER BY count(*) DESC, request_id LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_requestitem WHERE request_id = %s", [largest])
        (lines,) = cursor.fetchone()
    pages.append((f"request detail (largest, {lines} lines)", largest and f"/requests/{largest}/"))
    typical = _one(
        "SELECT id FROM cases_removalrequest WHERE state = 'closed' ORDER BY id "
        "OFFSET (SELECT count(*) / 2 FROM cases_removalrequest WHERE state = 'closed') LIMIT 1"
    )
    pages.append(("request detail (a typical closed one)", typical and f"/requests/{typical}/"))
    item = _one("SELECT max(item_id) FROM cases_requestitem")
    pages.append(("item detail", item and f"/items/{item}/"))
    case = _one("SELECT case_id FROM cases_item WHERE case_id IS NOT NULL LIMIT 1")
    pages.append(("case detail", case and f"/cases/{case}/"))
    figures = []
    for name, url in pages:
        if url is None:
            figures.append(Figure("P1", name, None, "ms", TARGET, None, note="no such row"))
            continue
        figures.append(_page(timer, floor, name, url))
    return figures


def measure(context: BenchContext) -> list[Figure]:
    figures: list[Figure] = []
    with rolled_back(), PageTimer(context.repeat) as timer:
        floor = timer.bare()
        figures.append(
            Figure(
                "P1",
                "bare one-query view (the floor)",
                round(floor.ms, 1),
                "ms",
                "floor",
                None if floor.status != 200 else True,
                floor=round(floor.ms, 1),
                queries=floor.queries,
                note="50 rows by (created_at, id), trivial template, same middleware",
            )
        )
        for spec in list_specs():
            figures.extend(_list_figures(timer, floor, spec))
        figures.extend(_detail_figures(timer, floor))
    return figures
