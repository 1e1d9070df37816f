"""A platform's scorecard and the unit's weekly trends, each with charts and a CSV."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.csv_export import csv_response, export_filename
from core.decorators import staff_view
from core.errors import DomainError
from metrics.charts import Chart, Series, bar_chart, line_chart
from metrics.figures import Figures, MetricFilters, empty_figures
from metrics.models import MetricSnapshot
from metrics.selectors import (
    compliance_figures,
    week_group,
    week_label,
    weeks_between,
    with_empty_groups,
)
from metrics.stored import current_snapshot, stored_platform, stored_weeks
from metrics.views.common import BadFilters, live_filters, parse_filters, trailing_weeks
from metrics.views.tables import (
    FIGURE_COLUMNS,
    FigureRow,
    drilldown_url,
    figure_row,
    figures_csv_header,
    figures_csv_rows,
)
from platforms.models import Platform

SCORECARD_TEMPLATE = "metrics/scorecard.html"
TRENDS_TEMPLATE = "metrics/trends.html"
MAX_TREND_WEEKS = 160  # about three years: a readable chart, a bounded query


@dataclass
class Weekly:
    """Figures per ISO week of a period, every week listed (empty ones too)."""

    filters: MetricFilters
    weeks: list[Figures]
    rows: list[FigureRow]


def _weekly_rows(period: MetricFilters, found: list[Figures], start: date, end: date) -> Weekly:
    weeks = with_empty_groups(found, groups=[week_group(m) for m in weeks_between(start, end)])
    rows = [
        figure_row(
            f, label=week_label(f.group["week"]), filters=period, group={"week": f.group["week"]}
        )
        for f in weeks
    ]
    return Weekly(filters=period, weeks=weeks, rows=rows)


def _weekly(filters: MetricFilters, *, start: date, end: date, now: Any) -> Weekly:
    period = replace(filters, start=max(filter(None, [filters.start, start])), end=end)
    found = compliance_figures(filters=period, group_by=("week",), now=now)
    return _weekly_rows(period, found, start, end)


def _stored_weeks_period(snapshot: MetricSnapshot, filters: MetricFilters) -> tuple[date, date]:
    return trailing_weeks(filters, today=timezone.localdate(snapshot.computed_at))


def _stored_weekly(
    snapshot: MetricSnapshot, filters: MetricFilters, found: list[Figures] | None = None
) -> Weekly:
    """The 12 ISO weeks up to the snapshot's own week, from its weekly rows (``found``:
    a platform's, already read; default: the unit's)."""
    start, end = _stored_weeks_period(snapshot, filters)
    period = replace(filters, start=start, end=end)
    if found is None:
        found = stored_weeks(snapshot, start=start, end=end)
    for f in found:  # the platform's weekly rows carry it; the table's groups are weeks
        f.group.pop("platform", None)
        f.group.pop("platform_name", None)
    return _weekly_rows(period, found, start, end)


def _rate_chart(chart_id: str, title: str, weekly: Weekly) -> Chart:
    labels = [week_label(f.group["week"]) for f in weekly.weeks]
    return line_chart(
        id=chart_id,
        title=title,
        description=_(
            "Removal rate and response rate of the request items sent in each ISO week, "
            "%(first)s to %(last)s; weeks with nothing sent have no point."
        )
        % {"first": labels[0] if labels else "", "last": labels[-1] if labels else ""},
        x_labels=labels,
        series=[
            Series(_("Removal rate"), [f.removal_rate for f in weekly.weeks]),
            Series(_("Response rate"), [f.response_rate for f in weekly.weeks]),
        ],
    )


def _verified_chart(chart_id: str, weekly: Weekly) -> Chart:
    labels = [week_label(f.group["week"]) for f in weekly.weeks]
    return bar_chart(
        id=chart_id,
        title=_("Claimed and verified removals per week"),
        description=_(
            "For each ISO week, the items the operator said were removed and the items "
            "a check found gone."
        ),
        x_labels=labels,
        series=[
            Series(_("Removed (claimed)"), [f.removed for f in weekly.weeks]),
            Series(_("Verified gone"), [f.verified_removed for f in weekly.weeks]),
        ],
    )


def _volume_chart(chart_id: str, weekly: Weekly) -> Chart:
    labels = [week_label(f.group["week"]) for f in weekly.weeks]
    return bar_chart(
        id=chart_id,
        title=_("Items requested and removed per week"),
        description=_("For each ISO week, the request items sent and those removed."),
        x_labels=labels,
        series=[
            Series(_("Requested"), [f.requested for f in weekly.weeks]),
            Series(_("Removed"), [f.removed for f in weekly.weeks]),
        ],
    )


def _weekly_csv(stem: str, weekly: Weekly, extra: list[Any]) -> HttpResponse:
    rows = [
        ([*extra, f.group["week"].isoformat(), week_label(f.group["week"])], f)
        for f in weekly.weeks
    ]
    headers = ["platform"] if extra else []
    return csv_response(
        filename=export_filename(stem),
        header=figures_csv_header([*headers, "week_start", "iso_week"]),
        rows=figures_csv_rows(rows),
    )


# --- scorecard ----------------------------------------------------------------------------


def _scorecard(request: HttpRequest, pk: int) -> tuple[Platform, dict[str, Any]] | HttpResponse:
    platform = get_object_or_404(Platform, pk=pk)
    context: dict[str, Any] = {"platform": platform, "columns": FIGURE_COLUMNS}
    try:
        parsed = parse_filters(request, template=SCORECARD_TEMPLATE, context=context)
    except BadFilters as bad:
        return bad.response
    now = timezone.now()
    snapshot = current_snapshot() if parsed.filters.is_empty else None
    if snapshot is not None:
        # All time and the last 12 weeks, as of the snapshot: stored rows, three queries.
        filters = parsed.filters.narrowed({"platform": platform.pk})
        start, end = _stored_weeks_period(snapshot, filters)
        total, weeks = stored_platform(snapshot, platform_id=platform.pk, start=start, end=end)
        totals = replace(total or empty_figures(), group={})
        weekly = _stored_weekly(snapshot, filters, weeks)
        computed_at = snapshot.computed_at
    else:
        try:
            live = live_filters(parsed.filters, today=timezone.localdate(now))
        except DomainError as refused:
            context.update(form=parsed.form, error=refused.message, invalid=True)
            return render(request, SCORECARD_TEMPLATE, context, status=400)
        filters = live.narrowed({"platform": platform.pk})
        [totals] = compliance_figures(filters=filters, now=now)
        start, end = trailing_weeks(filters)
        weekly = _weekly(filters, start=start, end=end, now=now)
        computed_at = now
    context.update(
        form=parsed.form,
        filters=filters,
        from_snapshot=snapshot is not None,
        computed_at=computed_at,
        totals=figure_row(totals, label=platform.name, filters=filters, group={}),
        verified_url=drilldown_url(filters, "verified_removed"),
        claimed_url=drilldown_url(filters, "removed"),
        weekly=weekly,
        rate_chart=_rate_chart("chart-rates", _("Removal and response rate per week"), weekly),
        verified_chart=_verified_chart("chart-verified", weekly),
        export_query=request.GET.urlencode(),
    )
    return platform, context


@require_GET
@staff_view("metrics.view_figures")
def scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    found = _scorecard(request, pk)
    if isinstance(found, HttpResponse):
        return found
    return render(request, SCORECARD_TEMPLATE, found[1])


@require_GET
@staff_view("metrics.view_figures")
def scorecard_csv(request: HttpRequest, pk: int) -> HttpResponse:
    found = _scorecard(request, pk)
    if isinstance(found, HttpResponse):
        return found
    platform, context = found
    return _weekly_csv(f"scorecard-{platform.pk}", context["weekly"], [platform.name])


# --- the unit's weekly trends -----------------------------------------------------------------


def _trends(request: HttpRequest) -> dict[str, Any] | HttpResponse:
    context: dict[str, Any] = {"columns": FIGURE_COLUMNS}
    try:
        parsed = parse_filters(request, template=TRENDS_TEMPLATE, context=context)
    except BadFilters as bad:
        return bad.response
    filters = parsed.filters
    if filters.start is not None and filters.end is not None:
        start, end = filters.start, filters.end
    else:
        start, end = trailing_weeks(filters)
    if len(weeks_between(start, end)) > MAX_TREND_WEEKS:
        message = _("Trends cover at most %(weeks)d weeks; choose a shorter period.") % {
            "weeks": MAX_TREND_WEEKS
        }
        context.update(form=parsed.form, error=message, invalid=True)
        return render(request, TRENDS_TEMPLATE, context, status=400)
    snapshot = current_snapshot() if filters.is_empty else None
    if snapshot is not None:
        weekly = _stored_weekly(snapshot, filters)
        computed_at = snapshot.computed_at
    else:
        computed_at = timezone.now()
        weekly = _weekly(filters, start=start, end=end, now=computed_at)
    context.update(
        form=parsed.form,
        from_snapshot=snapshot is not None,
        computed_at=computed_at,
        weekly=weekly,
        rate_chart=_rate_chart(
            "chart-unit-rates", _("Unit removal and response rate per week"), weekly
        ),
        volume_chart=_volume_chart("chart-unit-volume", weekly),
        export_query=request.GET.urlencode(),
    )
    return context


@require_GET
@staff_view("metrics.view_figures")
def trends(request: HttpRequest) -> HttpResponse:
    found = _trends(request)
    if isinstance(found, HttpResponse):
        return found
    return render(request, TRENDS_TEMPLATE, found)


@require_GET
@staff_view("metrics.view_figures")
def trends_csv(request: HttpRequest) -> HttpResponse:
    found = _trends(request)
    if isinstance(found, HttpResponse):
        return found
    return _weekly_csv("unit-weekly-trends", found["weekly"], [])
