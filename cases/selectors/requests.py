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
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.http import QueryDict
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
from core.pagination import DEFAULT_PAGE_SIZE, KeysetPage, keyset_page
from platforms.models import Contact, Platform

# ?sort= values and their orderings; each ends in a unique column so keyset paging is total.
REQUEST_SORTS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    # Each served by a (column, id) index; a nullable leading column pages as two ranges
    # (dated rows, then undated ones: core.pagination). Platform groups by platform id,
    # not name: a name sort read every request through the join (decision 0027).
    "deadline": ("deadline", "id"),
    "sent": ("-sent_at", "-id"),
    "platform": ("-platform", "-id"),
    "reference": ("reference", "id"),
}
DEFAULT_REQUEST_SORT = "newest"

# Lines still waiting for something from the operator (a question is not an answer).
OPEN_LINE_OUTCOMES = (Outcome.PENDING, Outcome.NEEDS_INFO)


def _line_count(**conditions: Any) -> Coalesce:
    """A correlated COUNT of the request's lines: PostgreSQL computes it for the page's rows
    only (after ORDER BY ... LIMIT), where JOIN + GROUP BY counted every request's lines
    first (1.6 s at 100,000 requests)."""
    lines = (
        RequestItem.objects.filter(request=OuterRef("pk"), **conditions)
        .order_by()
        .values("request")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(lines, output_field=IntegerField()), 0)


# What a request row shows (cases/requests/list.html), and no more (see ITEM_ROW_FIELDS).
REQUEST_ROW_FIELDS = (
    "reference",
    "request_type",
    "threat_to_life",
    "is_emergency",
    "state",
    "clock_paused_at",
    "sent_at",
    "deadline",
    "created_at",
    "platform__name",
    "composed_by__username",
)


def request_list_queryset() -> QuerySet[RemovalRequest]:
    """Every request with what its list row shows, in one query per page."""
    return (
        RemovalRequest.objects.select_related("platform", "composed_by")
        .only(*REQUEST_ROW_FIELDS)
        .annotate(
            line_count=_line_count(),
            open_line_count=_line_count(outcome__in=OPEN_LINE_OUTCOMES),
            removed_line_count=_line_count(
                outcome__in=[Outcome.REMOVED, Outcome.ACCESS_DISABLED, Outcome.ALREADY_GONE]
            ),
            has_question=Exists(
                RequestItem.objects.filter(request=OuterRef("pk"), outcome=Outcome.NEEDS_INFO)
            ),
        )
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
    """Search by reference (any part, e.g. "000123") or platform name.

    The platforms are matched first, in a query of their own (a small table): with their
    ids as constants the planner combines the reference's trigram index (cases 0013) and
    the platform index (2.9 ms at 100k requests). An OR across the join, or with the
    platforms as a subquery it cannot estimate, walks the newest requests one by one
    (34-61 ms)."""
    text = text.strip()
    if not text:
        return queryset
    platform_ids = list(Platform.objects.filter(name__icontains=text).values_list("pk", flat=True))
    return queryset.filter(Q(reference__icontains=text) | Q(platform_id__in=platform_ids))


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


# The request page shows its lines a page at a time (the largest request at scale has
# 2,571: rendering them all took 3-7 s) and the latest answers on its timeline.
LINES_PAGE_SIZE = DEFAULT_PAGE_SIZE  # 50, as the lists
TIMELINE_RECORDS_LIMIT = 50


@dataclass
class RequestDetail:
    request: RemovalRequest
    # One page of lines, annotated with ``contradicted`` (operator says removed, the
    # latest check says live).
    lines: Sequence[RequestItem]
    contacts: list[Contact]
    timeline: list[TimelineEntry]
    web_forms_pending: list[Correspondence]
    answerable: bool
    counts: dict[str, int] = field(default_factory=dict)
    lines_page: KeysetPage | None = None
    line_total: int = 0
    # The number the first line of the page shows (lines are numbered across pages).
    first_line_number: int = 1
    last_line_number: int = 0
    # More answers were recorded than the timeline shows (each line shows its own).
    earlier_records: bool = False
    timeline_records_limit: int = TIMELINE_RECORDS_LIMIT


def request_for_detail(pk: Any) -> RemovalRequest:
    return get_object_or_404(
        RemovalRequest.objects.select_related("platform", "composed_by", "approved_by"), pk=pk
    )


def _lines_cursor(params: QueryDict | None) -> QueryDict:
    """``?lines_after=`` / ``?lines_before=`` as the pager's ``after`` / ``before``: the page's
    other query parameters stay the page's own."""
    cursor = QueryDict(mutable=True)
    for name in ("after", "before"):
        value = params.get(f"lines_{name}") if params is not None else None
        if value:
            cursor[name] = value
    return cursor


def _pending_web_forms(correspondence: list[Correspondence]) -> list[Correspondence]:
    """``_web_form_pending`` for one request, from its correspondence already read."""
    submitted = {
        row.contact_id
        for row in correspondence
        if row.direction == CorrespondenceDirection.OUTBOUND
        and row.channel == CorrespondenceChannel.WEB_FORM
        and row.contact_id is not None
    }
    return [
        row
        for row in correspondence
        if row.direction == CorrespondenceDirection.INTERNAL
        and row.channel == CorrespondenceChannel.WEB_FORM
        and row.contact_id not in submitted
    ]


def request_detail(request: RemovalRequest, params: QueryDict | None = None) -> RequestDetail:
    """Everything the request page shows: facts, a page of lines with outcomes, the timeline.

    A fixed number of queries however many lines, answers or messages (tests/
    test_detail_page_queries.py): one page of lines, their counts by outcome in one grouped
    query, the latest TIMELINE_RECORDS_LIMIT answers.
    """
    lines_page = keyset_page(
        request.lines.select_related("item")
        # "Operator says removed, URL still live": flagged per line on the page.
        .annotate(contradicted=ExpressionWrapper(contradiction_q(), output_field=BooleanField())),
        ordering=("id",),
        params=_lines_cursor(params),
        page_size=LINES_PAGE_SIZE,
    )
    lines = list(lines_page.rows)
    first_id = lines[0].pk if lines else 0
    outcome_counts: dict[str, int] = {}
    before = 0
    for outcome, n, earlier in (
        request.lines.order_by()
        .values_list("outcome")
        .annotate(n=Count("id"), earlier=Count("id", filter=Q(id__lt=first_id)))
    ):
        outcome_counts[outcome] = n
        before += earlier
    contacts = list(request.contacts.select_related("platform").order_by("-is_primary", "id"))
    correspondence = list(
        # The raw MIME can be large; the page shows the text, not the bytes.
        Correspondence.objects.filter(request=request)
        .defer("raw", "payload")
        .select_related("author", "contact")
    )
    records = list(
        OutcomeRecord.objects.filter(line__request=request)
        .select_related("line__item", "recorded_by", "contact")
        .order_by("-recorded_at", "-id")[: TIMELINE_RECORDS_LIMIT + 1]
    )
    earlier_records = len(records) > TIMELINE_RECORDS_LIMIT
    records = records[:TIMELINE_RECORDS_LIMIT]
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
    return RequestDetail(
        request=request,
        lines=lines,
        contacts=contacts,
        timeline=timeline,
        web_forms_pending=_pending_web_forms(correspondence),
        answerable=request.state in ANSWERABLE_STATES,
        counts=outcome_counts,
        lines_page=lines_page,
        line_total=sum(outcome_counts.values()),
        first_line_number=before + 1,
        last_line_number=before + len(lines),
        earlier_records=earlier_records,
        timeline_records_limit=TIMELINE_RECORDS_LIMIT,
    )


def requestable_states() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in RequestState.choices]
