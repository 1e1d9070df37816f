"""Recording the operator's answer per item, and the deadline turning silence into no_response."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cases.models import Outcome, OutcomeSource, RemovalRequest, RequestState
from cases.services.outcomes import request_expire_open_items, request_item_record_outcome
from cases.services.requests import request_pause_clock
from core.audit import audit_history
from core.errors import DomainError, IllegalTransition
from tests.factories import RemovalRequestFactory, RequestItemFactory, SentRequestFactory

pytestmark = pytest.mark.django_db

S = RequestState
SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEADLINE = SENT_AT + timedelta(days=7)


def sent_request(platform, *, lines: int = 1, **fields) -> RemovalRequest:
    request = SentRequestFactory(platform=platform, sent_at=SENT_AT, **fields)
    for _ in range(lines):
        RequestItemFactory(request=request)
    return request


def answer(line, outcome=Outcome.REMOVED, source=OutcomeSource.OPERATOR_PORTAL, **kwargs):
    return request_item_record_outcome(line=line, outcome=outcome, source=source, **kwargs)


def state_of(request: RemovalRequest) -> str:
    request.refresh_from_db()
    return request.state


# --- recording answers ------------------------------------------------------------


def test_it_records_an_answer_on_the_line(platform, time_machine):
    time_machine.move_to(SENT_AT + timedelta(hours=5), tick=False)
    line = sent_request(platform).lines.get()

    answer(line, Outcome.REFUSED_NOT_VIOLATING, reason="News reporting.")

    line.refresh_from_db()
    assert (line.outcome, line.outcome_source, line.outcome_reason, line.outcome_at) == (
        Outcome.REFUSED_NOT_VIOLATING,
        OutcomeSource.OPERATOR_PORTAL,
        "News reporting.",
        SENT_AT + timedelta(hours=5),
    )


def test_it_stamps_the_first_response_and_first_removal(platform, time_machine):
    time_machine.move_to(SENT_AT + timedelta(hours=5), tick=False)
    line = sent_request(platform).lines.get()

    answer(line, Outcome.REMOVED)

    line.refresh_from_db()
    assert line.first_response_at == line.first_removal_at == SENT_AT + timedelta(hours=5)


def test_it_stamps_no_removal_for_an_answer_that_removed_nothing(platform):
    line = sent_request(platform).lines.get()

    answer(line, Outcome.NEEDS_INFO)

    line.refresh_from_db()
    assert line.first_response_at is not None
    assert line.first_removal_at is None


def test_it_keeps_the_first_response_time_when_the_answer_is_amended(platform, time_machine):
    line = sent_request(platform).lines.get()
    time_machine.move_to(SENT_AT + timedelta(hours=5), tick=False)
    answer(line, Outcome.NEEDS_INFO)
    time_machine.move_to(SENT_AT + timedelta(hours=9), tick=False)

    answer(line, Outcome.REMOVED)

    line.refresh_from_db()
    assert line.first_response_at == SENT_AT + timedelta(hours=5)
    assert line.first_removal_at == SENT_AT + timedelta(hours=9)


def test_it_keeps_the_first_removal_time_when_the_removal_is_amended(platform, time_machine):
    line = sent_request(platform).lines.get()
    time_machine.move_to(SENT_AT + timedelta(hours=5), tick=False)
    answer(line, Outcome.ACCESS_DISABLED)
    time_machine.move_to(SENT_AT + timedelta(hours=9), tick=False)

    answer(line, Outcome.REMOVED)

    line.refresh_from_db()
    assert line.first_removal_at == SENT_AT + timedelta(hours=5)


def test_it_adds_a_record_for_an_amendment_and_keeps_the_history(platform):
    line = sent_request(platform).lines.get()
    answer(line, Outcome.NEEDS_INFO, reason="Which post?")

    answer(line, Outcome.REMOVED)

    assert list(line.outcome_records.values_list("outcome", "reason")) == [
        (Outcome.NEEDS_INFO, "Which post?"),
        (Outcome.REMOVED, ""),
    ]


def test_it_shows_the_latest_answer_on_the_line(platform):
    line = sent_request(platform).lines.get()
    answer(line, Outcome.NEEDS_INFO, reason="Which post?")

    answer(line, Outcome.REMOVED)

    line.refresh_from_db()
    assert (line.outcome, line.outcome_reason) == (Outcome.REMOVED, "")


def test_it_marks_a_request_partly_answered_when_some_items_are_answered(platform):
    request = sent_request(platform, lines=2)

    answer(request.lines.first())

    assert state_of(request) == S.PARTLY_ANSWERED


def test_it_marks_a_request_answered_when_every_item_is_answered(platform):
    request = sent_request(platform, lines=2)
    first, second = request.lines.all()
    answer(first)

    answer(second, Outcome.UNABLE)

    assert state_of(request) == S.ANSWERED


def test_it_marks_an_overdue_request_answered_by_a_late_answer(platform):
    request = sent_request(platform, state=S.OVERDUE)

    answer(request.lines.get())

    assert state_of(request) == S.ANSWERED


def test_it_accepts_an_amendment_on_an_answered_request(platform):
    request = sent_request(platform)
    line = request.lines.get()
    answer(line, Outcome.REMOVED)

    answer(line, Outcome.ALREADY_GONE)

    line.refresh_from_db()
    assert (line.outcome, state_of(request)) == (Outcome.ALREADY_GONE, S.ANSWERED)


def test_it_records_who_answered_in_the_audit_trail(platform):
    request = sent_request(platform)
    line = request.lines.get()

    answer(line, Outcome.REMOVED)

    event = audit_history(request).get(action="request_item.outcome_recorded")
    assert (event.actor, event.actor_label) == (None, "Operator, via the portal")
    assert event.new == {"item": line.item_id, "outcome": "removed", "source": "operator_portal"}


@pytest.mark.parametrize(
    ("outcome", "source", "message"),
    [
        (Outcome.PENDING, OutcomeSource.OPERATOR_PORTAL, "'Pending' is not an answer"),
        (Outcome.NO_RESPONSE, OutcomeSource.OPERATOR_PORTAL, "set by the system"),
        (Outcome.REMOVED, OutcomeSource.SYSTEM, "Answers come from the operator"),
    ],
    ids=["pending", "no_response", "by-the-system"],
)
def test_it_refuses_an_answer_that_is_not_one(platform, outcome, source, message):
    line = sent_request(platform).lines.get()

    with pytest.raises(DomainError, match=message):
        answer(line, outcome, source)


@pytest.mark.parametrize("source", [OutcomeSource.OFFICER, OutcomeSource.OPERATOR_EMAIL])
def test_it_refuses_an_answer_relayed_by_no_named_officer(platform, source):
    line = sent_request(platform).lines.get()

    with pytest.raises(DomainError, match="must name the officer"):
        answer(line, Outcome.REMOVED, source)


def test_it_records_an_answer_relayed_by_an_officer(alice, platform):
    line = sent_request(platform).lines.get()

    record = answer(line, Outcome.REMOVED, OutcomeSource.OPERATOR_EMAIL, recorded_by=alice)

    assert (record.source, record.recorded_by) == (OutcomeSource.OPERATOR_EMAIL, alice)


def test_it_leaves_the_line_pending_when_an_answer_is_refused(platform):
    line = sent_request(platform).lines.get()

    with pytest.raises(DomainError):
        answer(line, Outcome.REMOVED, OutcomeSource.OFFICER)

    line.refresh_from_db()
    assert line.outcome == Outcome.PENDING
    assert not line.outcome_records.exists()


def test_it_refuses_answers_on_a_closed_request(platform):
    line = sent_request(platform, state=S.CLOSED).lines.get()

    with pytest.raises(IllegalTransition, match="answers can no longer be recorded"):
        answer(line)


@pytest.mark.parametrize("state", [S.DRAFT, S.AWAITING_APPROVAL, S.CANCELLED])
def test_it_refuses_answers_on_a_request_never_sent(platform, state):
    request = RemovalRequestFactory(platform=platform, state=state)
    line = RequestItemFactory(request=request)

    with pytest.raises(IllegalTransition, match="answers can no longer be recorded"):
        answer(line)


# --- the deadline: silence becomes no_response -----------------------------------------


def test_it_turns_pending_items_into_no_response_at_the_deadline(platform, time_machine):
    request = sent_request(platform, lines=2)
    time_machine.move_to(DEADLINE, tick=False)

    expired = request_expire_open_items(request=request)

    assert expired == 2
    assert set(request.lines.values_list("outcome", flat=True)) == {Outcome.NO_RESPONSE}


def test_it_records_no_response_as_set_by_the_system(platform, time_machine):
    line = sent_request(platform).lines.get()
    time_machine.move_to(DEADLINE, tick=False)

    request_expire_open_items(request=line.request)

    record = line.outcome_records.get()
    assert (record.outcome, record.source, record.recorded_by, record.recorded_at) == (
        Outcome.NO_RESPONSE,
        OutcomeSource.SYSTEM,
        None,
        DEADLINE,
    )


def test_it_does_not_count_no_response_as_a_response(platform, time_machine):
    line = sent_request(platform).lines.get()
    time_machine.move_to(DEADLINE, tick=False)

    request_expire_open_items(request=line.request)

    line.refresh_from_db()
    assert line.first_response_at is None


def test_it_leaves_answered_items_alone_at_the_deadline(platform, time_machine):
    request = sent_request(platform, lines=2)
    answered, _ = request.lines.all()
    answer(answered, Outcome.REFUSED_NO_JURISDICTION)
    time_machine.move_to(DEADLINE + timedelta(hours=1), tick=False)

    expired = request_expire_open_items(request=request)

    answered.refresh_from_db()
    assert (expired, answered.outcome) == (1, Outcome.REFUSED_NO_JURISDICTION)


def test_it_does_not_mark_an_ignored_request_answered(platform, time_machine):
    request = sent_request(platform, lines=2)
    time_machine.move_to(DEADLINE, tick=False)

    request_expire_open_items(request=request)

    assert state_of(request) == S.SENT


def test_it_does_not_mark_a_partly_ignored_request_answered(platform, time_machine):
    request = sent_request(platform, lines=2)
    answer(request.lines.first())
    time_machine.move_to(DEADLINE, tick=False)

    request_expire_open_items(request=request)

    assert state_of(request) == S.PARTLY_ANSWERED


def test_it_counts_a_late_answer_after_no_response(platform, time_machine):
    request = sent_request(platform)
    line = request.lines.get()
    time_machine.move_to(DEADLINE, tick=False)
    request_expire_open_items(request=request)
    time_machine.move_to(DEADLINE + timedelta(days=2), tick=False)

    answer(line, Outcome.REMOVED)

    line.refresh_from_db()
    assert (line.outcome, line.first_response_at) == (
        Outcome.REMOVED,
        DEADLINE + timedelta(days=2),
    )
    assert state_of(request) == S.ANSWERED


def test_it_refuses_to_expire_items_before_the_deadline(platform, time_machine):
    request = sent_request(platform)
    time_machine.move_to(DEADLINE - timedelta(seconds=1), tick=False)

    with pytest.raises(DomainError, match="has not passed"):
        request_expire_open_items(request=request)


def test_it_leaves_items_pending_when_expiry_is_refused(platform, time_machine):
    request = sent_request(platform)
    time_machine.move_to(DEADLINE - timedelta(seconds=1), tick=False)

    with pytest.raises(DomainError):
        request_expire_open_items(request=request)

    assert list(request.lines.values_list("outcome", flat=True)) == [Outcome.PENDING]


def test_it_refuses_to_expire_items_while_the_clock_is_paused(platform, time_machine):
    request = sent_request(platform, removal_order=True)
    time_machine.move_to(SENT_AT + timedelta(minutes=30), tick=False)
    request_pause_clock(request=request)
    time_machine.move_to(SENT_AT + timedelta(hours=2), tick=False)

    with pytest.raises(DomainError, match="has not passed"):
        request_expire_open_items(request=request)


def test_it_refuses_to_expire_items_of_a_closed_request(platform, time_machine):
    request = sent_request(platform, state=S.CLOSED)
    time_machine.move_to(DEADLINE, tick=False)

    with pytest.raises(IllegalTransition, match="is not open"):
        request_expire_open_items(request=request)


# --- clarification questions -----------------------------------------------------


def test_it_keeps_a_request_open_while_an_item_awaits_clarification(platform):
    request = sent_request(platform, lines=2)
    first, second = request.lines.all()

    answer(first)
    answer(second, Outcome.NEEDS_INFO, reason="Which post exactly?")

    assert state_of(request) == S.PARTLY_ANSWERED


def test_it_pauses_a_removal_orders_clock_when_the_operator_asks_a_question(platform):
    request = sent_request(platform, request_type="removal_order")
    at = SENT_AT + timedelta(minutes=20)

    answer(request.lines.get(), Outcome.NEEDS_INFO, reason="Which post?", at=at)

    request.refresh_from_db()
    assert request.clock_paused_at == at


def test_it_refuses_an_unknown_outcome_with_a_message(platform):
    request = sent_request(platform)

    with pytest.raises(DomainError, match="Unknown outcome 'deleted'"):
        answer(request.lines.get(), "deleted")
