"""What needs a member of staff now: the dashboard's reads, a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

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
    overdue_requests: list[RemovalRequest]
    overdue_count: int
    threat_to_life_items: list[Item]
    clarification_lines: list[RequestItem]
    contradictions: list[Any] = field(default_factory=list)
    contradiction_count: int = 0
    week: WeekCounts = field(default_factory=WeekCounts)
    week_start: datetime | None = None
    # Open alerts for the user's role (core.alerts): escalations, stuck platforms.
    alerts: list[Alert] = field(default_factory=list)


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


def dashboard_for(user: Any, *, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    week_start = start_of_week(now)
    overdue = overdue_requests_qs(now)
    # The first page and the total in one query: the window counts before LIMIT.
    contradictions = list(
        contradiction_lines_qs()
        .select_related("request__platform", "item")
        .annotate(total=Window(Count("id")))
        .order_by("-item__verified_at", "-id")[:LIST_LIMIT]
    )
    return Dashboard(
        items_awaiting_approval=Item.objects.filter(status=ItemStatus.PENDING_APPROVAL)
        .exclude(created_by=user)
        .count(),
        requests_awaiting_approval=RemovalRequest.objects.filter(
            state=RequestState.AWAITING_APPROVAL
        )
        .exclude(composed_by=user)
        .count(),
        overdue_count=overdue.count(),
        overdue_requests=list(overdue.select_related("platform").order_by("deadline")[:LIST_LIMIT]),
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
        contradiction_count=contradictions[0].total if contradictions else 0,
        week=_week_counts(week_start),
        week_start=week_start,
        alerts=list(alerts_open_for(user)[:LIST_LIMIT]),
    )


def _week_counts(week_start: datetime) -> WeekCounts:
    items = Item.objects.filter(created_at__gte=week_start).count()
    requests = RemovalRequest.objects.filter(sent_at__gte=week_start).count()
    answers = RequestItem.objects.aggregate(
        answered=Count("id", filter=Q(first_response_at__gte=week_start)),
        removed=Count(
            "id", filter=Q(first_removal_at__gte=week_start, outcome__in=REMOVAL_OUTCOMES)
        ),
    )
    return WeekCounts(
        items_referred=items,
        requests_sent=requests,
        answers_received=answers["answered"],
        removals=answers["removed"],
    )
