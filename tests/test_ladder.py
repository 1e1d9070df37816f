"""Every rung of the follow-up ladder with frozen time, for referrals and removal orders.

Default ladders (decision 0009), for a platform whose response target is 7 days:
referral — reminders at 7 and 10 days, escalation at 14, deadline at 21;
removal order — reminders at 30 and 45 minutes, escalation and deadline at 1 hour.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import IntegrityError

from cases.models import (
    LadderPolicy,
    LadderStep,
    Outcome,
    OutcomeSource,
    RemovalRequest,
    RequestState,
    RequestType,
)
from cases.selectors.ladder import request_ladder, rung_times
from cases.services.ladder import ladder_policy_delete, ladder_policy_save
from cases.services.outcomes import request_item_record_outcome
from cases.services.requests import request_compose, request_resume_clock, request_submit
from core.errors import DomainError, PermissionRefused
from core.models import Alert
from followups.services import followups_sweep
from notifications.models import OutboundEmail
from notifications.services import request_approve_and_send
from platforms.models import Platform
from tests.factories import ItemFactory, LadderPolicyFactory

pytestmark = pytest.mark.django_db

S = RequestState
SENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, away from any DST change
DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)


# --- helpers (also used by test_followups_sweep) -----------------------------------------


def send(
    platform: Platform,
    composer: Any,
    approver: Any,
    time_machine: Any,
    *,
    items: int = 2,
    at: datetime = SENT,
    **compose: Any,
) -> RemovalRequest:
    """Compose, submit, approve and send a request at ``at`` (the clock is left there)."""
    time_machine.move_to(at, tick=False)
    for _ in range(items):
        ItemFactory(platform=platform, host="pastebay.example.net", approved=True)
    request = request_compose(platform=platform, composed_by=composer, **compose)
    request_submit(request=request, by=composer)
    return request_approve_and_send(request=request, approver=approver).request


def sweep_at(when: datetime, time_machine: Any) -> Any:
    time_machine.move_to(when, tick=False)
    return followups_sweep(now=when)


def reminders_of(request: RemovalRequest) -> list[OutboundEmail]:
    # By the X-TKD-Reminder header, not the subject: the subject is in the contact's language.
    emails = OutboundEmail.objects.filter(request=request).select_related("correspondence")
    return [email for email in emails.order_by("id") if reminder_number(email) is not None]


def reminder_number(email: OutboundEmail) -> str | None:
    match = re.search(rb"\r\nX-TKD-Reminder: (\d)\r\n", bytes(email.correspondence.raw or b""))
    return match.group(1).decode() if match else None


def kind(reminder: OutboundEmail) -> str:
    return "second" if reminder_number(reminder) == "2" else "first"


def fresh(request: RemovalRequest) -> RemovalRequest:
    request.refresh_from_db()
    return request


# --- the clock at sending ------------------------------------------------------------------


def test_it_sets_a_referrals_first_reminder_at_the_response_target(
    alice, bob, platform, time_machine
):
    request = send(platform, alice, bob, time_machine)

    assert (request.next_followup_at, request.followup_stage) == (SENT + 7 * DAY, 0)


def test_it_gives_a_referral_the_ladders_deadline(alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine)

    assert request.deadline == request.original_deadline == SENT + 21 * DAY


def test_it_gives_a_removal_order_the_legal_deadline_and_a_reminder_at_30_minutes(
    alice, bob, platform, time_machine
):
    order = send(platform, alice, bob, time_machine, request_type=RequestType.REMOVAL_ORDER,
                 is_emergency=True)  # fmt: skip

    assert (order.deadline, order.next_followup_at) == (SENT + 60 * MINUTE, SENT + 30 * MINUTE)


def test_it_states_the_ladders_deadline_in_the_request_email(alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine)

    (email,) = OutboundEmail.objects.filter(request=request)
    assert "2026-03-23 09:00 UTC" in email.correspondence.body_text


# --- referral rungs ---------------------------------------------------------------------------


def test_it_does_nothing_before_the_first_rung(alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine)

    counts = sweep_at(SENT + 7 * DAY - timedelta(seconds=1), time_machine)

    assert (counts.reminders, reminders_of(request), fresh(request).followup_stage) == (0, [], 0)


def test_it_sends_the_first_reminder_at_the_response_target(alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine)

    sweep_at(SENT + 7 * DAY, time_machine)

    (reminder,) = reminders_of(request)
    assert reminder.to_address == "abuse@pastebay.example.net"
    assert reminder.subject.startswith(f"[{request.reference}] Przypomnienie:")  # PasteBay: pl
    assert (fresh(request).followup_stage, request.next_followup_at) == (1, SENT + 10 * DAY)


def test_it_sends_the_second_reminder_three_days_later(alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine)
    sweep_at(SENT + 7 * DAY, time_machine)

    sweep_at(SENT + 10 * DAY, time_machine)

    assert [kind(r) for r in reminders_of(request)] == ["first", "second"]
    assert (fresh(request).followup_stage, request.next_followup_at) == (2, SENT + 14 * DAY)


def test_it_escalates_a_week_after_the_response_target(alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine)
    sweep_at(SENT + 7 * DAY, time_machine)
    sweep_at(SENT + 10 * DAY, time_machine)

    counts = sweep_at(SENT + 14 * DAY, time_machine)

    assert counts.escalations == 1
    assert (fresh(request).state, request.followup_stage) == (S.ESCALATED, 3)
    assert request.next_followup_at == SENT + 21 * DAY
    assert Alert.objects.get(key=f"request-escalated-{request.pk}").permission == (
        "cases.approve_request"
    )


def test_it_makes_every_open_item_no_response_at_the_deadline(alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine, items=3)
    answered = request.lines.first()
    request_item_record_outcome(line=answered, outcome=Outcome.REMOVED,
                                source=OutcomeSource.OPERATOR_PORTAL)  # fmt: skip
    for days in (7, 10, 14):
        sweep_at(SENT + days * DAY, time_machine)

    counts = sweep_at(SENT + 21 * DAY, time_machine)

    outcomes = sorted(request.lines.values_list("outcome", flat=True))
    assert (counts.items_expired, outcomes) == (2, ["no_response", "no_response", "removed"])
    assert (fresh(request).followup_stage, request.next_followup_at) == (4, None)


def test_it_lists_only_the_urls_still_without_an_answer(alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine, items=2)
    first, second = request.lines.select_related("item").order_by("id")
    request_item_record_outcome(line=first, outcome=Outcome.REMOVED,
                                source=OutcomeSource.OPERATOR_PORTAL)  # fmt: skip

    sweep_at(SENT + 7 * DAY, time_machine)

    (reminder,) = reminders_of(request)
    body = reminder.correspondence.body_text
    assert second.item.url_normalised in body
    assert first.item.url_normalised not in body


def test_it_never_reminds_about_an_answered_request(alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine, items=1)
    request_item_record_outcome(line=request.lines.get(), outcome=Outcome.REMOVED,
                                source=OutcomeSource.OPERATOR_PORTAL)  # fmt: skip

    counts = sweep_at(SENT + 30 * DAY, time_machine)

    assert (fresh(request).state, counts.reminders, counts.escalations) == (S.ANSWERED, 0, 0)


def test_it_sends_only_the_latest_reminder_after_an_outage(alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine)

    sweep_at(SENT + 11 * DAY, time_machine)  # both reminders due: the sweeper was down

    assert [kind(r) for r in reminders_of(request)] == ["second"]
    assert fresh(request).followup_stage == 2


# --- removal-order rungs ---------------------------------------------------------------------


def order(platform: Platform, alice: Any, bob: Any, time_machine: Any) -> RemovalRequest:
    return send(platform, alice, bob, time_machine, request_type=RequestType.REMOVAL_ORDER,
                is_emergency=True)  # fmt: skip


def test_it_reminds_a_removal_order_at_30_minutes(alice, bob, platform, time_machine):
    request = order(platform, alice, bob, time_machine)

    sweep_at(SENT + 30 * MINUTE, time_machine)

    assert len(reminders_of(request)) == 1
    assert fresh(request).next_followup_at == SENT + 45 * MINUTE


def test_it_reminds_a_removal_order_again_at_45_minutes(alice, bob, platform, time_machine):
    request = order(platform, alice, bob, time_machine)
    sweep_at(SENT + 30 * MINUTE, time_machine)

    sweep_at(SENT + 45 * MINUTE, time_machine)

    assert len(reminders_of(request)) == 2
    assert (fresh(request).followup_stage, request.next_followup_at) == (2, SENT + 60 * MINUTE)


def test_it_escalates_a_removal_order_and_expires_its_items_at_the_hour(
    alice, bob, platform, time_machine
):
    request = order(platform, alice, bob, time_machine)
    sweep_at(SENT + 30 * MINUTE, time_machine)
    sweep_at(SENT + 45 * MINUTE, time_machine)

    counts = sweep_at(SENT + 60 * MINUTE, time_machine)

    assert (counts.escalations, counts.deadlines, counts.items_expired) == (1, 1, 2)
    assert (fresh(request).state, request.followup_stage) == (S.ESCALATED, 4)
    assert set(request.lines.values_list("outcome", flat=True)) == {Outcome.NO_RESPONSE}


def test_it_runs_a_removal_order_at_night_and_on_sundays(alice, bob, platform, time_machine):
    sunday_night = datetime(2026, 3, 8, 2, 0, tzinfo=UTC)
    request = send(platform, alice, bob, time_machine, at=sunday_night,
                   request_type=RequestType.REMOVAL_ORDER, is_emergency=True)  # fmt: skip

    sweep_at(sunday_night + 30 * MINUTE, time_machine)

    assert len(reminders_of(request)) == 1


# --- the clarification pause -----------------------------------------------------------------


def pause_at(request: RemovalRequest, when: datetime, time_machine: Any) -> None:
    time_machine.move_to(when, tick=False)
    request_item_record_outcome(line=request.lines.first(), outcome=Outcome.NEEDS_INFO,
                                source=OutcomeSource.OPERATOR_PORTAL)  # fmt: skip


def test_it_takes_no_step_while_the_clock_is_paused(alice, bob, platform, time_machine):
    request = order(platform, alice, bob, time_machine)
    pause_at(request, SENT + 10 * MINUTE, time_machine)

    counts = sweep_at(SENT + 3 * 60 * MINUTE, time_machine)

    assert (counts.reminders, counts.deadlines, fresh(request).followup_stage) == (0, 0, 0)
    assert request.lines.filter(outcome=Outcome.NO_RESPONSE).count() == 0


def test_it_shifts_every_rung_by_the_pause_when_the_clock_resumes(
    alice, bob, platform, time_machine
):
    request = order(platform, alice, bob, time_machine)
    pause_at(request, SENT + 10 * MINUTE, time_machine)
    time_machine.move_to(SENT + 2 * 60 * MINUTE, tick=False)

    request_resume_clock(request=request, by=bob)

    pause = 110 * MINUTE
    request = fresh(request)
    assert request.next_followup_at == SENT + 30 * MINUTE + pause
    assert rung_times(request)[LadderStep.DEADLINE] == SENT + 60 * MINUTE + pause


def test_it_sends_the_shifted_reminder_after_the_pause(alice, bob, platform, time_machine):
    request = order(platform, alice, bob, time_machine)
    pause_at(request, SENT + 10 * MINUTE, time_machine)
    time_machine.move_to(SENT + 2 * 60 * MINUTE, tick=False)
    request_resume_clock(request=request, by=bob)

    early = sweep_at(SENT + 139 * MINUTE, time_machine)
    due = sweep_at(SENT + 140 * MINUTE, time_machine)

    assert (early.reminders, due.reminders) == (0, 1)


# --- per-platform ladders ----------------------------------------------------------------------


def test_it_follows_the_platforms_own_ladder(alice, bob, platform, time_machine):
    LadderPolicyFactory(platform=platform)  # reminders at 2 and 3 days, escalation 4, deadline 6

    request = send(platform, alice, bob, time_machine)

    assert (request.next_followup_at, request.deadline) == (SENT + 2 * DAY, SENT + 6 * DAY)
    assert request_ladder(request).policy_scope == "platform"


def test_it_leaves_other_platforms_on_the_default(alice, bob, platform, time_machine):
    LadderPolicyFactory()  # another platform's

    request = send(platform, alice, bob, time_machine)

    assert request.next_followup_at == SENT + 7 * DAY


def test_it_moves_reminders_but_not_a_promised_deadline_when_the_ladder_changes(
    alice, bob, charlie, platform, time_machine
):
    request = send(platform, alice, bob, time_machine)

    ladder_policy_save(by=charlie, request_type=RequestType.REFERRAL, platform=platform,
                       first_reminder_after=2 * DAY, second_reminder_after=DAY,
                       escalate_after=2 * DAY, deadline_after=3 * DAY)  # fmt: skip
    sweep_at(SENT + 2 * DAY, time_machine)

    assert len(reminders_of(request)) == 1
    assert fresh(request).deadline == SENT + 21 * DAY


# --- validating ladders -------------------------------------------------------------------------


def save(by: Any, **steps: Any) -> LadderPolicy:
    values = {"request_type": RequestType.REFERRAL, "first_reminder_after": None,
              "second_reminder_after": 3 * DAY, "escalate_after": 7 * DAY,
              "deadline_after": 14 * DAY} | steps  # fmt: skip
    return ladder_policy_save(by=by, **values)


def test_it_changes_the_default_ladder(bob):
    policy = save(bob, second_reminder_after=2 * DAY)

    assert (policy.platform, policy.second_reminder_after) == (None, 2 * DAY)
    assert LadderPolicy.objects.filter(request_type=RequestType.REFERRAL).count() == 1


def test_it_refuses_an_escalation_before_the_second_reminder(bob):
    with pytest.raises(DomainError, match="cannot come before the second reminder"):
        save(bob, escalate_after=DAY)


def test_it_refuses_a_deadline_before_the_escalation(bob):
    with pytest.raises(DomainError, match="cannot come before the escalation"):
        save(bob, deadline_after=5 * DAY)


def test_it_refuses_a_step_of_zero(bob):
    with pytest.raises(DomainError, match="positive"):
        save(bob, second_reminder_after=timedelta(0))


def test_it_refuses_a_removal_order_deadline_set_by_the_ladder(bob):
    with pytest.raises(DomainError, match="set by law"):
        save(bob, request_type=RequestType.REMOVAL_ORDER, first_reminder_after=30 * MINUTE,
             second_reminder_after=15 * MINUTE, escalate_after=30 * MINUTE,
             deadline_after=30 * MINUTE)  # fmt: skip


def test_it_refuses_removal_order_reminders_after_the_legal_deadline(bob):
    with pytest.raises(DomainError, match="before the legal deadline"):
        save(bob, request_type=RequestType.REMOVAL_ORDER, first_reminder_after=50 * MINUTE,
             second_reminder_after=15 * MINUTE, escalate_after=15 * MINUTE,
             deadline_after=None)  # fmt: skip


def test_it_refuses_an_officer(alice):
    with pytest.raises(PermissionRefused):
        save(alice)


def test_it_keeps_the_default_ladder_from_being_removed(bob):
    default = LadderPolicy.objects.get(request_type=RequestType.REFERRAL, platform=None)

    with pytest.raises(DomainError, match="cannot be removed"):
        ladder_policy_delete(by=bob, policy=default)


def test_it_holds_the_order_of_steps_in_the_database(platform):
    with pytest.raises(IntegrityError):
        LadderPolicy.objects.create(request_type=RequestType.REFERRAL, platform=platform,
                                    second_reminder_after=3 * DAY, escalate_after=DAY,
                                    deadline_after=14 * DAY)  # fmt: skip
