"""What the /metrics/ pages read from the current snapshot: a few small indexed queries each.

The pages ask for the snapshot once (``current_snapshot``) and then for exactly the
rows they show: one page of the league (sorted in SQL), a platform's total and its
weeks, the unit's weeks, the stored transparency report. Nothing here depends on the
number of platforms or items: a page of 50 rows costs what a page of 3 does.
``metrics.selectors.latest_snapshot`` remains the general reader (one scope at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import F, FloatField, Q, QuerySet
from django.db.models.functions import Cast, Lower, NullIf

from metrics.figures import Figures
from metrics.models import MetricSnapshot, MetricSnapshotRow, SnapshotScope, SnapshotWindow
from metrics.report import TransparencyReport, report_from_json

LEAGUE_PAGE_SIZE = 50

# Sort keys of the league (metrics.views.tables.SORT_KEYS) as SQL over the stored rows.
_RATES = {
    "response_rate": "responded",
    "removal_rate": "removed",
    "verified_removal_rate": "verified_removed",
    "on_time_rate": "removed_on_time",
}


def current_snapshot() -> MetricSnapshot | None:
    """The current snapshot, without its stored report (only the report page reads that)."""
    return MetricSnapshot.objects.filter(is_current=True).defer("report").first()


def _order(key: str, descending: bool) -> list[Any]:
    """ORDER BY for a league sort key: as ``sort_figures`` sorts (empty values last, then A-Z)."""
    name = Lower("platform_name")
    if key == "name":
        return [name.desc() if descending else name.asc(), "id"]
    if key in _RATES:
        expression: Any = Cast(F(_RATES[key]), FloatField()) / NullIf(F("requested"), 0)
    else:
        expression = F(key)  # a count, a median, or "refused"
    ordered = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
    return [ordered, name.asc(), "id"]


def _league_rows(snapshot: MetricSnapshot, tier: str | None) -> QuerySet[MetricSnapshotRow]:
    rows = MetricSnapshotRow.objects.filter(
        snapshot=snapshot, scope=SnapshotScope.PLATFORM, window=SnapshotWindow.ALL_TIME
    )
    return rows.filter(tier=tier) if tier else rows


class _Counted(Paginator):
    """A paginator told its count (stored with the snapshot): no COUNT query."""

    def __init__(self, object_list: Any, per_page: int, *, count: int | None) -> None:
        super().__init__(object_list, per_page)
        if count is not None:
            self.__dict__["count"] = count  # fills the cached_property


@dataclass(frozen=True)
class LeagueRow:
    figures: Figures
    tier: str


def stored_league_page(
    snapshot: MetricSnapshot,
    *,
    tier: str | None,
    sort: str,
    descending: bool,
    page: Any,
    per_page: int = LEAGUE_PAGE_SIZE,
) -> Page[Any]:
    """One page of the all-time per-platform rows, sorted in SQL: a count and a slice."""
    rows = _league_rows(snapshot, tier).order_by(*_order(sort, descending))
    counts = snapshot.source.get("league_rows", {})
    paginator = _Counted(rows, per_page, count=counts.get(tier or "all"))
    found: Page[Any] = paginator.get_page(page)
    found.object_list = [LeagueRow(row.as_figures(), row.tier) for row in found.object_list]
    return found


def stored_league_all(
    snapshot: MetricSnapshot, *, tier: str | None, sort: str, descending: bool
) -> Iterator[LeagueRow]:
    """Every platform row, in the page's order, read in chunks (the CSV export streams it)."""
    rows = _league_rows(snapshot, tier).order_by(*_order(sort, descending))
    for row in rows.iterator(chunk_size=1000):
        yield LeagueRow(row.as_figures(), row.tier)


def stored_tiers(snapshot: MetricSnapshot, *, tier: str | None) -> list[Figures]:
    rows = MetricSnapshotRow.objects.filter(snapshot=snapshot, scope=SnapshotScope.TIER)
    if tier:
        rows = rows.filter(tier=tier)
    return [row.as_figures() for row in rows.order_by("tier", "id")]


def stored_weeks(
    snapshot: MetricSnapshot, *, start: date, end: date, platform_id: int | None = None
) -> list[Figures]:
    """Weekly rows with a Monday in [start, end): the unit's, or one platform's."""
    rows = MetricSnapshotRow.objects.filter(snapshot=snapshot, week__gte=start, week__lt=end)
    if platform_id is None:
        rows = rows.filter(scope=SnapshotScope.WEEK)
    else:
        rows = rows.filter(scope=SnapshotScope.PLATFORM_WEEK, platform_id=platform_id)
    return [row.as_figures() for row in rows.order_by("week", "id")]


def stored_platform(
    snapshot: MetricSnapshot, *, platform_id: int, start: date, end: date
) -> tuple[Figures | None, list[Figures]]:
    """A platform's all-time figures (None if nothing was sent to it) and its weeks in
    [start, end): one query."""
    rows = MetricSnapshotRow.objects.filter(snapshot=snapshot, platform_id=platform_id).filter(
        Q(scope=SnapshotScope.PLATFORM, window=SnapshotWindow.ALL_TIME)
        | Q(scope=SnapshotScope.PLATFORM_WEEK, week__gte=start, week__lt=end)
    )
    total, weeks = None, []
    for row in rows.order_by("week", "id"):
        if row.scope == SnapshotScope.PLATFORM:
            total = row.as_figures()
        else:
            weeks.append(row.as_figures())
    return total, weeks


def stored_report(snapshot: MetricSnapshot, *, platforms: bool = True) -> TransparencyReport | None:
    """The transparency report of the default period as computed with the snapshot.

    None when the snapshot predates stored reports. ``platforms=False`` leaves the
    per-platform table empty (the page shows it a page at a time, see
    ``stored_report_platforms``).
    """
    if not snapshot.report:
        return None
    rows = stored_report_platforms(snapshot) if platforms else []
    return report_from_json(snapshot.report, generated_at=snapshot.computed_at, platforms=rows)


def _report_rows(snapshot: MetricSnapshot) -> QuerySet[MetricSnapshotRow]:
    return MetricSnapshotRow.objects.filter(
        snapshot=snapshot, scope=SnapshotScope.PLATFORM, window=SnapshotWindow.REPORT_PERIOD
    ).order_by("platform_name", "id")


def stored_report_platforms(snapshot: MetricSnapshot) -> list[Figures]:
    return [row.as_figures() for row in _report_rows(snapshot)]


def stored_report_platform_page(snapshot: MetricSnapshot, *, page: Any) -> Page[Any]:
    found: Page[Any] = Paginator(_report_rows(snapshot), LEAGUE_PAGE_SIZE).get_page(page)
    found.object_list = [row.as_figures() for row in found.object_list]
    return found
