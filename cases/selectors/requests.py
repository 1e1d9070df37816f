"""Reads for the removal-request pages: the list (fixed query count) and the detail timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    OPEN_REQUEST_STATES,
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    Item,
    Outcome,
    OutcomeRecord,
    RemovalRequest,
    RequestItem,
    RequestState,
)
from cases.selectors.dashboard import contradiction_q, overdue_requests_qs
from cases.services.outcomes import ANSWERABLE_STATES
from cases.services.requests import items_ready_to_send
from core.audit import audit_history
from core.models import AuditEvent
from platforms.models import Contact, Platform

# ?sort= values and their orderings; each ends in a unique column so keyset paging is total.
REQUEST_SORTS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "deadline": ("deadline", "id"),
    "sent": ("-sent_at", "-id"),
    "platform": ("platform__name", "id"),
    "reference": ("reference", "id"),
}
DEFAULT_REQUEST_SORT = "newest"

# Lines still waiting for something from the operator (a question is not an answer).
OPEN_LINE_OUTCOMES = (Outcome.PENDING, Outcome.NEEDS_INFO)


def request_list_queryset() -> QuerySet[RemovalRequest]:
    """Every request with what its list row shows, in one query per page."""
    return RemovalRequest.objects.select_related("platform", "composed_by", "approved_by").annotate(
        line_count=Count("lines"),
        open_line_count=Count("lines", filter=Q(lines__outcome__in=OPEN_LINE_OUTCOMES)),
        removed_line_count=Count(
            "lines",
            filter=Q(
                lines__outcome__in=[Outcome.REMOVED, Outcome.ACCESS_DISABLED, Outcome.ALREADY_GONE]
            ),
        ),
        has_question=Exists(
            RequestItem.objects.filter(request=OuterRef("pk"), outcome=Outcome.NEEDS_INFO)
        ),
    )


def requests_overdue(
    queryset: QuerySet[RemovalRequest], *, now: datetime | None = None
) -> QuerySet[RemovalRequest]:
    """The dashboard's definition, so its "overdue" count and the filtered list agree."""
    overdue = overdue_requests_qs(now or timezone.now()).filter(pk=OuterRef("pk"))
    return queryset.filter(Exists(overdue))


def requests_with_open_question(queryset: QuerySet[RemovalRequest]) -> QuerySet[RemovalRequest]:
    """Open requests where the operator asked for clarification and the unit owes an answer."""
    question = RequestItem.objects.filter(request=OuterRef("pk"), outcome=Outcome.NEEDS_INFO)
    return queryset.filter(Exists(question), state__in=OPEN_REQUEST_STATES)


def _web_form_pending() -> QuerySet[Correspondence]:
    """Notes "submit via web form" on a request with no recorded submission for that contact."""
    submitted = Correspondence.objects.filter(
        request=OuterRef("request"),
        contact=OuterRef("contact"),
        direction=CorrespondenceDirection.OUTBOUND,
        channel=CorrespondenceChannel.WEB_FORM,
    )
    return Correspondence.objects.filter(
        direction=CorrespondenceDirection.INTERNAL, channel=CorrespondenceChannel.WEB_FORM
    ).exclude(Exists(submitted))


def requests_needing_web_form(queryset: QuerySet[RemovalRequest]) -> QuerySet[RemovalRequest]:
    return queryset.filter(Exists(_web_form_pending().filter(request=OuterRef("pk"))))


def requests_matching(queryset: QuerySet[RemovalRequest], text: str) -> QuerySet[RemovalRequest]:
    """Search by reference (any part, e.g. "000123") or platform name."""
    text = text.strip()
    if not text:
        return queryset
    return queryset.filter(Q(reference__icontains=text) | Q(platform__name__icontains=text))


# --- composing --------------------------------------------------------------------


@dataclass(frozen=True)
class ReadyPlatform:
    platform: Platform
    ready: int
    threat_to_life: int


def platforms_with_ready_items() -> list[ReadyPlatform]:
    """Platforms with approved, unsent, unheld items: what "compose" would pick up."""
    counts = (
        items_ready_to_send()
        .order_by()
        .values("platform_id")
        .annotate(ready=Count("id"), ttl=Count("id", filter=Q(threat_to_life=True)))
    )
    by_platform = {row["platform_id"]: row for row in counts}
    platforms = Platform.objects.filter(pk__in=list(by_platform)).order_by("name")
    return [
        ReadyPlatform(
            platform=platform,
            ready=by_platform[platform.pk]["ready"],
            threat_to_life=by_platform[platform.pk]["ttl"],
        )
        for platform in platforms
    ]


def ready_items_of(platform: Platform, *, threat_to_life_only: bool = False) -> list[Item]:
    items = items_ready_to_send().filter(platform=platform)
    if threat_to_life_only:
        items = items.filter(threat_to_life=True)
    return list(items.order_by("created_at", "id"))


# --- the detail page ------------------------------------------------------------------

# Audit actions shown on the timeline; outcome audits are left out (the records show them).
TIMELINE_ACTIONS = (
    "request.composed",
    "request.state_changed",
    "request.clock_paused",
    "request.clock_resumed",
    "outbound_email.failed",
    "outbound_email.retry_requested",
)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    # "correspondence", "outcome" or "event"; the template renders each kind.
    kind: str
    correspondence: Correspondence | None = None
    record: OutcomeRecord | None = None
    event: AuditEvent | None = None
    # For events: what happened, in words (the template adds who and when).
    text: str = ""


# Within one instant, what caused what: a state change, then the messages it sent, then answers.
_KIND_ORDER = {"event": 0, "correspondence": 1, "outcome": 2}


def _timeline_order(entry: TimelineEntry) -> tuple[datetime, int, int]:
    row = entry.event or entry.correspondence or entry.record
    return (entry.at, _KIND_ORDER[entry.kind], row.pk if row is not None else 0)


def _state_label(value: Any) -> str:
    try:
        return str(RequestState(value).label)
    except ValueError:
        return str(value)


def _event_text(event: AuditEvent) -> str:
    old, new, extra = event.old or {}, event.new or {}, event.extra or {}
    if event.action == "request.composed":
        text = _("Composed with %(count)s URLs") % {"count": new.get("items", "?")}
    elif event.action == "request.state_changed":
        text = _("%(old)s → %(new)s") % {
            "old": _state_label(old.get("state")),
            "new": _state_label(new.get("state")),
        }
    elif event.action == "request.clock_paused":
        text = _("Legal clock paused: the operator asked for clarification")
    elif event.action == "request.clock_resumed":
        text = _("Legal clock resumed after a pause of %(minutes)d minutes") % {
            "minutes": int(extra.get("paused_seconds", 0)) // 60
        }
    elif event.action == "outbound_email.failed":
        text = _("Email to %(to)s failed: %(error)s") % {
            "to": new.get("to", "?"),
            "error": extra.get("error", ""),
        }
    elif event.action == "outbound_email.retry_requested":
        text = _("Failed email queued again")
    else:
        text = event.action
    if extra.get("reason") and event.action != "outbound_email.failed":
        text += " — " + _("reason: %(reason)s") % {"reason": extra["reason"]}
    return text


@dataclass
class RequestDetail:
    request: RemovalRequest
    # Annotated with ``contradicted`` (operator says removed, the latest check says live).
    lines: Sequence[RequestItem]
    contacts: list[Contact]
    timeline: list[TimelineEntry]
    web_forms_pending: list[Correspondence]
    answerable: bool
    counts: dict[str, int] = field(default_factory=dict)


def request_for_detail(pk: Any) -> RemovalRequest:
    return get_object_or_404(
        RemovalRequest.objects.select_related("platform", "composed_by", "approved_by"), pk=pk
    )


def request_detail(request: RemovalRequest) -> RequestDetail:
    """Everything the request page shows: facts, lines with outcomes, and the timeline."""
    lines = list(
        request.lines.select_related("item")
        # "Operator says removed, URL still live": flagged per line on the page.
        .annotate(contradicted=ExpressionWrapper(contradiction_q(), output_field=BooleanField()))
        .order_by("id")
    )
    contacts = list(request.contacts.select_related("platform").order_by("-is_primary", "id"))
    correspondence = list(
        # The raw MIME can be large; the page shows the text, not the bytes.
        Correspondence.objects.filter(request=request)
        .defer("raw", "payload")
        .select_related("author", "contact")
    )
    records = list(
        OutcomeRecord.objects.filter(line__request=request).select_related(
            "line__item", "recorded_by", "contact"
        )
    )
    events = list(audit_history(request).filter(action__in=TIMELINE_ACTIONS))
    timeline = sorted(
        [
            TimelineEntry(at=row.created_at, kind="correspondence", correspondence=row)
            for row in correspondence
        ]
        + [TimelineEntry(at=row.recorded_at, kind="outcome", record=row) for row in records]
        + [
            TimelineEntry(at=row.created_at, kind="event", event=row, text=_event_text(row))
            for row in events
        ],
        key=_timeline_order,
    )
    pending_forms = [
        row for row in _web_form_pending().filter(request=request).select_related("contact")
    ]
    outcome_counts: dict[str, int] = {}
    for line in lines:
        outcome_counts[line.outcome] = outcome_counts.get(line.outcome, 0) + 1
    return RequestDetail(
        request=request,
        lines=lines,
        contacts=contacts,
        timeline=timeline,
        web_forms_pending=pending_forms,
        answerable=request.state in ANSWERABLE_STATES,
        counts=outcome_counts,
    )


def requestable_states() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in RequestState.choices]
