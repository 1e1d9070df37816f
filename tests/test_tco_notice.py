"""The TCO advance notice recorded in the staff UI; removal orders to the TCO contact point
(issue 10, point 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from cases.models import RequestType
from cases.services.requests import request_compose
from core.audit import audit_history
from core.errors import DomainError, PermissionRefused
from platforms.models import ContactRole, Platform
from platforms.services import platform_record_tco_notice
from tests.factories import ContactFactory, ItemFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def ready_item(platform: Platform) -> Any:
    return ItemFactory(platform=platform, host="pastebay.example.net", approved=True)


def notice_url(platform: Platform) -> str:
    return reverse("platforms:tco_notice", args=[platform.pk])


# --- recording the notice -------------------------------------------------------------------


def test_it_records_the_advance_notice(bob, platform):
    platform_record_tco_notice(platform=platform, actor=bob, given_at=NOW - timedelta(hours=1))

    platform.refresh_from_db()
    assert platform.tco_advance_notice_at == NOW - timedelta(hours=1)


def test_it_audits_the_advance_notice(bob, platform):
    platform_record_tco_notice(platform=platform, actor=bob, given_at=NOW)

    event = audit_history(platform).get(action="platform.tco_notice_recorded")
    assert (event.actor, event.old) == (bob, {"tco_advance_notice_at": None})


def test_it_refuses_a_notice_in_the_future(bob, platform):
    with pytest.raises(DomainError, match="future"):
        platform_record_tco_notice(platform=platform, actor=bob, given_at=NOW + timedelta(hours=1))


def test_it_refuses_an_officer_recording_the_notice(alice, platform):
    with pytest.raises(PermissionRefused):
        platform_record_tco_notice(platform=platform, actor=alice, given_at=NOW)


def test_it_lets_a_removal_order_follow_a_notice_recorded_13_hours_ago(alice, bob, platform):
    platform_record_tco_notice(platform=platform, actor=bob, given_at=NOW - timedelta(hours=13))
    platform.refresh_from_db()
    ready_item(platform)

    order = request_compose(
        platform=platform, composed_by=alice, request_type=RequestType.REMOVAL_ORDER
    )

    assert order.request_type == RequestType.REMOVAL_ORDER


def test_it_records_the_notice_from_the_platform_page(client, bob, platform):
    client.force_login(bob)

    response = client.post(notice_url(platform), {"given_at": "2026-03-02T08:30"}, follow=True)

    assert "TCO advance notice to PasteBay recorded." in response.content.decode()
    platform.refresh_from_db()
    assert platform.tco_advance_notice_at is not None


def test_it_shows_the_notice_form_to_a_supervisor(client, bob, platform):
    client.force_login(bob)

    page = client.get(reverse("platforms:detail", args=[platform.pk])).content.decode()

    assert notice_url(platform) in page


def test_it_hides_the_notice_form_from_an_officer(client, alice, platform):
    client.force_login(alice)

    page = client.get(reverse("platforms:detail", args=[platform.pk])).content.decode()

    assert notice_url(platform) not in page


@pytest.mark.parametrize("persona", ["alice", "dave"])
def test_it_answers_403_to_an_officer_or_analyst_posting_the_notice(
    client, persona, request, platform
):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(notice_url(platform), {"given_at": "2026-03-02T08:30"})

    assert response.status_code == 403
    platform.refresh_from_db()
    assert platform.tco_advance_notice_at is None


def test_it_answers_400_with_a_message_for_a_bad_date(client, bob, platform):
    client.force_login(bob)

    response = client.post(notice_url(platform), {"given_at": "yesterday"})

    assert response.status_code == 400
    assert "valid date" in response.content.decode()


def test_it_answers_405_to_a_get_of_the_notice_url(client, bob, platform):
    client.force_login(bob)

    assert client.get(notice_url(platform)).status_code == 405


# --- who a removal order goes to ------------------------------------------------------------


def test_it_sends_a_removal_order_to_the_tco_contact_point(alice, platform):
    tco = ContactFactory(platform=platform, role=ContactRole.TCO_CONTACT_POINT)
    ready_item(platform)

    order = request_compose(
        platform=platform,
        composed_by=alice,
        request_type=RequestType.REMOVAL_ORDER,
        is_emergency=True,
    )

    assert list(order.contacts.all()) == [tco]


def test_it_keeps_sending_referrals_to_the_abuse_contact(alice, platform):
    ContactFactory(platform=platform, role=ContactRole.TCO_CONTACT_POINT)
    ready_item(platform)

    referral = request_compose(platform=platform, composed_by=alice)

    assert [c.email for c in referral.contacts.all()] == ["abuse@pastebay.example.net"]


def test_it_sends_a_removal_order_to_the_abuse_contact_without_a_tco_contact_point(alice, platform):
    ready_item(platform)

    order = request_compose(
        platform=platform,
        composed_by=alice,
        request_type=RequestType.REMOVAL_ORDER,
        is_emergency=True,
    )

    assert [c.email for c in order.contacts.all()] == ["abuse@pastebay.example.net"]
