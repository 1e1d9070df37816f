"""What needs a member of staff now: the dashboard's reads, a fixed number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Window
from django.utils import timezone

from cases.models import (
    OPEN_REQUEST_STATES,
    REMOVAL_OUTCOMES,
    Hold,
    Item,
    ItemStatus,
    Outcome,
    RemovalRequest,
    RequestItem,
    RequestState,
    VerificationStatus,
)
from core.alerts import alerts_open_for
from core.models import Alert

LIST_LIMIT = 10
# The dashboard's counts stop here ("1000+"): past it the exact figure changes nothing a
# supervisor does, and counting a million items on every view did (decision 0022).
COUNT_CAP = 1000


@dataclass
class WeekCounts:
    items_referred: int = 0
    requests_sent: int = 0
    answers_received: int = 0
    removals: int = 0


@dataclass
class Dashboard:
    items_awaiting_approval: int
    requests_awaiting_approval: int
    overdue_requests: Sequence[RemovalRequest]
    overdue_count: int
    threat_to_life_items: list[Item]
    clarification_lines: list[RequestItem]
    contradictions: list[Any] = field(default_factory=list)
    contradiction_count: int = 0
    week: WeekCounts = field(default_factory=WeekCounts)
    week_start: datetime | None = None
    # Open alerts for the user's role (core.alerts): escalations, stuck platforms.
    alerts: list[Alert] = field(default_factory=list)
    # Counts above this are shown as "cap+" (they were counted only that far).
    count_cap: int = COUNT_CAP


def start_of_week(now: datetime) -> datetime:
    """Monday 00:00 of the ISO week in the unit's time zone."""
    local = timezone.localtime(now)
    monday = local - timedelta(days=local.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def overdue_requests_qs(now: datetime) -> QuerySet[RemovalRequest]:
    """Open requests past their deadline (whether or not the sweeper has marked them yet)."""
    return RemovalRequest.objects.filter(
        state__in=OPEN_REQUEST_STATES, deadline__lt=now, clock_paused_at__isnull=True
    ).filter(Exists(RequestItem.objects.filter(request=OuterRef("pk"), outcome=Outcome.PENDING)))


def threat_to_life_items_qs() -> QuerySet[Item]:
    """Threat-to-life items not yet out in a sent request (nor rejected, nor held)."""
    sent = RequestItem.objects.filter(item=OuterRef("pk")).exclude(
        request__state__in=[
            RequestState.DRAFT,
            RequestState.AWAITING_APPROVAL,
            RequestState.CANCELLED,
        ]
    )
    held = Hold.objects.filter(item=OuterRef("pk"), released_at__isnull=True)
    return (
        Item.objects.filter(threat_to_life=True)
        .exclude(status=ItemStatus.REJECTED)
        .exclude(Exists(sent) | Exists(held))
    )


def contradiction_q() -> Q:
    """A request line whose operator says removed while the URL, checked since, is live.

    Only checks made at or after the answer count: a check from before the claim
    says nothing about it. (Item.verification is kept by the verification app.)
    """
    return Q(
        outcome__in=REMOVAL_OUTCOMES,
        item__verification=VerificationStatus.LIVE,
        item__verified_at__gte=F("outcome_at"),
    )


def contradiction_lines_qs() -> QuerySet[RequestItem]:
    return RequestItem.objects.filter(contradiction_q())


def _counts(querysets: dict[str, QuerySet[Any]]) -> dict[str, int]:
    """Several COUNTs in one round trip: SELECT (SELECT COUNT(*) FROM (...)), ..."""
    parts: list[str] = []
    params: list[Any] = []
    for position, queryset in enumerate(querysets.values()):
        # The SQL is Django's own compilation of the queryset, its values stay parameters.
        sql, query_params = queryset.query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted_{position})")  # noqa: S608
        params.extend(query_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return dict(zip(querysets, row, strict=True))


def _capped(queryset: QuerySet[Any], *ordering: str) -> QuerySet[Any]:
    """The rows to count, at most one past the cap (an index walk stops there).

    ``ordering`` names the index to walk when the planner would otherwise join whole tables.
    """
    return queryset.order_by(*ordering).values("pk")[: COUNT_CAP + 1]


def dashboard_for(user: Any, *, now: datetime | None = None) -> Dashboard:
    """Ten queries however large the tables (four are the session, user and permissions)."""
    now = now or timezone.now()
    week_start = start_of_week(now)
    # The first page and the total in one query: the window counts before LIMIT (a few
    # hundred open overdue requests at most).
    overdue = list(
        overdue_requests_qs(now)
        .select_related("platform")
        .annotate(total=Window(Count("id")))
        .order_by("deadline", "id")[:LIST_LIMIT]
    )
    # Newest check first, through item_live_verified_idx: stops after ten lines.
    contradictions = list(
        contradiction_lines_qs()
        .select_related("request__platform", "item")
        .order_by("-item__verified_at", "-id")[:LIST_LIMIT]
    )
    counts = _counts(
        {
            "items_awaiting_approval": _capped(
                Item.objects.filter(status=ItemStatus.PENDING_APPROVAL).exclude(created_by=user)
            ),
            "requests_awaiting_approval": _capped(
                RemovalRequest.objects.filter(state=RequestState.AWAITING_APPROVAL).exclude(
                    composed_by=user
                )
            ),
            "contradictions": _capped(contradiction_lines_qs(), "-item__verified_at"),
            "items_referred": _capped(Item.objects.filter(created_at__gte=week_start)),
            "requests_sent": _capped(RemovalRequest.objects.filter(sent_at__gte=week_start)),
            "answers_received": _capped(
                RequestItem.objects.filter(first_response_at__gte=week_start)
            ),
            "removals": _capped(
                RequestItem.objects.filter(
                    first_removal_at__gte=week_start, outcome__in=REMOVAL_OUTCOMES
                )
            ),
        }
    )
    return Dashboard(
        items_awaiting_approval=counts["items_awaiting_approval"],
        requests_awaiting_approval=counts["requests_awaiting_approval"],
        overdue_count=overdue[0].total if overdue else 0,
        overdue_requests=overdue,
        threat_to_life_items=list(
            threat_to_life_items_qs().select_related("platform").order_by("created_at")[:LIST_LIMIT]
        ),
        clarification_lines=list(
            RequestItem.objects.filter(
                outcome=Outcome.NEEDS_INFO, request__state__in=OPEN_REQUEST_STATES
            )
            .select_related("request__platform", "item")
            .order_by("outcome_at")[:LIST_LIMIT]
        ),
        contradictions=contradictions,
        contradiction_count=counts["contradictions"],
        week=WeekCounts(
            items_referred=counts["items_referred"],
            requests_sent=counts["requests_sent"],
            answers_received=counts["answers_received"],
            removals=counts["removals"],
        ),
        week_start=week_start,
        alerts=list(alerts_open_for(user)[:LIST_LIMIT]),
    )
