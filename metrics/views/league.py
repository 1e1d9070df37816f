"""The league table of platforms, the snapshot's "recompute now", and the items behind a figure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.csv_export import Column, csv_response, export_filename, queryset_csv_response
from core.decorators import staff_view
from core.errors import DomainError
from core.pagination import keyset_page
from metrics.figures import FIGURE_ROWS, REFUSAL_KEYS, Figures, MetricFilters
from metrics.selectors import (
    compliance_figures,
    latest_snapshot,
    make_group,
    request_items_behind,
)
from metrics.services import snapshot_refresh
from metrics.views.common import BadFilters, parse_filters
from metrics.views.tables import (
    FIGURE_COLUMNS,
    REFUSED,
    SORT_KEYS,
    FigureRow,
    figure_row,
    figures_csv_header,
    figures_csv_rows,
    sort_rows,
)
from platforms.models import Platform, PlatformTier

LEAGUE_TEMPLATE = "metrics/league.html"


@dataclass(frozen=True)
class SortHeader:
    key: str
    label: Any
    url: str
    aria_sort: str  # "ascending", "descending" or ""


@dataclass
class League:
    filters: MetricFilters
    # (tier label, rows) for mainstream then niche (then platforms with no tier match).
    tables: list[tuple[str, list[FigureRow]]]
    tiers: list[FigureRow]
    computed_at: datetime
    from_snapshot: bool


def _sort(request: HttpRequest) -> tuple[str, bool]:
    key = request.GET.get("sort", "name")
    if key not in SORT_KEYS:
        key = "name"
    return key, request.GET.get("order") == "desc"


def _league(filters: MetricFilters, *, now: datetime, sort: str, descending: bool) -> League:
    """Per-platform figures (from the snapshot when the page asks for exactly what it holds)."""
    from_snapshot = False
    computed_at = now
    rows: list[Figures] = []
    if filters.is_empty:
        # The snapshot holds whole-period figures per platform: the unfiltered league.
        snapshot = latest_snapshot(scope="platform", window="all_time")
        if snapshot.computed_at is not None:
            rows, computed_at, from_snapshot = snapshot.rows, snapshot.computed_at, True
    if not from_snapshot:
        rows = compliance_figures(filters=filters, group_by=("platform",), now=now)
    ids = [f.group.get("platform") for f in rows if f.group.get("platform")]
    tiers = dict(Platform.objects.filter(pk__in=ids).values_list("pk", "tier"))
    by_tier: dict[str, list[FigureRow]] = {value: [] for value in PlatformTier.values}
    for figures in rows:
        platform_id = figures.group.get("platform")
        group = {"platform": platform_id}
        row = figure_row(
            figures, label=str(figures.group.get("platform_name", "")), filters=filters, group=group
        )
        by_tier.setdefault(tiers.get(platform_id or 0, ""), []).append(row)
    tables = [
        (str(PlatformTier(tier).label) if tier in PlatformTier.values else _("Other"), table)
        for tier, table in by_tier.items()
    ]
    tier_rows = []
    for figures in compliance_figures(filters=filters, group_by=("tier",), now=now):
        tier = figures.group.get("tier")
        tier_rows.append(
            figure_row(
                figures,
                label=str(figures.group.get("tier_label", tier)),
                filters=filters,
                group={"tier": tier},
            )
        )
    return League(
        filters=filters,
        tables=[(label, sort_rows(t, key=sort, descending=descending)) for label, t in tables],
        tiers=tier_rows,
        computed_at=computed_at,
        from_snapshot=from_snapshot,
    )


def _headers(request: HttpRequest, sort: str, descending: bool) -> list[SortHeader]:
    headers = []
    for key, label in [("name", _("Platform")), *((c.key, c.label) for c in FIGURE_COLUMNS)]:
        params = request.GET.copy()
        params["sort"] = key
        # Counts and rates start high-first; names start A-Z.
        next_desc = not descending if key == sort else key != "name"
        params["order"] = "desc" if next_desc else "asc"
        aria = ("descending" if descending else "ascending") if key == sort else ""
        headers.append(SortHeader(key, label, "?" + params.urlencode(), aria))
    return headers


@require_GET
@staff_view("metrics.view_figures")
def league(request: HttpRequest) -> HttpResponse:
    sort, descending = _sort(request)
    context: dict[str, Any] = {"columns": FIGURE_COLUMNS}
    try:
        parsed = parse_filters(request, template=LEAGUE_TEMPLATE, context=context)
    except BadFilters as bad:
        return bad.response
    now = timezone.now()
    data = _league(parsed.filters, now=now, sort=sort, descending=descending)
    return render(
        request,
        LEAGUE_TEMPLATE,
        {
            **context,
            "form": parsed.form,
            "league": data,
            "headers": _headers(request, sort, descending),
            "can_refresh": request.user.has_perm("metrics.refresh_snapshot"),
            "export_query": request.GET.urlencode(),
        },
    )


@require_GET
@staff_view("metrics.view_figures")
def league_csv(request: HttpRequest) -> HttpResponse:
    sort, descending = _sort(request)
    try:
        parsed = parse_filters(request, template=LEAGUE_TEMPLATE, context={})
    except BadFilters as bad:
        return bad.response
    data = _league(parsed.filters, now=timezone.now(), sort=sort, descending=descending)
    rows = [
        ((tier, row.figures.group.get("platform"), row.label), row.figures)
        for tier, table in data.tables
        for row in table
    ]
    return csv_response(
        filename=export_filename("platform-league"),
        header=figures_csv_header(["tier", "platform_id", "platform"]),
        rows=figures_csv_rows(rows),
    )


@require_POST
@staff_view("metrics.refresh_snapshot")
def refresh(request: HttpRequest) -> HttpResponse:
    """Recompute the snapshot now (the supervisor's button); the service writes the audit."""
    snapshot = snapshot_refresh(by=request.user)
    messages.success(
        request,
        _("Figures recomputed at %(at)s: %(rows)d rows.")
        % {
            "at": timezone.localtime(snapshot.computed_at).strftime("%Y-%m-%d %H:%M"),
            "rows": snapshot.row_count,
        },
    )
    return redirect("metrics:league")


# --- the items behind a figure ---------------------------------------------------------------

DRILLDOWN_TEMPLATE = "metrics/items.html"
DRILLDOWN_ORDERING = ("request__sent_at", "request", "id")


@dataclass(frozen=True)
class Drilldown:
    figure: str
    label: str
    week: date | None


def _figure_label(figure: str) -> str:
    for column in FIGURE_COLUMNS:
        if column.key == figure:
            return str(column.label)
    if figure.startswith("refusal:"):
        from metrics.figures import outcome_label

        return _("Refused: %(outcome)s") % {"outcome": outcome_label(figure.split(":", 1)[1])}
    return figure.replace("_", " ")


def _items_behind(request: HttpRequest, filters: MetricFilters) -> tuple[Drilldown, Any]:
    figure = request.GET.get("figure", "")
    if figure != REFUSED and figure not in FIGURE_ROWS:
        raise DomainError(_("Choose which figure's items to list."))
    week = None
    if request.GET.get("week"):
        week = parse_date(request.GET["week"]) if len(request.GET["week"]) == 10 else None
        if week is None or week.weekday() != 0:
            raise DomainError(_("A week is given by its Monday (YYYY-MM-DD)."))
    group = make_group("week", week) if week else {}
    if figure == REFUSED:
        items = request_items_behind(filters=filters, figure="requested", group=group).filter(
            outcome__in=REFUSAL_KEYS
        )
    else:
        items = request_items_behind(filters=filters, figure=figure, group=group)
    return Drilldown(figure, _figure_label(figure), week), items


def _drilldown_context(request: HttpRequest) -> tuple[Any, Drilldown, Any] | HttpResponse:
    try:
        parsed = parse_filters(request, template=DRILLDOWN_TEMPLATE, context={})
    except BadFilters as bad:
        return bad.response
    try:
        drill, items = _items_behind(request, parsed.filters)
    except DomainError as refused:
        return render(
            request,
            DRILLDOWN_TEMPLATE,
            {"form": parsed.form, "error": refused.message, "invalid": True},
            status=400,
        )
    return parsed, drill, items


@require_GET
@staff_view("metrics.view_figures")
def items(request: HttpRequest) -> HttpResponse:
    found = _drilldown_context(request)
    if isinstance(found, HttpResponse):
        return found
    parsed, drill, behind = found
    page = keyset_page(
        behind.select_related("item__platform"), ordering=DRILLDOWN_ORDERING, params=request.GET
    )
    return render(
        request,
        DRILLDOWN_TEMPLATE,
        {
            "form": parsed.form,
            "drill": drill,
            "total": behind.count(),
            "page": page,
            "export_url": reverse("metrics:items_csv") + "?" + request.GET.urlencode(),
        },
    )


ITEM_EXPORT_COLUMNS = (
    Column("request", "request__reference"),
    Column("request_type", "request__request_type"),
    Column("legal_basis", "request__legal_basis"),
    Column("platform", "request__platform__name"),
    Column("sent_at", "request__sent_at"),
    Column("deadline", "request__deadline"),
    Column("item_id", "item_id"),
    Column("url", "item__url_normalised"),
    Column("outcome", "outcome"),
    Column("outcome_at", "outcome_at"),
    Column("first_response_at", "first_response_at"),
    Column("first_removal_at", "first_removal_at"),
    Column("verification", "item__verification"),
    Column("actor", "item__actor__name"),
)


@require_GET
@staff_view("metrics.view_figures")
def items_csv(request: HttpRequest) -> HttpResponse:
    """Every request item behind the figure, streamed (the drill-down's CSV)."""
    found = _drilldown_context(request)
    if isinstance(found, HttpResponse):
        return found
    _parsed, drill, behind = found
    stem = "items-behind-" + drill.figure.replace(":", "-").replace("_", "-")
    return queryset_csv_response(
        stem=stem,
        queryset=behind.order_by(*DRILLDOWN_ORDERING),
        columns=ITEM_EXPORT_COLUMNS,
    )
