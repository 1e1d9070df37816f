"""The follow-up ladder as reads: which policy applies, and when each rung falls due.

The sweeper (``followups``), ``request_mark_sent`` (the first rung and the
deadline) and the request page all compute times here, so they cannot disagree.

A rung's time counts from sending plus every finished clarification pause
(``total_pause``), which is exactly how ``request_resume_clock`` shifts
``deadline`` and ``next_followup_at``; recomputing after a resume gives the same
times as shifting them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

from cases.models import LadderPolicy, LadderStep, RemovalRequest, RequestType
from platforms.models import Platform

# Used only when the defaults row is missing (deleted in the admin): the ladder must
# never stop because a row is gone. The data migration creates the same values.
BUILT_IN_DEFAULTS: dict[str, dict[str, timedelta | None]] = {
    RequestType.REFERRAL: {
        "first_reminder_after": None,
        "second_reminder_after": timedelta(days=3),
        "escalate_after": timedelta(days=7),
        "deadline_after": timedelta(days=14),
    },
    RequestType.REMOVAL_ORDER: {
        "first_reminder_after": timedelta(minutes=30),
        "second_reminder_after": timedelta(minutes=15),
        "escalate_after": timedelta(minutes=30),
        "deadline_after": None,
    },
}


def ladder_policy_for(*, request_type: str, platform: Platform | None) -> LadderPolicy:
    """The platform's own ladder for the type if it has one, else the type's default."""
    rows = list(
        LadderPolicy.objects.filter(request_type=request_type)
        .filter(Q(platform__isnull=True) | Q(platform=platform))
        .order_by("platform_id")  # NULLs last in PostgreSQL: the override comes first
    )
    if rows:
        return rows[0]
    return LadderPolicy(request_type=request_type, **BUILT_IN_DEFAULTS[request_type])


def legal_deadline() -> timedelta:
    return timedelta(hours=settings.REMOVAL_ORDER_DEADLINE_HOURS)


def first_reminder_offset(policy: LadderPolicy, platform: Platform) -> timedelta:
    if policy.first_reminder_after is not None:
        return policy.first_reminder_after
    return timedelta(days=platform.response_target_days)


def deadline_offset(policy: LadderPolicy, platform: Platform) -> timedelta:
    """From sending to the deadline, before any clarification pause."""
    if policy.request_type == RequestType.REMOVAL_ORDER or policy.deadline_after is None:
        return legal_deadline()
    return first_reminder_offset(policy, platform) + policy.deadline_after


def rung_offsets(policy: LadderPolicy, platform: Platform) -> dict[LadderStep, timedelta]:
    """Each rung's time from sending. No rung falls after the deadline."""
    first = first_reminder_offset(policy, platform)
    deadline = deadline_offset(policy, platform)
    return {
        LadderStep.FIRST_REMINDER: min(first, deadline),
        LadderStep.SECOND_REMINDER: min(first + policy.second_reminder_after, deadline),
        LadderStep.ESCALATION: min(first + policy.escalate_after, deadline),
        LadderStep.DEADLINE: deadline,
    }


def rung_times(
    request: RemovalRequest, policy: LadderPolicy | None = None
) -> dict[LadderStep, datetime]:
    """When each rung falls due for a sent request (the deadline is the request's own)."""
    assert request.sent_at is not None and request.deadline is not None
    policy = policy or ladder_policy_for(
        request_type=request.request_type, platform=request.platform
    )
    base = request.sent_at + request.total_pause
    times = {step: base + offset for step, offset in rung_offsets(policy, request.platform).items()}
    # The deadline was fixed when the request was sent (and moved only by pauses);
    # a policy edited since then changes the reminders, never a promised deadline.
    times[LadderStep.DEADLINE] = request.deadline
    return {step: min(at, request.deadline) for step, at in times.items()}


def next_rung(request: RemovalRequest, policy: LadderPolicy | None = None) -> LadderStep | None:
    if request.followup_stage >= LadderStep.DEADLINE:
        return None
    return LadderStep(request.followup_stage + 1)


@dataclass(frozen=True)
class RungView:
    step: LadderStep
    at: datetime
    done: bool
    is_next: bool


@dataclass(frozen=True)
class LadderView:
    rungs: list[RungView]
    policy_scope: str  # "platform" or "default"
    paused: bool


def request_ladder(request: RemovalRequest) -> LadderView | None:
    """The ladder for the request page: each rung, when, and which ones are done."""
    if request.sent_at is None or request.deadline is None:
        return None
    policy = ladder_policy_for(request_type=request.request_type, platform=request.platform)
    times = rung_times(request, policy)
    upcoming = next_rung(request) if request.is_open else None
    return LadderView(
        rungs=[
            RungView(
                step=step,
                at=at,
                done=request.followup_stage >= step,
                is_next=step == upcoming,
            )
            for step, at in times.items()
        ],
        policy_scope="platform" if policy.platform_id else "default",
        paused=request.clock_is_paused,
    )


def ladder_policies() -> list[LadderPolicy]:
    """Every policy row, defaults first, then overrides by platform name (one query)."""
    return list(
        LadderPolicy.objects.select_related("platform").order_by(
            "request_type", F("platform").asc(nulls_first=True), "platform__name", "id"
        )
    )
