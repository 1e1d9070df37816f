"""The league table of platforms, the snapshot's "recompute now", and the items behind a figure."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.core.paginator import Page, Paginator
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
from metrics.selectors import compliance_figures, make_group, request_items_behind
from metrics.services import snapshot_refresh
from metrics.stored import (
    LEAGUE_PAGE_SIZE,
    current_snapshot,
    stored_league_all,
    stored_league_page,
    stored_tiers,
)
from metrics.views.common import BadFilters, live_filters, parse_filters
from metrics.views.tables import (
    FIGURE_COLUMNS,
    REFUSED,
    SORT_KEYS,
    FigureRow,
    figure_row,
    figures_csv_header,
    figures_csv_rows,
    sort_figures,
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
    # One page of platforms (FigureRow, tier label), in the order asked for.
    rows: list[tuple[FigureRow, str]]
    page: Page[Any]
    tiers: list[FigureRow]
    computed_at: datetime
    from_snapshot: bool
    # Live figures only: the period they cover (the snapshot covers all time).
    live_start: date | None = None
    live_end: date | None = None
    no_snapshot: bool = False


def _sort(request: HttpRequest) -> tuple[str, bool]:
    key = request.GET.get("sort", "name")
    if key not in SORT_KEYS:
        key = "name"
    return key, request.GET.get("order") == "desc"


def _snapshot_tier(filters: MetricFilters) -> tuple[bool, str | None]:
    """(the snapshot holds these figures, the one tier asked for or None)."""
    if filters.is_empty:
        return True, None
    if len(filters.tiers) == 1 and replace(filters, tiers=()).is_empty:
        return True, str(filters.tiers[0])
    return False, None


def _tier_label(tier: str) -> str:
    return str(PlatformTier(tier).label) if tier in PlatformTier.values else _("Other")


def _tier_rows(figures: list[Figures], filters: MetricFilters) -> list[FigureRow]:
    return [
        figure_row(
            f,
            label=str(f.group.get("tier_label", f.group.get("tier"))),
            filters=filters,
            group={"tier": f.group.get("tier")},
        )
        for f in figures
    ]


def _platform_row(figures: Figures, filters: MetricFilters) -> FigureRow:
    platform_id = figures.group.get("platform")
    return figure_row(
        figures,
        label=str(figures.group.get("platform_name", "")),
        filters=filters,
        group={"platform": platform_id},
    )


def _league(
    filters: MetricFilters, *, now: datetime, sort: str, descending: bool, page: Any
) -> League:
    """One page of the per-platform figures and the per-tier ones.

    From the snapshot when it holds what is asked (nothing filtered, or one tier):
    a handful of indexed queries whatever the number of platforms. Otherwise live,
    over a bounded period (``live_filters``; ``DomainError`` if it is too long).
    """
    snapshot = current_snapshot()
    servable, tier = _snapshot_tier(filters)
    if snapshot is not None and servable:
        found = stored_league_page(
            snapshot,
            tier=tier,
            sort=sort,
            descending=descending,
            page=page,
            per_page=LEAGUE_PAGE_SIZE,
        )
        return League(
            filters=filters,
            rows=[(_platform_row(r.figures, filters), _tier_label(r.tier)) for r in found],
            page=found,
            tiers=_tier_rows(stored_tiers(snapshot, tier=tier), filters),
            computed_at=snapshot.computed_at,
            from_snapshot=True,
        )
    live = live_filters(filters, today=timezone.localdate(now))
    figures = compliance_figures(filters=live, group_by=("platform",), now=now)
    ordered = sort_figures(
        figures,
        key=sort,
        descending=descending,
        label=lambda f: f.group.get("platform_name", ""),
    )
    found = Paginator(ordered, LEAGUE_PAGE_SIZE).get_page(page)
    ids = [f.group.get("platform") for f in found]
    tiers = dict(Platform.objects.filter(pk__in=ids).values_list("pk", "tier"))
    return League(
        filters=live,
        rows=[
            (_platform_row(f, live), _tier_label(tiers.get(f.group.get("platform") or 0, "")))
            for f in found
        ],
        page=found,
        tiers=_tier_rows(compliance_figures(filters=live, group_by=("tier",), now=now), live),
        computed_at=now,
        from_snapshot=False,
        live_start=live.start,
        live_end=live.end,
        no_snapshot=snapshot is None,
    )


def _headers(request: HttpRequest, sort: str, descending: bool) -> list[SortHeader]:
    headers = []
    for key, label in [("name", _("Platform")), *((c.key, c.label) for c in FIGURE_COLUMNS)]:
        params = request.GET.copy()
        params["sort"] = key
        params.pop("page", None)  # a new order starts at its first page
        # Counts and rates start high-first; names start A-Z.
        next_desc = not descending if key == sort else key != "name"
        params["order"] = "desc" if next_desc else "asc"
        aria = ("descending" if descending else "ascending") if key == sort else ""
        headers.append(SortHeader(key, label, "?" + params.urlencode(), aria))
    return headers


def _page_url(request: HttpRequest, number: int) -> str:
    params = request.GET.copy()
    params["page"] = str(number)
    return "?" + params.urlencode()


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
    try:
        data = _league(
            parsed.filters,
            now=now,
            sort=sort,
            descending=descending,
            page=request.GET.get("page"),
        )
    except DomainError as refused:
        context.update(form=parsed.form, error=refused.message, invalid=True)
        return render(request, LEAGUE_TEMPLATE, context, status=400)
    page = data.page
    return render(
        request,
        LEAGUE_TEMPLATE,
        {
            **context,
            "form": parsed.form,
            "league": data,
            "headers": _headers(request, sort, descending),
            "previous_url": _page_url(request, page.number - 1) if page.has_previous() else "",
            "next_url": _page_url(request, page.number + 1) if page.has_next() else "",
            "can_refresh": request.user.has_perm("metrics.refresh_snapshot"),
            "export_query": request.GET.urlencode(),
        },
    )


def _csv_rows(
    filters: MetricFilters, *, now: datetime, sort: str, descending: bool
) -> Iterator[tuple[Sequence[Any], Figures]]:
    """Every platform of the league, not one page: streamed from the snapshot, or live."""
    snapshot = current_snapshot()
    servable, tier = _snapshot_tier(filters)
    if snapshot is not None and servable:
        for row in stored_league_all(snapshot, tier=tier, sort=sort, descending=descending):
            group = row.figures.group
            yield (
                (_tier_label(row.tier), group.get("platform"), group.get("platform_name")),
                (row.figures),
            )
        return
    live = live_filters(filters, today=timezone.localdate(now))
    figures = compliance_figures(filters=live, group_by=("platform",), now=now)
    tiers = dict(Platform.objects.values_list("pk", "tier"))
    for f in sort_figures(
        figures, key=sort, descending=descending, label=lambda f: f.group.get("platform_name", "")
    ):
        platform_id = f.group.get("platform")
        yield (
            (
                _tier_label(tiers.get(platform_id or 0, "")),
                platform_id,
                f.group.get("platform_name"),
            ),
            f,
        )


@require_GET
@staff_view("metrics.view_figures")
def league_csv(request: HttpRequest) -> HttpResponse:
    sort, descending = _sort(request)
    try:
        parsed = parse_filters(request, template=LEAGUE_TEMPLATE, context={})
    except BadFilters as bad:
        return bad.response
    now = timezone.now()
    try:
        live_filters(parsed.filters, today=timezone.localdate(now))  # refuse before streaming
    except DomainError as refused:
        if not _snapshot_tier(parsed.filters)[0]:
            context = {"form": parsed.form, "error": refused.message, "invalid": True}
            return render(request, LEAGUE_TEMPLATE, context, status=400)
    return csv_response(
        filename=export_filename("platform-league"),
        header=figures_csv_header(["tier", "platform_id", "platform"]),
        rows=figures_csv_rows(_csv_rows(parsed.filters, now=now, sort=sort, descending=descending)),
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
DRILLDOWN_COUNT_CAP = 10_000


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
            # Counted up to a cap: an exact count of half a million items cost ~0.5 s a view.
            "total": min(total := behind[: DRILLDOWN_COUNT_CAP + 1].count(), DRILLDOWN_COUNT_CAP),
            "total_capped": total > DRILLDOWN_COUNT_CAP,
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
