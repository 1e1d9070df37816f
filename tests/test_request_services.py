"""Composing removal requests, the request state machine, sending and the legal clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from django.utils import timezone

from cases.models import (
    ItemCategory,
    LegalBasis,
    Outcome,
    OutcomeSource,
    RemovalRequest,
    RequestItem,
    RequestState,
    RequestType,
)
from cases.services.outcomes import request_item_record_outcome
from cases.services.requests import (
    TRANSITIONS,
    _transition,
    items_ready_to_send,
    request_cancel,
    request_close,
    request_compose,
    request_escalate,
    request_mark_overdue,
    request_mark_sent,
    request_pause_clock,
    request_resume_clock,
    request_return_to_draft,
    request_submit,
    requests_compose_weekly,
)
from core.audit import audit_history
from core.errors import DomainError, FourEyesViolation, IllegalTransition, PermissionRefused
from platforms.models import Platform
from tests.factories import (
    ContactFactory,
    HoldFactory,
    ItemFactory,
    PlatformFactory,
    RemovalRequestFactory,
    RequestItemFactory,
    SentRequestFactory,
)

pytestmark = pytest.mark.django_db

S = RequestState
MONDAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def ready_item(platform: Platform, **fields):
    """An approved item of ``platform``, waiting to be sent."""
    return ItemFactory(platform=platform, host="pastebay.example.net", approved=True, **fields)


def state_of(request: RemovalRequest) -> str:
    request.refresh_from_db()
    return request.state


def line_items(request: RemovalRequest) -> list:
    return [line.item for line in request.lines.select_related("item")]


# --- composing -------------------------------------------------------------------


def test_it_composes_a_draft_with_every_ready_item_of_the_platform(alice, platform):
    first, second = ready_item(platform), ready_item(platform)

    request = request_compose(platform=platform, composed_by=alice)

    assert (request.state, request.platform, request.composed_by) == (S.DRAFT, platform, alice)
    assert line_items(request) == [first, second]


def test_it_starts_every_line_of_a_new_request_pending(alice, platform):
    ready_item(platform)

    request = request_compose(platform=platform, composed_by=alice)

    assert list(request.lines.values_list("outcome", flat=True)) == [Outcome.PENDING]


def test_it_records_who_composed_a_request(alice, platform):
    ready_item(platform)

    request = request_compose(platform=platform, composed_by=alice)

    event = audit_history(request).get()
    assert (event.action, event.actor, event.new) == (
        "request.composed",
        alice,
        {"items": 1, "type": "referral"},
    )


UNREADY_ITEMS: dict[str, Callable[[Platform], object]] = {
    "awaiting-approval": lambda p: ItemFactory(platform=p),
    "rejected": lambda p: ItemFactory(platform=p, rejected=True),
    "on-hold": lambda p: HoldFactory(item=ready_item(p)).item,
    "in-a-sent-request": lambda p: RequestItemFactory(request__platform=p).item,
    "in-a-draft-request": lambda p: (
        RequestItemFactory(request=RemovalRequestFactory(platform=p)).item
    ),
    "of-another-platform": lambda p: ItemFactory(approved=True),
}


@pytest.mark.parametrize("make_unready", UNREADY_ITEMS.values(), ids=UNREADY_ITEMS.keys())
def test_it_leaves_out_items_that_are_not_ready(alice, platform, make_unready):
    ready = ready_item(platform)
    make_unready(platform)

    request = request_compose(platform=platform, composed_by=alice)

    assert line_items(request) == [ready]


@pytest.mark.parametrize("make_unready", UNREADY_ITEMS.values(), ids=UNREADY_ITEMS.keys())
def test_it_refuses_a_chosen_item_that_is_not_ready_and_names_it(alice, platform, make_unready):
    ready = ready_item(platform)
    unready = make_unready(platform)

    with pytest.raises(DomainError) as refused:
        request_compose(platform=platform, composed_by=alice, items=[ready, unready])

    assert refused.value.message.startswith("These items cannot go in a request to PasteBay")
    assert unready.url_normalised in refused.value.message
    assert ready.url_normalised not in refused.value.message


def test_it_composes_a_request_for_the_chosen_items_only(alice, platform):
    chosen, _other = ready_item(platform), ready_item(platform)

    request = request_compose(platform=platform, composed_by=alice, items=[chosen])

    assert line_items(request) == [chosen]


def test_it_creates_no_request_when_a_chosen_item_is_refused(alice, platform):
    with pytest.raises(DomainError):
        request_compose(platform=platform, composed_by=alice, items=[ItemFactory()])

    assert not RemovalRequest.objects.exists()


def test_it_refuses_to_compose_a_request_without_items(alice, platform):
    ItemFactory(platform=platform)  # awaiting approval

    with pytest.raises(DomainError, match="PasteBay has no approved items waiting to be sent"):
        request_compose(platform=platform, composed_by=alice)


def test_it_refuses_to_compose_a_request_for_an_empty_choice(alice, platform):
    ready_item(platform)

    with pytest.raises(DomainError, match="no approved items"):
        request_compose(platform=platform, composed_by=alice, items=[])


def test_it_writes_the_request_in_the_primary_contacts_language(alice, platform):
    platform.contacts.update(language="de")
    ready_item(platform)

    request = request_compose(platform=platform, composed_by=alice)

    assert request.language == "de"


def test_it_writes_the_request_in_the_platforms_language_when_the_contact_has_none(alice, platform):
    ready_item(platform)

    request = request_compose(platform=platform, composed_by=alice)

    assert request.language == "pl"


def test_it_writes_the_request_in_the_platforms_language_without_a_primary_contact(alice):
    platform = PlatformFactory(preferred_language="fr")
    ContactFactory(platform=platform, language="de")  # not primary
    ready_item(platform)

    request = request_compose(platform=platform, composed_by=alice)

    assert request.language == "fr"


def test_it_addresses_a_request_to_the_platforms_active_contacts(alice, platform):
    primary = platform.contacts.get()
    legal = ContactFactory(platform=platform, email="legal@pastebay.example.net")
    ContactFactory(platform=platform, email="gone@pastebay.example.net", is_active=False)
    ready_item(platform)

    request = request_compose(platform=platform, composed_by=alice)

    assert set(request.contacts.all()) == {primary, legal}


def test_it_takes_the_legal_basis_shared_by_all_items(alice, platform):
    ready_item(platform, legal_basis=LegalBasis.TERRORISM_ACT_2006)
    ready_item(platform, legal_basis=LegalBasis.TERRORISM_ACT_2006)

    request = request_compose(platform=platform, composed_by=alice)

    assert request.legal_basis == LegalBasis.TERRORISM_ACT_2006


def test_it_falls_back_to_the_terms_of_service_when_items_differ_in_legal_basis(alice, platform):
    ready_item(platform, legal_basis=LegalBasis.TERRORISM_ACT_2006)
    ready_item(platform, legal_basis=LegalBasis.NATIONAL_LAW)

    request = request_compose(platform=platform, composed_by=alice)

    assert request.legal_basis == LegalBasis.TERMS_OF_SERVICE


def test_it_bases_a_removal_order_on_the_tco_regulation(alice, platform):
    ready_item(platform)

    request = request_compose(
        platform=platform,
        composed_by=alice,
        request_type=RequestType.REMOVAL_ORDER,
        is_emergency=True,
    )

    assert request.legal_basis == LegalBasis.TCO_REGULATION


def test_it_flags_a_request_holding_a_threat_to_life_item(alice, platform):
    ready_item(platform)
    ready_item(platform, threat_to_life=True, category=ItemCategory.THREAT)

    request = request_compose(platform=platform, composed_by=alice)

    assert request.threat_to_life is True


def test_it_composes_one_weekly_draft_per_platform_with_ready_items(platform):
    gab = PlatformFactory(name="Gab")
    ContactFactory(platform=gab)  # without an active contact: no draft, an alert (0009)
    idle = PlatformFactory(name="Idle")
    ItemFactory(platform=idle)  # awaiting approval: nothing ready
    pastebay_items = [ready_item(platform), ready_item(platform)]
    gab_item = ready_item(gab)

    drafts = requests_compose_weekly()

    assert [(d.platform, d.state, d.composed_by) for d in drafts] == [
        (gab, S.DRAFT, None),
        (platform, S.DRAFT, None),
    ]
    assert [line_items(d) for d in drafts] == [[gab_item], pastebay_items]


def test_it_composes_no_weekly_draft_when_nothing_is_ready(platform):
    ItemFactory(platform=platform)

    assert requests_compose_weekly() == []


def test_it_composes_nothing_when_the_weekly_job_runs_twice(platform):
    ready_item(platform)
    requests_compose_weekly()

    assert requests_compose_weekly() == []


def test_it_gives_requests_consecutive_references_of_the_year(alice, platform, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    references = []
    for _ in range(3):
        ready_item(platform)
        references.append(request_compose(platform=platform, composed_by=alice).reference)

    assert references == ["TKD-2026-000001", "TKD-2026-000002", "TKD-2026-000003"]


def test_it_starts_the_references_again_in_a_new_year(alice, platform, time_machine):
    time_machine.move_to(datetime(2026, 12, 31, 12, 0, tzinfo=UTC), tick=False)
    ready_item(platform)
    request_compose(platform=platform, composed_by=alice)
    time_machine.move_to(datetime(2027, 1, 1, 12, 0, tzinfo=UTC), tick=False)
    ready_item(platform)

    request = request_compose(platform=platform, composed_by=alice)

    assert request.reference == "TKD-2027-000001"


# --- the state machine ---------------------------------------------------------


def test_it_has_a_transition_table_entry_for_every_state():
    assert set(TRANSITIONS) == set(RequestState)


LEGAL = [(old, new) for old in RequestState for new in RequestState if new in TRANSITIONS[old]]
ILLEGAL = [
    (old, new) for old in RequestState for new in RequestState if new not in TRANSITIONS[old]
]
UNSENT_STATES = (S.DRAFT, S.AWAITING_APPROVAL, S.CANCELLED)
ANSWERED_STATES = (S.ANSWERED, S.CLOSED)


def request_in(state: RequestState, platform: Platform, composer, *, pending: int = 1):
    """A request in ``state`` with lines to match it (answered states have answered lines)."""
    factory = RemovalRequestFactory if state in UNSENT_STATES else SentRequestFactory
    request = factory(
        platform=platform, state=state, composed_by=composer, contacts=list(platform.contacts.all())
    )
    answered = {S.PARTLY_ANSWERED: 1, S.ANSWERED: 1, S.CLOSED: 1}.get(state, 0)
    for _ in range(answered):
        RequestItemFactory(
            request=request, outcome=Outcome.REMOVED, outcome_source=OutcomeSource.OPERATOR_PORTAL
        )
    for _ in range(0 if state in ANSWERED_STATES else pending):
        RequestItemFactory(request=request)
    return request


def answer_lines(request: RemovalRequest, lines) -> None:
    for line in lines:
        request_item_record_outcome(
            line=line, outcome=Outcome.REMOVED, source=OutcomeSource.OPERATOR_PORTAL
        )


def pending_lines(request: RemovalRequest) -> list[RequestItem]:
    return list(request.lines.filter(outcome=Outcome.PENDING))


# The service that performs each move, called as the person who would make it.
SERVICES: dict[RequestState, Callable] = {
    S.AWAITING_APPROVAL: lambda r, who: request_submit(request=r, by=who.composer),
    S.DRAFT: lambda r, who: request_return_to_draft(
        request=r, by=who.supervisor, reason="Add the re-uploads."
    ),
    S.CANCELLED: lambda r, who: request_cancel(request=r, by=who.supervisor, reason="Duplicate."),
    S.SENT: lambda r, who: request_mark_sent(request=r, approver=who.supervisor),
    S.PARTLY_ANSWERED: lambda r, who: answer_lines(r, pending_lines(r)[:1]),
    S.ANSWERED: lambda r, who: answer_lines(r, pending_lines(r)),
    S.OVERDUE: lambda r, who: request_mark_overdue(request=r),
    S.ESCALATED: lambda r, who: request_escalate(
        request=r, by=who.supervisor, reason="No answer after two reminders."
    ),
    S.CLOSED: lambda r, who: request_close(request=r, by=who.supervisor),
}


class People(NamedTuple):
    composer: Any
    supervisor: Any


@pytest.mark.parametrize(("old", "new"), LEGAL, ids=[f"{o}->{n}" for o, n in LEGAL])
def test_it_performs_every_legal_transition_through_its_service(alice, bob, platform, old, new):
    request = request_in(old, platform, alice, pending=2 if new == S.PARTLY_ANSWERED else 1)

    SERVICES[new](request, People(composer=alice, supervisor=bob))

    request.refresh_from_db()
    assert request.state == new
    event = audit_history(request).filter(action="request.state_changed").first()
    assert (event.old, event.new) == ({"state": old.value}, {"state": new.value})


@pytest.mark.parametrize(("old", "new"), ILLEGAL, ids=[f"{o}->{n}" for o, n in ILLEGAL])
def test_it_refuses_every_illegal_transition_with_a_message(alice, platform, old, new):
    request = request_in(old, platform, alice)

    with pytest.raises(IllegalTransition) as refused:
        _transition(request, new, actor=alice)

    assert refused.value.message == (
        f"Request {request.reference} is {old.label.lower()}; it cannot become {new.label.lower()}."
    )
    assert request.state == old
    assert not audit_history(request).exists()


PUBLIC_ILLEGAL = [
    (S.DRAFT, S.SENT),
    (S.SENT, S.AWAITING_APPROVAL),
    (S.SENT, S.CANCELLED),
    (S.SENT, S.DRAFT),
    (S.DRAFT, S.CLOSED),
    (S.ANSWERED, S.ESCALATED),
    (S.CLOSED, S.OVERDUE),
    (S.CANCELLED, S.AWAITING_APPROVAL),
]


@pytest.mark.parametrize(
    ("old", "new"), PUBLIC_ILLEGAL, ids=[f"{o}->{n}" for o, n in PUBLIC_ILLEGAL]
)
def test_it_refuses_an_illegal_move_through_the_public_service(alice, bob, platform, old, new):
    request = request_in(old, platform, alice)

    with pytest.raises(IllegalTransition, match=f"it cannot become {new.label.lower()}"):
        SERVICES[new](request, People(composer=alice, supervisor=bob))

    request.refresh_from_db()
    assert request.state == old


def test_it_refuses_to_submit_a_request_without_items(alice, platform):
    request = RemovalRequestFactory(platform=platform, composed_by=alice)

    with pytest.raises(DomainError, match="has no items"):
        request_submit(request=request, by=alice)


def test_it_refuses_to_cancel_a_request_without_a_reason(bob, platform):
    request = request_in(S.DRAFT, platform, bob)

    with pytest.raises(DomainError, match="Say why"):
        request_cancel(request=request, by=bob, reason=" ")


def test_it_makes_the_items_of_a_cancelled_request_ready_again(alice, bob, platform):
    items = [ready_item(platform), ready_item(platform)]
    request = request_compose(platform=platform, composed_by=alice)

    request_cancel(request=request, by=bob, reason="Wrong platform contact.")

    assert set(items_ready_to_send()) == set(items)


def test_it_composes_a_new_request_from_the_items_of_a_cancelled_one(alice, bob, platform):
    item = ready_item(platform)
    cancelled = request_compose(platform=platform, composed_by=alice)
    request_cancel(request=cancelled, by=bob, reason="Wrong platform contact.")

    request = request_compose(platform=platform, composed_by=alice)

    assert line_items(request) == [item]


def test_it_stamps_when_a_request_was_cancelled(bob, platform, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    request = request_in(S.DRAFT, platform, bob)

    request_cancel(request=request, by=bob, reason="Duplicate.")

    request.refresh_from_db()
    assert request.closed_at == MONDAY


def test_it_stops_follow_ups_when_a_request_is_closed(bob, platform):
    request = request_in(S.ANSWERED, platform, bob)

    request_close(request=request, by=bob)

    request.refresh_from_db()
    assert request.next_followup_at is None
    assert request.closed_at is not None


# --- sending -------------------------------------------------------------------------


def awaiting(platform: Platform, composer, **fields) -> RemovalRequest:
    return RemovalRequestFactory(
        platform=platform,
        state=S.AWAITING_APPROVAL,
        composed_by=composer,
        contacts=list(platform.contacts.all()),
        **fields,
    )


def test_it_refuses_sending_by_the_supervisor_who_composed_the_request(bob, platform):
    request = awaiting(platform, bob)

    with pytest.raises(FourEyesViolation, match="another supervisor must approve and send it"):
        request_mark_sent(request=request, approver=bob)


def test_it_refuses_sending_by_an_officer(alice, bob, platform):
    request = awaiting(platform, bob)

    with pytest.raises(PermissionRefused, match="does not allow you to approve and send"):
        request_mark_sent(request=request, approver=alice)


def test_it_lets_a_second_supervisor_send_a_supervisors_request(bob, charlie, platform):
    request = awaiting(platform, bob)

    request_mark_sent(request=request, approver=charlie)

    request.refresh_from_db()
    assert (request.state, request.approved_by) == (S.SENT, charlie)


def test_it_lets_any_supervisor_send_a_request_composed_by_the_weekly_job(bob, platform):
    request = awaiting(platform, None)

    request_mark_sent(request=request, approver=bob)

    request.refresh_from_db()
    assert request.state == S.SENT


def test_it_refuses_sending_a_request_to_a_platform_without_an_active_contact(alice, bob, platform):
    request = awaiting(platform, alice)
    platform.contacts.update(is_active=False, is_primary=False)

    with pytest.raises(DomainError, match="PasteBay has no active contact"):
        request_mark_sent(request=request, approver=bob)


def test_it_refuses_sending_an_item_put_on_hold_after_the_request_was_composed(
    alice, bob, charlie, platform
):
    held, _free = ready_item(platform), ready_item(platform)
    request = request_compose(platform=platform, composed_by=alice)
    request_submit(request=request, by=alice)
    HoldFactory(item=held, placed_by=bob)

    with pytest.raises(DomainError) as refused:
        request_mark_sent(request=request, approver=charlie)

    assert held.url_normalised in refused.value.message
    assert state_of(request) == S.AWAITING_APPROVAL


def test_it_sends_a_request_once_the_hold_on_its_item_is_released(alice, bob, charlie, platform):
    item = ready_item(platform)
    request = request_compose(platform=platform, composed_by=alice)
    request_submit(request=request, by=alice)
    HoldFactory(item=item, placed_by=bob, released_by=bob, released_at=timezone.now())

    request_mark_sent(request=request, approver=charlie)

    assert state_of(request) == S.SENT


def test_it_starts_a_referrals_clock_on_the_platforms_response_target(
    alice, bob, platform, time_machine
):
    time_machine.move_to(MONDAY, tick=False)
    request = awaiting(platform, alice)

    request_mark_sent(request=request, approver=bob)

    request.refresh_from_db()
    assert (request.sent_at, request.approved_at) == (MONDAY, MONDAY)
    # The default ladder (decision 0009): deadline 14 days after the 7-day response target,
    # first reminder at the target.
    assert request.deadline == request.original_deadline == MONDAY + timedelta(days=21)
    assert request.next_followup_at == MONDAY + timedelta(days=7)


@pytest.mark.parametrize("hours", [1, 24])
def test_it_gives_a_removal_order_the_configured_hours(alice, bob, platform, settings, hours):
    settings.REMOVAL_ORDER_DEADLINE_HOURS = hours
    request = awaiting(platform, alice, removal_order=True)

    request_mark_sent(request=request, approver=bob, at=MONDAY)

    request.refresh_from_db()
    assert request.deadline == MONDAY + timedelta(hours=hours)


def test_it_sends_at_the_time_given(alice, bob, platform):
    request = awaiting(platform, alice)

    request_mark_sent(request=request, approver=bob, at=MONDAY)

    request.refresh_from_db()
    assert (request.sent_at, request.deadline) == (MONDAY, MONDAY + timedelta(days=21))


# --- TCO Art. 3(2): advance notice before a platform's first removal order -----------


def compose_order(platform: Platform, composer, **kwargs) -> RemovalRequest:
    ready_item(platform)
    return request_compose(
        platform=platform,
        composed_by=composer,
        request_type=RequestType.REMOVAL_ORDER,
        **kwargs,
    )


def test_it_refuses_a_first_removal_order_without_advance_notice(alice, platform):
    with pytest.raises(DomainError, match="advance notice at least 12 hours"):
        compose_order(platform, alice)


def test_it_refuses_a_first_removal_order_less_than_12_hours_after_notice(
    alice, platform, time_machine
):
    time_machine.move_to(MONDAY, tick=False)
    platform.tco_advance_notice_at = MONDAY - timedelta(hours=11, minutes=59)
    platform.save()

    with pytest.raises(DomainError, match=r"TCO Art\. 3\(2\)"):
        compose_order(platform, alice)


def test_it_allows_a_first_removal_order_12_hours_after_notice(alice, platform, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    platform.tco_advance_notice_at = MONDAY - timedelta(hours=12)
    platform.save()

    request = compose_order(platform, alice)

    assert request.request_type == RequestType.REMOVAL_ORDER


def test_it_allows_a_first_removal_order_without_notice_in_an_emergency(alice, platform):
    request = compose_order(platform, alice, is_emergency=True)

    assert request.is_emergency is True


def test_it_allows_later_removal_orders_without_notice(alice, platform):
    SentRequestFactory(platform=platform, removal_order=True)

    request = compose_order(platform, alice)

    assert request.request_type == RequestType.REMOVAL_ORDER


def test_it_still_requires_notice_when_the_earlier_order_was_never_sent(alice, platform):
    RemovalRequestFactory(platform=platform, removal_order=True, is_emergency=True)

    with pytest.raises(DomainError, match="advance notice"):
        compose_order(platform, alice)


def test_it_does_not_require_notice_for_referrals(alice, platform):
    ready_item(platform)

    request = request_compose(platform=platform, composed_by=alice)

    assert request.request_type == RequestType.REFERRAL


# --- the legal clock ------------------------------------------------------------------


def sent_order(platform: Platform) -> RemovalRequest:
    return SentRequestFactory(platform=platform, removal_order=True, sent_at=MONDAY)


def test_it_moves_the_deadline_back_by_exactly_the_pause(bob, platform, time_machine):
    request = sent_order(platform)
    time_machine.move_to(MONDAY + timedelta(minutes=10), tick=False)
    request_pause_clock(request=request, actor_label="operator via portal")
    time_machine.move_to(MONDAY + timedelta(minutes=47, seconds=13), tick=False)

    request_resume_clock(request=request, by=bob)

    request.refresh_from_db()
    pause = timedelta(minutes=37, seconds=13)
    assert request.deadline == MONDAY + timedelta(hours=1) + pause
    assert request.total_pause == pause
    assert request.clock_paused_at is None


def test_it_moves_the_next_follow_up_back_by_the_pause(bob, platform, time_machine):
    request = sent_order(platform)
    time_machine.move_to(MONDAY + timedelta(minutes=10), tick=False)
    request_pause_clock(request=request)
    time_machine.move_to(MONDAY + timedelta(minutes=40), tick=False)

    request_resume_clock(request=request, by=bob)

    request.refresh_from_db()
    assert request.next_followup_at == MONDAY + timedelta(hours=1, minutes=30)


def test_it_keeps_the_original_deadline_through_a_pause(bob, platform, time_machine):
    request = sent_order(platform)
    time_machine.move_to(MONDAY + timedelta(minutes=10), tick=False)
    request_pause_clock(request=request)
    time_machine.move_to(MONDAY + timedelta(minutes=40), tick=False)

    request_resume_clock(request=request, by=bob)

    request.refresh_from_db()
    assert request.original_deadline == MONDAY + timedelta(hours=1)


def test_it_adds_up_successive_pauses(bob, platform, time_machine):
    request = sent_order(platform)
    for start in (10, 30):
        time_machine.move_to(MONDAY + timedelta(minutes=start), tick=False)
        request_pause_clock(request=request)
        time_machine.move_to(MONDAY + timedelta(minutes=start + 5), tick=False)
        request_resume_clock(request=request, by=bob)

    request.refresh_from_db()
    assert request.total_pause == timedelta(minutes=10)
    assert request.deadline == MONDAY + timedelta(hours=1, minutes=10)


def test_it_does_not_restart_a_pause_on_a_second_question(bob, platform, time_machine):
    request = sent_order(platform)
    time_machine.move_to(MONDAY + timedelta(minutes=10), tick=False)
    request_pause_clock(request=request)
    time_machine.move_to(MONDAY + timedelta(minutes=20), tick=False)
    request_pause_clock(request=request)
    time_machine.move_to(MONDAY + timedelta(minutes=40), tick=False)

    request_resume_clock(request=request, by=bob)

    request.refresh_from_db()
    assert request.total_pause == timedelta(minutes=30)


def test_it_records_the_pause_and_the_resumption(bob, platform, time_machine):
    request = sent_order(platform)
    time_machine.move_to(MONDAY + timedelta(minutes=10), tick=False)
    request_pause_clock(request=request, actor_label="operator via portal")
    time_machine.move_to(MONDAY + timedelta(minutes=40), tick=False)

    request_resume_clock(request=request, by=bob)

    resumed, paused = audit_history(request)
    assert (paused.action, paused.actor_label) == ("request.clock_paused", "operator via portal")
    assert (resumed.action, resumed.actor, resumed.extra) == (
        "request.clock_resumed",
        bob,
        {"paused_seconds": 1800},
    )


def test_it_refuses_to_pause_a_referrals_clock(platform):
    request = SentRequestFactory(platform=platform)

    with pytest.raises(DomainError, match="Only a removal order's legal clock can be paused"):
        request_pause_clock(request=request)


def test_it_refuses_to_pause_the_clock_of_a_closed_order(platform):
    request = SentRequestFactory(platform=platform, removal_order=True, state=S.CLOSED)

    with pytest.raises(IllegalTransition, match="is not open"):
        request_pause_clock(request=request)


def test_it_refuses_to_resume_a_clock_that_is_not_paused(bob, platform):
    request = sent_order(platform)

    with pytest.raises(IllegalTransition, match="is not paused"):
        request_resume_clock(request=request, by=bob)
