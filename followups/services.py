"""The follow-up ladder at work: reminders, escalation and the deadline, and the weekly compose.

Follow-ups are data (STYLE habit 4): every sent request carries the time of
its next rung in ``next_followup_at`` and the last rung done in
``followup_stage``. Every minute the sweeper claims due rows with
``SELECT … FOR UPDATE SKIP LOCKED`` in small batches, performs the rung and
moves the request along with a compare-and-swap on ``followup_stage``, all in
one transaction with the emails' ledger rows; so two sweepers (two beats
started by mistake, a redelivered tick) never send a reminder twice, and a
broker that loses the delivery hint loses nothing (the email sweeper re-finds
the ledger rows).

The rungs (cases.selectors.ladder, decision 0009):
1. first reminder, 2. second reminder: an email to the request's contacts
   listing the URLs still without an answer, with a fresh portal link;
3. escalation: state ``escalated``, an alert for supervisors in the app and
   by email, and a drafted notice to each upstream provider, awaiting approval;
4. deadline: every pending item becomes ``no_response``; the request becomes
   ``overdue`` where the state machine allows it.

A clock paused by a clarification question is never advanced; resuming shifts
the times (cases.services.requests.request_resume_clock).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    OPEN_REQUEST_STATES,
    CorrespondenceDirection,
    LadderStep,
    Outcome,
    RemovalRequest,
    RequestItem,
    RequestState,
)
from cases.selectors.ladder import rung_times
from cases.services.outcomes import request_expire_open_items
from cases.services.requests import TRANSITIONS, request_escalate, request_mark_overdue
from cases.services.upstream import (
    SUPERVISOR_PERMISSION,
    request_compose_upstream,
    requests_compose_weekly_run,
    upstream_providers_of,
)
from core.access import require_permission
from core.alerts import alert_raise
from core.audit import audit_record
from core.errors import DomainError
from followups.models import ComposeSchedule, Weekday
from notifications.emails import build_escalation_email, build_reminder_email
from notifications.services import email_deliver_after_commit, email_queue
from platforms.models import ContactChannel
from portal.services import portal_link_issue, portal_url_withheld

logger = logging.getLogger(__name__)

# Small batches: each holds its rows' locks only while its rungs are written.
SWEEP_BATCH = 20
# A tick does at most this much; the next tick (a minute later) carries on.
SWEEP_MAX = 500


@dataclass
class SweepCounts:
    reminders: int = 0
    escalations: int = 0
    deadlines: int = 0
    items_expired: int = 0
    upstream_drafts: int = 0
    rescheduled: int = 0
    failed: int = 0


class _LostRace(Exception):
    """Another sweeper moved the request on first; our work is rolled back."""


def followups_sweep(*, now: datetime | None = None) -> SweepCounts:
    """Perform every rung that is due at ``now``. Safe to run twice, or twice at once."""
    now = now or timezone.now()
    counts = SweepCounts()
    skip: set[int] = set()
    handled = 0
    while handled < SWEEP_MAX:
        with transaction.atomic(durable=True):
            batch = list(
                RemovalRequest.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("platform")
                .filter(
                    state__in=OPEN_REQUEST_STATES,
                    next_followup_at__lte=now,
                    clock_paused_at__isnull=True,
                )
                .exclude(pk__in=skip)
                .order_by("next_followup_at", "id")[:SWEEP_BATCH]
            )
            if not batch:
                break
            for request in batch:
                handled += 1
                try:
                    with transaction.atomic():
                        _advance(request, now=now, counts=counts)
                except _LostRace:
                    skip.add(request.pk)
                except Exception as error:  # recorded, and retried at the next tick
                    skip.add(request.pk)
                    counts.failed += 1
                    logger.exception("Follow-up of request %s failed", request.reference)
                    audit_record(
                        actor=None,
                        actor_label="system",
                        action="request.followup_failed",
                        target=request,
                        extra={"error": f"{type(error).__name__}: {error}"[:2000]},
                    )
    return counts


def followups_sweep_job(*, now: datetime) -> dict[str, int]:
    """The sweeper as a periodic job (scheduling.jobs): its counts go on the health page."""
    return asdict(followups_sweep(now=now))


def _advance(request: RemovalRequest, *, now: datetime, counts: SweepCounts) -> None:
    stage = request.followup_stage
    times = rung_times(request)
    due = [step for step in LadderStep if step > stage and times[step] <= now]
    if not due:
        # The ladder was changed since this time was set: wait for the new one.
        _move_on(request, from_stage=stage, to_stage=stage, next_at=_next_time(times, stage))
        counts.rescheduled += 1
        return
    last = max(due)
    open_lines = list(
        RequestItem.objects.filter(request=request, outcome=Outcome.PENDING)
        .select_related("item")
        .order_by("id")
    )
    # A sweeper that was down sends only the latest reminder due, never a burst, and
    # none at all once escalation or the deadline is due: those say more.
    if last in (LadderStep.FIRST_REMINDER, LadderStep.SECOND_REMINDER) and open_lines:
        _send_reminder(request, open_lines, number=int(last))
        counts.reminders += 1
    if LadderStep.ESCALATION in due and open_lines:
        counts.upstream_drafts += _escalate(request, open_lines)
        counts.escalations += 1
    if LadderStep.DEADLINE in due:
        expired = request_expire_open_items(request=request, at=now)
        counts.items_expired += expired
        counts.deadlines += 1
        request.refresh_from_db(fields=["state"])
        if expired and RequestState.OVERDUE in TRANSITIONS[request.state]:
            request_mark_overdue(request=request)
    _move_on(request, from_stage=stage, to_stage=last, next_at=_next_time(times, last))


def _next_time(times: dict[LadderStep, datetime], done: int) -> datetime | None:
    return None if done >= LadderStep.DEADLINE else times[LadderStep(done + 1)]


def _move_on(
    request: RemovalRequest, *, from_stage: int, to_stage: int, next_at: datetime | None
) -> None:
    """Compare-and-swap: only the sweeper that saw ``from_stage`` may record the rung."""
    moved = RemovalRequest.objects.filter(pk=request.pk, followup_stage=from_stage).update(
        followup_stage=to_stage, next_followup_at=next_at, updated_at=timezone.now()
    )
    if not moved:
        raise _LostRace(request.reference)
    if to_stage != from_stage:
        audit_record(
            actor=None,
            actor_label="system",
            action="request.followup_rung_done",
            target=request,
            old={"stage": from_stage},
            new={
                "stage": to_stage,
                "rung": LadderStep(to_stage).name.lower(),
                "next_at": next_at.isoformat() if next_at else None,
            },
        )


# --- reminders --------------------------------------------------------------------------


def _send_reminder(request: RemovalRequest, open_lines: list[RequestItem], *, number: int) -> None:
    urls = [line.item.url_normalised for line in open_lines]
    contacts = list(
        request.contacts.filter(is_active=True, channel=ContactChannel.EMAIL)
        .select_related("platform")
        .order_by("-is_primary", "id")
    )
    emails = []
    for contact in contacts:
        # The link is (re)issued and its token put in the email by the worker at
        # delivery; the stored reminder carries the withheld placeholder (0017).
        portal_link_issue(request=request, contact=contact)
        message = build_reminder_email(
            request, contact, open_urls=urls, number=number, portal_url=portal_url_withheld()
        )
        emails.append(email_queue(request=request, message=message, contact=contact))
    audit_record(
        actor=None,
        actor_label="system",
        action="request.reminder_queued",
        target=request,
        new={"reminder": number, "emails": [email.to_address for email in emails]},
        extra={"open_urls": len(urls)},
    )
    for email in emails:
        email_deliver_after_commit(email)


# --- escalation -------------------------------------------------------------------------


def _escalate(request: RemovalRequest, open_lines: list[RequestItem]) -> int:
    """Escalate; returns how many upstream notices were drafted."""
    reason = "No answer after two reminders (follow-up ladder)."
    if RequestState.ESCALATED in TRANSITIONS[request.state]:
        request_escalate(request=request, reason=reason)
        request.refresh_from_db(fields=["state"])
    items = [line.item for line in open_lines]
    drafts = [
        request_compose_upstream(
            provider=provider,
            items=items,
            escalated_from=request,
            reason=f"Escalation of {request.reference}: {request.platform.name} did not answer.",
        )
        for provider in upstream_providers_of(request.platform)
    ]
    upstream = [draft for draft in drafts if draft is not None]
    path = reverse("requests:detail", args=[request.pk])
    drafted = (
        " Notices to upstream providers await approval: "
        + ", ".join(f"{d.reference} ({d.platform.name})" for d in upstream)
        + "."
        if upstream
        else ""
    )
    alert_raise(
        permission=SUPERVISOR_PERMISSION,
        title=f"{request.reference} escalated: no answer from {request.platform.name}",
        message=f"{len(items)} URL(s) still without an answer after two reminders.{drafted}",
        url=path,
        target=request,
        key=f"request-escalated-{request.pk}",
    )
    for user in _supervisors_with_email():
        message = build_escalation_email(
            request,
            to_address=user.email,
            recipient_name=user.get_full_name() or user.get_username(),
            open_urls=[item.url_normalised for item in items],
            upstream_references=[f"{d.reference} ({d.platform.name})" for d in upstream],
            request_path=path,
        )
        email = email_queue(
            request=request, message=message, direction=CorrespondenceDirection.INTERNAL
        )
        email_deliver_after_commit(email)
    return len(upstream)


def _supervisors_with_email() -> list[Any]:
    app_label, codename = SUPERVISOR_PERMISSION.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    user_model = get_user_model()
    return list(
        user_model.objects.filter(is_active=True)
        .filter(
            Q(groups__permissions=permission)
            | Q(user_permissions=permission)
            | Q(is_superuser=True)
        )
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


# --- the weekly compose -------------------------------------------------------------------


def weekly_compose_job(*, now: datetime) -> dict[str, int]:
    """Compose the week's drafts as the system (no composer: any supervisor may approve)."""
    result = requests_compose_weekly_run(composed_by=None)
    return {
        "drafts": len(result.drafts),
        "upstream_drafts": len(result.upstream_drafts),
        "stuck_platforms": len(result.stuck_platforms),
        "platforms_without_contact": len(result.platforms_without_contact),
        "drafts_extended": len(result.extended_drafts),
        "skipped_awaiting_approval": len(result.skipped_awaiting_approval),
    }


# --- the schedule ---------------------------------------------------------------------------


@transaction.atomic
def compose_schedule_update(
    *, by: Any, weekday: int, time_of_day: time, enabled: bool
) -> ComposeSchedule:
    """A supervisor moves the weekly compose; beat picks it up at its next tick.

    Moving it within a week whose compose already ran does not compose again: the
    week is one period (followups.schedule).
    """
    require_permission(by, "followups.change_composeschedule", "change the weekly compose")
    if weekday not in Weekday.values:
        raise DomainError(f"Unknown weekday {weekday!r}.")
    schedule, _ = ComposeSchedule.objects.select_for_update().get_or_create(pk=1)
    old = {"weekday": schedule.weekday, "time": f"{schedule.time_of_day:%H:%M}",
           "enabled": schedule.enabled}  # fmt: skip
    schedule.weekday, schedule.time_of_day, schedule.enabled = weekday, time_of_day, enabled
    schedule.updated_by = by
    schedule.save()
    audit_record(
        actor=by,
        action="compose_schedule.changed",
        target=schedule,
        old=old,
        new={"weekday": weekday, "time": f"{time_of_day:%H:%M}", "enabled": enabled},
    )
    return schedule
