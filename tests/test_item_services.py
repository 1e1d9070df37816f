"""Referring URLs as items, reviewing them (four-eyes) and de-confliction holds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from cases.models import Hold, Item, ItemReferral, ItemStatus
from cases.services.items import (
    UrlError,
    item_approve,
    item_hold_place,
    item_hold_release,
    item_refer,
    item_reject,
)
from core.audit import audit_history
from core.errors import DomainError, FourEyesViolation, IllegalTransition, PermissionRefused
from tests.factories import ActorFactory, CaseFactory, HoldFactory, ItemFactory

pytestmark = pytest.mark.django_db


def actions(target) -> list[str]:
    return list(audit_history(target).values_list("action", flat=True))


# --- referring ------------------------------------------------------------------


def test_it_refers_a_url_as_a_new_item_with_its_normalised_form(alice, platform):
    result = item_refer(url="https://PasteBay.example.net/p/abc?utm_source=x", referred_by=alice)

    assert result.created is True
    assert result.item.url_submitted == "https://PasteBay.example.net/p/abc?utm_source=x"
    assert result.item.url_normalised == "https://pastebay.example.net/p/abc"
    assert result.item.host == "pastebay.example.net"


def test_it_matches_a_referred_url_to_its_platform(alice, platform):
    result = item_refer(url="https://pastebay.example.net/p/abc", referred_by=alice)

    assert result.item.platform == platform


def test_it_refers_a_url_of_an_unknown_platform_without_a_platform(alice, platform):
    result = item_refer(url="https://gab.example.org/post/1", referred_by=alice)

    assert result.item.platform is None


def test_it_refers_a_new_item_for_approval(alice, platform):
    result = item_refer(url="https://pastebay.example.net/p/abc", referred_by=alice)

    assert (result.item.status, result.item.created_by) == (ItemStatus.PENDING_APPROVAL, alice)


def test_it_records_the_referral_and_its_audit_event(alice, platform):
    item = item_refer(url="https://pastebay.example.net/p/abc", referred_by=alice).item

    assert list(item.referrals.values_list("referred_by__username", flat=True)) == ["alice"]
    assert actions(item) == ["item.referred"]


def test_it_takes_the_actor_of_the_case_when_none_is_given(alice, platform):
    case = CaseFactory(actor=ActorFactory(name="Al-Hayat Media"))

    item = item_refer(url="https://pastebay.example.net/p/abc", referred_by=alice, case=case).item

    assert (item.case, item.actor) == (case, case.actor)


@pytest.mark.parametrize(
    "same_url",
    [
        "HTTPS://PASTEBAY.EXAMPLE.NET/p/abc",
        "https://pastebay.example.net/p/abc?utm_campaign=spring",
        "https://pastebay.example.net/p/abc#comments",
        "https://pastebay.example.net:443/p/abc",
    ],
    ids=["case", "tracking-parameter", "fragment", "default-port"],
)
def test_it_treats_the_same_url_in_another_form_as_the_same_item(alice, bob, platform, same_url):
    first = item_refer(url="https://pastebay.example.net/p/abc", referred_by=alice)

    again = item_refer(url=same_url, referred_by=bob)

    assert again.created is False
    assert again.item == first.item
    assert Item.objects.count() == 1


def test_it_adds_a_referral_when_the_same_url_is_referred_again(alice, bob, platform):
    first = item_refer(url="https://pastebay.example.net/p/abc", referred_by=alice)
    case = CaseFactory(created_by=bob)

    item_refer(url="https://PASTEBAY.example.net/p/abc#top", referred_by=bob, case=case)

    referrals = ItemReferral.objects.filter(item=first.item).order_by("id")
    assert [(r.referred_by, r.case, r.url_submitted) for r in referrals] == [
        (alice, None, "https://pastebay.example.net/p/abc"),
        (bob, case, "https://PASTEBAY.example.net/p/abc#top"),
    ]


def test_it_keeps_the_first_referral_of_an_item_when_it_is_referred_again(alice, bob, platform):
    item_refer(url="https://pastebay.example.net/p/abc", referred_by=alice, assessment_note="A")

    item = item_refer(
        url="https://pastebay.example.net/p/abc#x", referred_by=bob, assessment_note="B"
    ).item

    assert (item.created_by, item.url_submitted, item.assessment_note) == (
        alice,
        "https://pastebay.example.net/p/abc",
        "A",
    )


def test_it_records_a_second_referral_in_the_audit_trail(alice, bob, platform):
    item = item_refer(url="https://pastebay.example.net/p/abc", referred_by=alice).item

    item_refer(url="https://pastebay.example.net/p/abc", referred_by=bob)

    assert actions(item) == ["item.referred_again", "item.referred"]


@pytest.mark.parametrize("text", ["not a url", "javascript:alert(1)", ""])
def test_it_refuses_text_that_is_not_a_url_with_a_message(alice, text):
    with pytest.raises(UrlError) as refused:
        item_refer(url=text, referred_by=alice)

    assert refused.value.message


def test_it_creates_nothing_for_a_refused_url(alice):
    with pytest.raises(UrlError):
        item_refer(url="javascript:alert(1)", referred_by=alice)

    assert not Item.objects.exists()


# --- reviewing (four-eyes) --------------------------------------------------------


def test_it_approves_an_item_referred_by_someone_else(alice, bob):
    item = ItemFactory(created_by=alice)

    item_approve(item=item, reviewer=bob, note="Clear incitement.")

    item.refresh_from_db()
    assert (item.status, item.reviewed_by, item.review_note) == (
        ItemStatus.APPROVED,
        bob,
        "Clear incitement.",
    )
    assert item.reviewed_at is not None


def test_it_records_an_approval(alice, bob):
    item = ItemFactory(created_by=alice)

    item_approve(item=item, reviewer=bob)

    event = audit_history(item).get()
    assert (event.action, event.actor, event.old, event.new) == (
        "item.approved",
        bob,
        {"status": "pending_approval"},
        {"status": "approved"},
    )


def test_it_refuses_approval_by_the_supervisor_who_referred_the_item(bob):
    item = ItemFactory(created_by=bob)

    with pytest.raises(FourEyesViolation, match="another supervisor must review it"):
        item_approve(item=item, reviewer=bob)


def test_it_refuses_approval_by_an_officer(alice, bob):
    item = ItemFactory(created_by=bob)

    with pytest.raises(PermissionRefused, match="does not allow you to approve"):
        item_approve(item=item, reviewer=alice)


def test_it_refuses_rejection_by_the_officer_who_referred_the_item(bob):
    item = ItemFactory(created_by=bob)

    with pytest.raises(FourEyesViolation):
        item_reject(item=item, reviewer=bob, note="Changed my mind.")


def test_it_leaves_an_item_pending_when_its_referrer_tries_to_approve_it(bob):
    item = ItemFactory(created_by=bob)

    with pytest.raises(FourEyesViolation):
        item_approve(item=item, reviewer=bob)

    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING_APPROVAL


def test_it_refuses_to_approve_an_item_twice(alice, bob, charlie):
    item = ItemFactory(created_by=alice)
    item_approve(item=item, reviewer=bob)

    with pytest.raises(IllegalTransition, match="already approved"):
        item_approve(item=item, reviewer=charlie)


def test_it_refuses_to_approve_a_rejected_item(alice, bob, charlie):
    item = ItemFactory(created_by=alice)
    item_reject(item=item, reviewer=bob, note="Satire, not propaganda.")

    with pytest.raises(IllegalTransition, match="already rejected"):
        item_approve(item=item, reviewer=charlie)


def test_it_rejects_an_item_with_a_note(alice, bob):
    item = ItemFactory(created_by=alice)

    item_reject(item=item, reviewer=bob, note="Satire, not propaganda.")

    item.refresh_from_db()
    assert (item.status, item.review_note) == (ItemStatus.REJECTED, "Satire, not propaganda.")
    assert actions(item) == ["item.rejected"]


@pytest.mark.parametrize("note", ["", "   "])
def test_it_refuses_a_rejection_without_a_note(alice, bob, note):
    item = ItemFactory(created_by=alice)

    with pytest.raises(DomainError, match="Say why"):
        item_reject(item=item, reviewer=bob, note=note)


# --- holds --------------------------------------------------------------------------


def test_it_places_a_hold_on_an_item(bob):
    item = ItemFactory(approved=True)
    review_on = timezone.localdate() + timedelta(days=14)

    hold = item_hold_place(
        item=item,
        placed_by=bob,
        reason="Source development by CTP.",
        review_on=review_on,
        requesting_agency="CTP North",
    )

    assert list(Hold.objects.filter(item=item, released_at__isnull=True)) == [hold]
    assert (hold.placed_by, hold.review_on) == (bob, review_on)
    assert actions(item) == ["item.hold_placed"]


def test_it_refuses_a_second_hold_on_an_item_already_held(bob, charlie):
    held = HoldFactory()

    with pytest.raises(IllegalTransition, match="already on hold"):
        item_hold_place(
            item=held.item,
            placed_by=charlie,
            reason="Another agency too.",
            review_on=timezone.localdate() + timedelta(days=7),
        )


def test_it_refuses_a_hold_without_a_reason(bob):
    with pytest.raises(DomainError, match="needs a reason"):
        item_hold_place(
            item=ItemFactory(),
            placed_by=bob,
            reason=" ",
            review_on=timezone.localdate() + timedelta(days=7),
        )


def test_it_refuses_a_hold_whose_review_date_is_in_the_past(bob, time_machine):
    time_machine.move_to("2026-03-02 10:00Z", tick=False)

    with pytest.raises(DomainError, match="cannot be in the past"):
        item_hold_place(
            item=ItemFactory(), placed_by=bob, reason="CTP.", review_on=date(2026, 3, 1)
        )


def test_it_allows_a_hold_to_be_reviewed_today(bob, time_machine):
    time_machine.move_to("2026-03-02 10:00Z", tick=False)

    hold = item_hold_place(
        item=ItemFactory(), placed_by=bob, reason="CTP.", review_on=date(2026, 3, 2)
    )

    assert hold.review_on == date(2026, 3, 2)


def test_it_releases_a_hold(bob, charlie):
    held = HoldFactory(placed_by=bob)

    hold = item_hold_release(item=held.item, released_by=charlie)

    assert (hold.pk, hold.released_by) == (held.pk, charlie)
    assert hold.released_at is not None
    assert actions(held.item) == ["item.hold_released"]


def test_it_allows_a_new_hold_once_the_previous_one_is_released(bob):
    held = HoldFactory()
    item_hold_release(item=held.item, released_by=bob)

    item_hold_place(
        item=held.item,
        placed_by=bob,
        reason="New interest.",
        review_on=timezone.localdate() + timedelta(days=7),
    )

    assert held.item.holds.count() == 2


def test_it_refuses_to_release_an_item_that_is_not_on_hold(bob):
    with pytest.raises(IllegalTransition, match="not on hold"):
        item_hold_release(item=ItemFactory(), released_by=bob)


def test_it_refuses_an_unknown_category_with_a_message(alice, platform):
    with pytest.raises(DomainError, match="Unknown category 'memes'"):
        item_refer(url="https://pastebay.example.net/a", referred_by=alice, category="memes")
