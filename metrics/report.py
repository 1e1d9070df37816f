"""The unit's transparency report for a period, in the shape of TCO Art. 8 plus referral figures.

Regulation (EU) 2021/784, Art. 8(1): a competent authority reports the removal orders
it issued, how many were subject to the cross-border procedure (Art. 4: the hosting
provider's main establishment is in another Member State), and how the providers
implemented them: content removed or access disabled, or not, and why. Referrals
(voluntary, under the platforms' terms) are reported beside them, as Europol's IRU
and Tech Against Terrorism do.

Counting follows DESIGN §5: orders are counted per request sent in the period,
outcomes per request item (its latest outcome). Cross-border: the platform's country
of jurisdiction is set and differs from ``settings.UNIT_COUNTRY``; a platform with
no country recorded is counted apart, never guessed (docs/decisions/0013).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    REMOVAL_OUTCOMES,
    LegalBasis,
    Outcome,
    RemovalRequest,
    RequestType,
)
from metrics.figures import FIGURE_DEFINITIONS, FIGURE_SCOPE, Figures, MetricFilters
from metrics.queries import filtered_request_items
from metrics.selectors import compliance_figures

# Why content was not removed, in the report's order: the operators' answers first,
# then what the unit recorded (no answer by the deadline), then what is still open.
NOT_REMOVED_OUTCOMES: tuple[str, ...] = (
    Outcome.REFUSED_NOT_VIOLATING,
    Outcome.REFUSED_NO_JURISDICTION,
    Outcome.UNABLE,
    Outcome.RESTRICTED,
    Outcome.FORWARDED,
    Outcome.NEEDS_INFO,
    Outcome.NO_RESPONSE,
    Outcome.PENDING,
)


@dataclass(frozen=True)
class Count_:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class OrdersIssued:
    total: int
    emergency: int
    cross_border: int
    domestic: int
    country_unknown: int
    by_legal_basis: list[Count_]


@dataclass(frozen=True)
class OrderOutcomes:
    items: int
    removed: int
    removed_by_outcome: list[Count_]
    not_removed: int
    not_removed_by_reason: list[Count_]


@dataclass(frozen=True)
class ReferralFigures:
    requests: int
    figures: Figures


@dataclass(frozen=True)
class TransparencyReport:
    start: date
    end: date  # excluded
    generated_at: datetime
    unit_name: str
    unit_country: str
    time_zone: str
    orders: OrdersIssued
    order_outcomes: OrderOutcomes
    referrals: ReferralFigures
    platforms: list[Figures]
    definitions: tuple[tuple[str, str, str], ...]
    scope: str

    @property
    def last_day(self) -> date:
        from datetime import timedelta

        return self.end - timedelta(days=1)


def _requests(filters: MetricFilters) -> tuple[OrdersIssued, int]:
    """Removal orders sent in the period, and referral requests: ONE aggregate query."""
    sent = RemovalRequest.objects.filter(sent_at__gte=filters.start_at, sent_at__lt=filters.end_at)
    unit_country = settings.UNIT_COUNTRY.upper()
    order = Q(request_type=RequestType.REMOVAL_ORDER)
    counts = sent.aggregate(
        total=Count("id", filter=order),
        emergency=Count("id", filter=order & Q(is_emergency=True)),
        country_unknown=Count("id", filter=order & Q(platform__country="")),
        domestic=Count("id", filter=order & Q(platform__country=unit_country)),
        referrals=Count("id", filter=Q(request_type=RequestType.REFERRAL)),
        **{
            f"basis_{value}": Count("id", filter=order & Q(legal_basis=value))
            for value in LegalBasis.values
        },
    )
    orders = OrdersIssued(
        total=counts["total"],
        emergency=counts["emergency"],
        cross_border=counts["total"] - counts["country_unknown"] - counts["domestic"],
        domestic=counts["domestic"],
        country_unknown=counts["country_unknown"],
        by_legal_basis=[
            Count_(str(value), str(label), counts[f"basis_{value}"])
            for value, label in LegalBasis.choices
            if counts[f"basis_{value}"]
        ],
    )
    return orders, counts["referrals"]


def _order_outcomes(filters: MetricFilters) -> OrderOutcomes:
    """Items of those orders by latest outcome: one GROUP BY query."""
    order_filters = MetricFilters(
        start=filters.start, end=filters.end, request_types=(RequestType.REMOVAL_ORDER,)
    )
    by_outcome = dict(
        filtered_request_items(order_filters)
        .order_by()
        .values_list("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    removed = [
        Count_(str(o), str(Outcome(o).label), by_outcome.get(o, 0)) for o in REMOVAL_OUTCOMES
    ]
    not_removed = [
        Count_(str(o), str(Outcome(o).label), by_outcome.get(o, 0)) for o in NOT_REMOVED_OUTCOMES
    ]
    return OrderOutcomes(
        items=sum(by_outcome.values()),
        removed=sum(c.count for c in removed),
        removed_by_outcome=removed,
        not_removed=sum(c.count for c in not_removed),
        not_removed_by_reason=not_removed,
    )


def transparency_report(
    *, start: date, end: date, now: datetime | None = None
) -> TransparencyReport:
    """What the report prints for the half-open period [start, end), in the unit's time zone."""
    now = now or timezone.now()
    period = MetricFilters(start=start, end=end)
    referral_filters = MetricFilters(start=start, end=end, request_types=(RequestType.REFERRAL,))
    [referral_figures] = compliance_figures(filters=referral_filters, now=now)
    orders, referral_requests = _requests(period)
    return TransparencyReport(
        start=start,
        end=end,
        generated_at=now,
        unit_name=settings.UNIT_NAME,
        unit_country=settings.UNIT_COUNTRY.upper(),
        time_zone=settings.TIME_ZONE,
        orders=orders,
        order_outcomes=_order_outcomes(period),
        referrals=ReferralFigures(requests=referral_requests, figures=referral_figures),
        platforms=compliance_figures(filters=period, group_by=("platform",), now=now),
        definitions=FIGURE_DEFINITIONS,
        scope=FIGURE_SCOPE,
    )


def cross_border_rule() -> str:
    return _(
        "A removal order counts as cross-border (TCO Art. 4) when the platform's recorded "
        "country of jurisdiction is not the unit's country (%(country)s). Orders to "
        "platforms with no country recorded are counted separately, not guessed."
    ) % {"country": settings.UNIT_COUNTRY.upper()}


def report_csv_rows(report: TransparencyReport) -> list[list[object]]:
    """The report as (section, figure, value) rows, plus the per-platform table."""
    rows: list[list[object]] = [
        ["period", "start", report.start.isoformat()],
        ["period", "end_excluded", report.end.isoformat()],
        ["period", "time_zone", report.time_zone],
        ["removal_orders", "issued", report.orders.total],
        ["removal_orders", "emergency", report.orders.emergency],
        ["removal_orders", "cross_border", report.orders.cross_border],
        ["removal_orders", "domestic", report.orders.domestic],
        ["removal_orders", "platform_country_unknown", report.orders.country_unknown],
    ]
    rows += [
        ["removal_orders_by_legal_basis", c.key, c.count] for c in report.orders.by_legal_basis
    ]
    outcomes = report.order_outcomes
    rows += [
        ["removal_order_items", "total", outcomes.items],
        ["removal_order_items", "removed_or_disabled", outcomes.removed],
        ["removal_order_items", "not_removed", outcomes.not_removed],
    ]
    rows += [["removal_order_items_removed", c.key, c.count] for c in outcomes.removed_by_outcome]
    rows += [
        ["removal_order_items_not_removed", c.key, c.count] for c in outcomes.not_removed_by_reason
    ]
    figures = report.referrals.figures
    rows += [
        ["referrals", "requests_sent", report.referrals.requests],
        ["referrals", "items_requested", figures.requested],
        ["referrals", "responded", figures.responded],
        ["referrals", "removed", figures.removed],
        ["referrals", "response_rate", _round(figures.response_rate)],
        ["referrals", "removal_rate", _round(figures.removal_rate)],
        ["referrals", "verified_removal_rate", _round(figures.verified_removal_rate)],
        ["referrals", "median_hours_to_response", _round(figures.median_hours_to_response)],
        ["referrals", "median_hours_to_removal", _round(figures.median_hours_to_removal)],
    ]
    for platform in report.platforms:
        name = platform.group.get("platform_name", "")
        rows += [
            [f"platform:{name}", "requested", platform.requested],
            [f"platform:{name}", "removed", platform.removed],
            [f"platform:{name}", "removal_rate", _round(platform.removal_rate)],
            [f"platform:{name}", "response_rate", _round(platform.response_rate)],
            [
                f"platform:{name}",
                "median_hours_to_removal",
                _round(platform.median_hours_to_removal),
            ],
        ]
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --- stored with the snapshot ------------------------------------------------------------


def figures_to_json(figures: Figures) -> dict[str, object]:
    return {
        "requested": figures.requested,
        "responded": figures.responded,
        "removed": figures.removed,
        "verified_removed": figures.verified_removed,
        "removed_on_time": figures.removed_on_time,
        "overdue_open": figures.overdue_open,
        "median_hours_to_response": figures.median_hours_to_response,
        "median_hours_to_removal": figures.median_hours_to_removal,
        "refusal_breakdown": dict(figures.refusal_breakdown),
    }


def figures_from_json(data: dict[str, Any]) -> Figures:
    return Figures(
        requested=int(data["requested"]),
        responded=int(data["responded"]),
        removed=int(data["removed"]),
        verified_removed=int(data["verified_removed"]),
        removed_on_time=int(data["removed_on_time"]),
        overdue_open=int(data["overdue_open"]),
        median_hours_to_response=data["median_hours_to_response"],
        median_hours_to_removal=data["median_hours_to_removal"],
        refusal_breakdown={k: int(v) for k, v in data["refusal_breakdown"].items()},
    )


def _counts(counts: list[Count_]) -> list[dict[str, object]]:
    return [{"key": c.key, "label": c.label, "count": c.count} for c in counts]


def _counts_back(data: list[dict[str, Any]], labels: Any) -> list[Count_]:
    """Labels from the choices again, in the reader's language (the key is what is stored)."""
    return [Count_(str(c["key"]), str(labels(c["key"]).label), int(c["count"])) for c in data]


def report_to_json(report: TransparencyReport) -> dict[str, object]:
    """The report without its per-platform table (stored as snapshot rows), as JSON."""
    orders, outcomes = report.orders, report.order_outcomes
    return {
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "orders": {
            "total": orders.total,
            "emergency": orders.emergency,
            "cross_border": orders.cross_border,
            "domestic": orders.domestic,
            "country_unknown": orders.country_unknown,
            "by_legal_basis": _counts(orders.by_legal_basis),
        },
        "order_outcomes": {
            "items": outcomes.items,
            "removed": outcomes.removed,
            "removed_by_outcome": _counts(outcomes.removed_by_outcome),
            "not_removed": outcomes.not_removed,
            "not_removed_by_reason": _counts(outcomes.not_removed_by_reason),
        },
        "referrals": {
            "requests": report.referrals.requests,
            "figures": figures_to_json(report.referrals.figures),
        },
    }


def report_from_json(
    data: dict[str, Any], *, generated_at: datetime, platforms: list[Figures]
) -> TransparencyReport:
    """The stored report back, with ``platforms`` read from the snapshot's rows."""
    orders, outcomes = data["orders"], data["order_outcomes"]
    return TransparencyReport(
        start=date.fromisoformat(data["start"]),
        end=date.fromisoformat(data["end"]),
        generated_at=generated_at,
        unit_name=settings.UNIT_NAME,
        unit_country=settings.UNIT_COUNTRY.upper(),
        time_zone=settings.TIME_ZONE,
        orders=OrdersIssued(
            total=int(orders["total"]),
            emergency=int(orders["emergency"]),
            cross_border=int(orders["cross_border"]),
            domestic=int(orders["domestic"]),
            country_unknown=int(orders["country_unknown"]),
            by_legal_basis=_counts_back(orders["by_legal_basis"], LegalBasis),
        ),
        order_outcomes=OrderOutcomes(
            items=int(outcomes["items"]),
            removed=int(outcomes["removed"]),
            removed_by_outcome=_counts_back(outcomes["removed_by_outcome"], Outcome),
            not_removed=int(outcomes["not_removed"]),
            not_removed_by_reason=_counts_back(outcomes["not_removed_by_reason"], Outcome),
        ),
        referrals=ReferralFigures(
            requests=int(data["referrals"]["requests"]),
            figures=figures_from_json(data["referrals"]["figures"]),
        ),
        platforms=platforms,
        definitions=FIGURE_DEFINITIONS,
        scope=FIGURE_SCOPE,
    )
