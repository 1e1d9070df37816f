"""Removal requests: composing, the approval and sending steps, the state machine, the clock.

Every state change goes through ``_transition`` which refuses moves the table
below does not allow, with a message naming the request and both states.
Sending the email itself is orchestrated by ``notifications`` (a higher layer),
which calls ``request_mark_sent`` here inside its transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from cases.models import (
    UNANSWERED_OUTCOMES,
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    Hold,
    Item,
    ItemStatus,
    LadderStep,
    LegalBasis,
    Outcome,
    ReferenceCounter,
    RemovalRequest,
    RequestItem,
    RequestState,
    RequestType,
)
from cases.selectors.ladder import deadline_offset, ladder_policy_for, rung_times
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError, FourEyesViolation, IllegalTransition
from platforms.models import Contact, Platform

S = RequestState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.AWAITING_APPROVAL, S.CANCELLED}),
    S.AWAITING_APPROVAL: frozenset({S.DRAFT, S.SENT, S.CANCELLED}),
    S.SENT: frozenset({S.PARTLY_ANSWERED, S.ANSWERED, S.OVERDUE, S.ESCALATED, S.CLOSED}),
    S.PARTLY_ANSWERED: frozenset({S.ANSWERED, S.OVERDUE, S.ESCALATED, S.CLOSED}),
    S.OVERDUE: frozenset({S.ANSWERED, S.ESCALATED, S.CLOSED}),
    S.ESCALATED: frozenset({S.ANSWERED, S.CLOSED}),
    S.ANSWERED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}


def _transition(
    request: RemovalRequest,
    to: RequestState,
    *,
    actor: Any = None,
    actor_label: str = "",
    extra: dict[str, Any] | None = None,
) -> None:
    if to not in TRANSITIONS[request.state]:
        raise IllegalTransition(
            f"Request {request.reference} is {RequestState(request.state).label.lower()}; "
            f"it cannot become {to.label.lower()}."
        )
    old = request.state
    request.state = to
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="request.state_changed",
        target=request,
        old={"state": old},
        new={"state": to.value},
        extra=extra,
    )


def lock_request(request: RemovalRequest) -> RemovalRequest:
    """Re-read the request under a row lock so concurrent steps serialise."""
    return RemovalRequest.objects.select_for_update().get(pk=request.pk)


def request_reference_next(*, year: int) -> str:
    """The next reference of ``year``, atomically (two composers never share a number)."""
    ReferenceCounter.objects.get_or_create(year=year)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_referencecounter SET last_number = last_number + 1 "
            "WHERE year = %s RETURNING last_number",
            [year],
        )
        (number,) = cursor.fetchone()
    return f"TKD-{year:04d}-{number:06d}"


def items_ready_to_send() -> QuerySet[Item]:
    """Approved items not on hold and not in any request that was not cancelled."""
    active_hold = Hold.objects.filter(item=OuterRef("pk"), released_at__isnull=True)
    in_request = RequestItem.objects.filter(item=OuterRef("pk")).exclude(
        request__state=RequestState.CANCELLED
    )
    return Item.objects.filter(status=ItemStatus.APPROVED, platform__isnull=False).exclude(
        Exists(active_hold) | Exists(in_request)
    )


def _default_legal_basis(request_type: str, items: list[Item]) -> str:
    if request_type == RequestType.REMOVAL_ORDER:
        return LegalBasis.TCO_REGULATION
    bases = {item.legal_basis for item in items}
    return bases.pop() if len(bases) == 1 else LegalBasis.TERMS_OF_SERVICE


def request_language(platform: Platform) -> str:
    primary = platform.contacts.filter(is_active=True, is_primary=True).first()
    return primary.effective_language if primary else platform.preferred_language


@transaction.atomic
def request_compose(
    *,
    platform: Platform,
    composed_by: Any = None,
    items: Iterable[Item] | None = None,
    request_type: str = RequestType.REFERRAL,
    legal_basis: str = "",
    is_emergency: bool = False,
) -> RemovalRequest:
    """Draft one request to ``platform`` for ``items`` (default: all its items ready to send)."""
    ready = items_ready_to_send().filter(platform=platform).select_for_update(of=("self",))
    if items is None:
        chosen = list(ready.order_by("created_at", "id"))
    else:
        wanted = {item.pk for item in items}
        chosen = list(ready.filter(pk__in=wanted).order_by("created_at", "id"))
        missing = wanted - {item.pk for item in chosen}
        if missing:
            urls = Item.objects.filter(pk__in=missing).values_list("url_normalised", flat=True)
            raise DomainError(
                "These items cannot go in a request to "
                f"{platform.name} (not approved, on hold, already requested, or another "
                f"platform's): {', '.join(sorted(urls))}"
            )
    if not chosen:
        raise DomainError(f"{platform.name} has no approved items waiting to be sent.")
    if request_type == RequestType.REMOVAL_ORDER and not is_emergency:
        _check_tco_advance_notice(platform)

    now = timezone.localtime()
    request = RemovalRequest.objects.create(
        reference=request_reference_next(year=now.year),
        platform=platform,
        request_type=request_type,
        legal_basis=legal_basis or _default_legal_basis(request_type, chosen),
        language=request_language(platform),
        threat_to_life=any(item.threat_to_life for item in chosen),
        is_emergency=is_emergency,
        composed_by=composed_by,
    )
    RequestItem.objects.bulk_create([RequestItem(request=request, item=item) for item in chosen])
    request.contacts.set(Contact.objects.filter(platform=platform, is_active=True))
    audit_record(
        actor=composed_by,
        action="request.composed",
        target=request,
        new={"items": len(chosen), "type": request_type},
    )
    return request


def requests_compose_weekly(*, composed_by: Any = None) -> list[RemovalRequest]:
    """One draft referral per platform from all its approved, unsent, unheld items.

    Where the operator cannot act the drafts go to its upstream providers; where
    nobody can be written to, supervisors get an alert (cases.services.upstream).
    """
    # Imported here: upstream builds on this module's composing functions.
    from cases.services.upstream import requests_compose_weekly_run

    return requests_compose_weekly_run(composed_by=composed_by).all_drafts


def _check_tco_advance_notice(platform: Platform) -> None:
    already_ordered = RemovalRequest.objects.filter(
        platform=platform,
        request_type=RequestType.REMOVAL_ORDER,
        sent_at__isnull=False,
    ).exists()
    if already_ordered:
        return
    notice_hours = settings.TCO_ADVANCE_NOTICE_HOURS
    notice_at = platform.tco_advance_notice_at
    if notice_at is None or timezone.now() - notice_at < timedelta(hours=notice_hours):
        raise DomainError(
            f"{platform.name} has never received a removal order: TCO Art. 3(2) requires "
            f"advance notice at least {notice_hours} hours before the first one "
            "(record it on the platform), unless the order is an emergency."
        )


@transaction.atomic
def request_submit(*, request: RemovalRequest, by: Any) -> RemovalRequest:
    """Draft → awaiting approval."""
    request = lock_request(request)
    if not request.lines.exists():
        raise DomainError(f"Request {request.reference} has no items.")
    _transition(request, S.AWAITING_APPROVAL, actor=by)
    request.save(update_fields=["state", "updated_at"])
    return request


@transaction.atomic
def request_return_to_draft(*, request: RemovalRequest, by: Any, reason: str) -> RemovalRequest:
    request = lock_request(request)
    _transition(request, S.DRAFT, actor=by, extra={"reason": reason})
    request.save(update_fields=["state", "updated_at"])
    return request


@transaction.atomic
def request_cancel(*, request: RemovalRequest, by: Any, reason: str) -> RemovalRequest:
    """Discard a request that was never sent; its items become ready to send again."""
    if not reason.strip():
        raise DomainError("Say why the request is cancelled.")
    request = lock_request(request)
    _transition(request, S.CANCELLED, actor=by, extra={"reason": reason})
    request.closed_at = timezone.now()
    request.save(update_fields=["state", "closed_at", "updated_at"])
    return request


def deadline_for(request: RemovalRequest, *, sent_at: datetime) -> datetime:
    """The ladder's deadline (cases.selectors.ladder): a removal order's is the law's,
    24/7 on hours; a referral's counts from the platform's response target in days."""
    policy = ladder_policy_for(request_type=request.request_type, platform=request.platform)
    return sent_at + deadline_offset(policy, request.platform)


@transaction.atomic
def request_mark_sent(
    *, request: RemovalRequest, approver: Any, at: datetime | None = None
) -> RemovalRequest:
    """Awaiting approval → sent, by a supervisor other than the composer; starts the clock."""
    require_permission(approver, "cases.approve_request", "approve and send requests")
    request = lock_request(request)
    if request.composed_by_id is not None and request.composed_by_id == approver.pk:
        raise FourEyesViolation(
            f"You composed {request.reference}; another supervisor must approve and send it."
        )
    if (
        request.state == S.AWAITING_APPROVAL
        and not request.contacts.filter(is_active=True).exists()
    ):
        raise DomainError(
            f"{request.platform.name} has no active contact to send {request.reference} to; "
            "add one on the platform page first."
        )
    # A hold placed after the request was composed still wins: held items are never sent.
    active_hold = Hold.objects.filter(item=OuterRef("pk"), released_at__isnull=True)
    held = list(
        Item.objects.filter(Exists(active_hold), request_lines__request=request).values_list(
            "url_normalised", flat=True
        )
    )
    if request.state == S.AWAITING_APPROVAL and held:
        raise DomainError(
            f"{request.reference} contains items now on hold: {', '.join(sorted(held))}. "
            "Cancel it and compose a new one, or release the holds."
        )
    _transition(request, S.SENT, actor=approver)
    sent_at = at or timezone.now()
    request.approved_by = approver
    request.approved_at = sent_at
    request.sent_at = sent_at
    request.deadline = request.original_deadline = deadline_for(request, sent_at=sent_at)
    # Follow-ups are data: the sweeper (followups) picks the request up at its first rung.
    request.followup_stage = 0
    request.next_followup_at = rung_times(request)[LadderStep.FIRST_REMINDER]
    request.save()
    return request


@transaction.atomic
def request_pause_clock(
    *, request: RemovalRequest, at: datetime | None = None, actor_label: str = ""
) -> RemovalRequest:
    """A clarification question pauses a removal order's clock (TCO Art. 3(7)-(8))."""
    request = lock_request(request)
    if request.request_type != RequestType.REMOVAL_ORDER:
        raise DomainError("Only a removal order's legal clock can be paused.")
    if not request.is_open:
        raise IllegalTransition(f"Request {request.reference} is not open; its clock is stopped.")
    if request.clock_paused_at is not None:
        return request  # already paused: a second question does not restart the pause
    request.clock_paused_at = at or timezone.now()
    request.save(update_fields=["clock_paused_at", "updated_at"])
    audit_record(
        actor=None,
        actor_label=actor_label or "operator",
        action="request.clock_paused",
        target=request,
    )
    return request


@transaction.atomic
def request_resume_clock(
    *, request: RemovalRequest, by: Any, at: datetime | None = None
) -> RemovalRequest:
    """The unit answered the clarification: the deadline moves back by the pause."""
    request = lock_request(request)
    if request.clock_paused_at is None:
        raise IllegalTransition(f"The clock of {request.reference} is not paused.")
    resumed_at = at or timezone.now()
    pause = max(resumed_at - request.clock_paused_at, timedelta(0))
    request.total_pause += pause
    assert request.deadline is not None
    request.deadline += pause
    if request.next_followup_at is not None:
        request.next_followup_at += pause
    request.clock_paused_at = None
    request.save()
    audit_record(
        actor=by,
        action="request.clock_resumed",
        target=request,
        extra={"paused_seconds": int(pause.total_seconds())},
    )
    return request


@transaction.atomic
def request_mark_overdue(*, request: RemovalRequest) -> RemovalRequest:
    request = lock_request(request)
    _transition(request, S.OVERDUE, actor_label="system")
    request.save(update_fields=["state", "updated_at"])
    return request


@transaction.atomic
def request_escalate(
    *, request: RemovalRequest, by: Any = None, reason: str = ""
) -> RemovalRequest:
    request = lock_request(request)
    _transition(
        request,
        S.ESCALATED,
        actor=by,
        actor_label="" if by else "system",
        extra={"reason": reason} if reason else None,
    )
    request.save(update_fields=["state", "updated_at"])
    return request


@transaction.atomic
def request_close(*, request: RemovalRequest, by: Any = None, reason: str = "") -> RemovalRequest:
    request = lock_request(request)
    _transition(
        request,
        S.CLOSED,
        actor=by,
        actor_label="" if by else "system",
        extra={"reason": reason} if reason else None,
    )
    request.closed_at = timezone.now()
    request.next_followup_at = None
    request.save(update_fields=["state", "closed_at", "next_followup_at", "updated_at"])
    return request


def request_refresh_answer_state(request: RemovalRequest, *, actor_label: str = "") -> None:
    """After an answer: every line answered → answered; some answered → partly answered.

    ``no_response`` is not an answer: a request the operator ignored never becomes "answered".
    Neither is ``needs_info``: the question must be answered first.

    Called with the request row already locked by the caller.
    """
    # A question back to the unit (needs_info) is not settled either: the
    # request stays open until the operator answers after the clarification.
    open_lines = request.lines.filter(
        outcome__in=[*UNANSWERED_OUTCOMES, Outcome.NEEDS_INFO]
    ).count()
    if open_lines == 0 and S.ANSWERED in TRANSITIONS[request.state]:
        _transition(request, S.ANSWERED, actor_label=actor_label or "system")
        request.save(update_fields=["state", "updated_at"])
    elif request.state == S.SENT and open_lines < request.lines.count():
        _transition(request, S.PARTLY_ANSWERED, actor_label=actor_label or "system")
        request.save(update_fields=["state", "updated_at"])


NOTE_MAX_LENGTH = 10_000


@transaction.atomic
def request_note_add(*, request: RemovalRequest, author: Any, text: str) -> Correspondence:
    """A staff note on the request's timeline (internal: never sent to the operator)."""
    require_permission(author, "cases.add_correspondence", "add notes to requests")
    text = text.strip()
    if not text:
        raise DomainError("The note is empty.")
    if len(text) > NOTE_MAX_LENGTH:
        raise DomainError(f"A note can be at most {NOTE_MAX_LENGTH} characters long.")
    note = Correspondence.objects.create(
        request=request,
        direction=CorrespondenceDirection.INTERNAL,
        channel=CorrespondenceChannel.NOTE,
        author=author,
        body_text=text,
    )
    audit_record(actor=author, action="request.note_added", target=request, new={"note": note.pk})
    return note
