"""Changing the follow-up ladder: the defaults per request type and per-platform overrides.

The ladder is data (cases.models.LadderPolicy). Validation lives here, with
messages for the supervisor who typed the numbers; the database checks hold
the same invariants against anything that bypasses this module.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Least
from django.utils import timezone

from cases.models import OPEN_REQUEST_STATES, LadderPolicy, RemovalRequest, RequestType
from cases.selectors.ladder import legal_deadline
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError
from platforms.models import Platform

# Nobody chases a request for longer than a year; a longer value is a typo.
MAX_STEP = timedelta(days=365)


def _words(value: timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} day(s)"
    if minutes % 60 == 0:
        return f"{minutes // 60} hour(s)"
    return f"{minutes} minute(s)"


def ladder_policy_validate(
    *,
    request_type: str,
    first_reminder_after: timedelta | None,
    second_reminder_after: timedelta | None,
    escalate_after: timedelta | None,
    deadline_after: timedelta | None,
) -> None:
    """Raise DomainError naming the first thing wrong with these steps."""
    if request_type not in RequestType.values:
        raise DomainError(f"Unknown request type {request_type!r}.")
    is_order = request_type == RequestType.REMOVAL_ORDER
    if first_reminder_after is None and is_order:
        raise DomainError(
            "A removal order's first reminder needs a time: the platform's response "
            "target is in days and the order's deadline is in hours."
        )
    if second_reminder_after is None or escalate_after is None:
        raise DomainError("The second reminder and the escalation both need a time.")
    for label, value in (
        ("first reminder", first_reminder_after),
        ("second reminder", second_reminder_after),
        ("escalation", escalate_after),
        ("deadline", deadline_after),
    ):
        if value is not None and value <= timedelta(0):
            raise DomainError(f"The {label} must come after a positive time, not {_words(value)}.")
        if value is not None and value > MAX_STEP:
            raise DomainError(f"The {label} is more than a year away ({_words(value)}).")
    if escalate_after < second_reminder_after:
        raise DomainError(
            f"The escalation ({_words(escalate_after)} after the first reminder) cannot come "
            f"before the second reminder ({_words(second_reminder_after)})."
        )
    if is_order:
        assert first_reminder_after is not None
        _validate_order_steps(first_reminder_after, second_reminder_after, escalate_after,
                              deadline_after)  # fmt: skip
        return
    if deadline_after is None:
        raise DomainError("A referral's ladder needs a deadline.")
    if deadline_after < escalate_after:
        raise DomainError(
            f"The deadline ({_words(deadline_after)} after the first reminder) cannot come "
            f"before the escalation ({_words(escalate_after)})."
        )


def _validate_order_steps(
    first: timedelta, second: timedelta, escalate: timedelta, deadline: timedelta | None
) -> None:
    if deadline is not None:
        raise DomainError(
            "A removal order's deadline is set by law (REMOVAL_ORDER_DEADLINE_HOURS), "
            'not by the ladder; choose "the legal deadline".'
        )
    legal = legal_deadline()
    if first + second >= legal:
        raise DomainError(
            f"Both reminders must go out before the legal deadline ({_words(legal)} after "
            f"sending); the second would go at {_words(first + second)}."
        )
    if first + escalate > legal:
        raise DomainError(
            f"The escalation must come at or before the legal deadline ({_words(legal)} "
            "after sending)."
        )


@transaction.atomic
def ladder_policy_save(
    *,
    by: Any,
    request_type: str,
    platform: Platform | None = None,
    first_reminder_after: timedelta | None,
    second_reminder_after: timedelta | None,
    escalate_after: timedelta | None,
    deadline_after: timedelta | None,
) -> LadderPolicy:
    """Create or change the ladder for ``request_type`` (for ``platform``, or the default).

    Requests already sent keep their deadline; their next reminders follow the new steps.
    """
    ladder_policy_validate(
        request_type=request_type,
        first_reminder_after=first_reminder_after,
        second_reminder_after=second_reminder_after,
        escalate_after=escalate_after,
        deadline_after=deadline_after,
    )
    policy = (
        LadderPolicy.objects.select_for_update()
        .filter(request_type=request_type, platform=platform)
        .order_by("pk")  # the default ordering joins platforms, which FOR UPDATE refuses
        .first()
    )
    if policy is None:
        require_permission(by, "cases.add_ladderpolicy", "add follow-up ladders")
        policy = LadderPolicy(request_type=request_type, platform=platform)
        old = None
    else:
        require_permission(by, "cases.change_ladderpolicy", "change follow-up ladders")
        old = _snapshot(policy)
    policy.first_reminder_after = first_reminder_after
    policy.second_reminder_after = second_reminder_after
    policy.escalate_after = escalate_after
    policy.deadline_after = deadline_after
    policy.updated_by = by
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError as error:  # a concurrent save of the same scope, or a bypassed rule
        raise DomainError(f"This ladder could not be saved: {error}") from error
    _reevaluate_open_requests(policy)
    audit_record(
        actor=by,
        action="ladder_policy.created" if old is None else "ladder_policy.changed",
        target=policy,
        old=old,
        new=_snapshot(policy),
    )
    return policy


@transaction.atomic
def ladder_policy_delete(*, by: Any, policy: LadderPolicy) -> None:
    """Remove a platform's override; the platform follows the default again."""
    require_permission(by, "cases.delete_ladderpolicy", "remove follow-up ladders")
    if policy.platform_id is None:
        raise DomainError("The default ladder of a request type cannot be removed; change it.")
    old = _snapshot(policy)
    audit_record(actor=by, action="ladder_policy.deleted", target=policy, old=old)
    _reevaluate_open_requests(policy)
    policy.delete()


def _reevaluate_open_requests(policy: LadderPolicy) -> int:
    """Make the open requests this ladder governs due now, so the sweeper recomputes
    their next rung from the new steps (it reschedules a rung that is not due yet).

    One UPDATE, whatever the number of requests; the deadlines are not touched.
    """
    governed = RemovalRequest.objects.filter(
        state__in=OPEN_REQUEST_STATES,
        request_type=policy.request_type,
        next_followup_at__isnull=False,
    )
    if policy.platform_id is not None:
        governed = governed.filter(platform_id=policy.platform_id)
    else:
        overridden = LadderPolicy.objects.filter(
            request_type=policy.request_type, platform__isnull=False
        ).values("platform_id")
        governed = governed.exclude(platform_id__in=overridden)
    return governed.update(
        next_followup_at=Least(
            F("next_followup_at"), Value(timezone.now(), output_field=DateTimeField())
        )
    )


def _snapshot(policy: LadderPolicy) -> dict[str, Any]:
    def seconds(value: timedelta | None) -> int | None:
        return None if value is None else int(value.total_seconds())

    return {
        "request_type": policy.request_type,
        "platform": policy.platform_id,
        "first_reminder_after": seconds(policy.first_reminder_after),
        "second_reminder_after": seconds(policy.second_reminder_after),
        "escalate_after": seconds(policy.escalate_after),
        "deadline_after": seconds(policy.deadline_after),
    }
