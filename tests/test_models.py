"""The database itself refuses rows that break an invariant, whatever code writes them."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.models import (
    Correspondence,
    CorrespondenceDirection,
    ItemStatus,
    Outcome,
    OutcomeSource,
    RequestState,
)
from tests.factories import (
    ActorFactory,
    ContactFactory,
    CorrespondenceFactory,
    EvidenceFactory,
    HoldFactory,
    ItemFactory,
    OutcomeRecordFactory,
    PlatformDomainFactory,
    PlatformFactory,
    RemovalRequestFactory,
    RequestItemFactory,
    SentRequestFactory,
    UpstreamProviderFactory,
)

pytestmark = pytest.mark.django_db


@contextmanager
def refused_by(constraint: str):
    """Expect the database to refuse the write, naming ``constraint`` in its error."""
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        yield


# --- platforms ---------------------------------------------------------------


def test_it_refuses_two_platforms_whose_names_differ_only_in_case():
    PlatformFactory(name="Gab")

    with refused_by("platform_name_unique_ci"):
        PlatformFactory(name="GAB")


@pytest.mark.parametrize("days", [0, 366])
def test_it_refuses_a_response_target_out_of_range(days):
    with refused_by("platform_response_target_in_range"):
        PlatformFactory(response_target_days=days)


@pytest.mark.parametrize("domain", ["Example.NET", "example.net.", ""])
def test_it_refuses_a_domain_that_is_not_normalised(domain):
    with refused_by("platform_domain_normalised"):
        PlatformDomainFactory(domain=domain)


def test_it_refuses_one_domain_for_two_platforms():
    PlatformDomainFactory(domain="justpaste.example.net")

    with refused_by("domain"):
        PlatformDomainFactory(domain="justpaste.example.net")


def test_it_refuses_a_platform_as_its_own_upstream_provider():
    platform = PlatformFactory(infrastructure=True)

    with refused_by("upstream_provider_not_self"):
        UpstreamProviderFactory(platform=platform, provider=platform)


def test_it_refuses_the_same_upstream_provider_twice_in_one_role():
    link = UpstreamProviderFactory()

    with refused_by("upstream_provider_unique"):
        UpstreamProviderFactory(platform=link.platform, provider=link.provider, role=link.role)


def test_it_refuses_an_email_contact_without_an_email_address():
    with refused_by("contact_has_address_for_channel"):
        ContactFactory(email="")


def test_it_refuses_a_web_form_contact_without_the_form_url():
    with refused_by("contact_has_address_for_channel"):
        ContactFactory(web_form=True, web_form_url="")


def test_it_refuses_the_same_email_twice_at_one_platform_whatever_the_case():
    contact = ContactFactory(email="abuse@gab.example.net")

    with refused_by("contact_email_unique_per_platform"):
        ContactFactory(platform=contact.platform, email="Abuse@Gab.example.net")


def test_it_allows_the_same_email_at_two_platforms():
    ContactFactory(email="abuse@host.example.net")
    ContactFactory(email="abuse@host.example.net")


def test_it_refuses_two_active_primary_contacts_at_one_platform():
    primary = ContactFactory(primary=True)

    with refused_by("contact_one_active_primary"):
        ContactFactory(platform=primary.platform, primary=True)


def test_it_allows_a_new_primary_contact_beside_an_inactive_former_one():
    former = ContactFactory(primary=True, is_active=False)

    ContactFactory(platform=former.platform, primary=True)


# --- cases ------------------------------------------------------------------


def test_it_refuses_two_actors_whose_names_differ_only_in_case():
    ActorFactory(name="Al-Hayat Media")

    with refused_by("actor_name_unique_ci"):
        ActorFactory(name="al-hayat media")


def test_it_refuses_two_items_with_the_same_normalised_url():
    ItemFactory(url_normalised="https://paste.example.net/p/1")

    with refused_by("url_normalised"):
        ItemFactory(url_normalised="https://paste.example.net/p/1")


def test_it_refuses_an_item_reviewed_by_the_officer_who_referred_it(alice):
    with refused_by("item_four_eyes"):
        ItemFactory(created_by=alice, approved=True, reviewed_by=alice)


def test_it_refuses_a_reviewed_item_without_its_reviewer():
    with refused_by("item_reviewed_has_reviewer"):
        ItemFactory(status=ItemStatus.APPROVED)


def test_it_refuses_a_second_active_hold_on_one_item():
    hold = HoldFactory()

    with refused_by("hold_one_active_per_item"):
        HoldFactory(item=hold.item)


def test_it_allows_a_new_hold_once_the_previous_one_is_released(bob):
    hold = HoldFactory(released_by=bob, released_at=timezone.now())

    HoldFactory(item=hold.item)


def test_it_refuses_evidence_whose_hash_is_not_a_sha256_hex_digest():
    with refused_by("evidence_sha256_hex"):
        EvidenceFactory(sha256="ABC123")


def test_it_refuses_a_request_approved_by_its_composer(bob):
    with refused_by("request_four_eyes"):
        SentRequestFactory(composed_by=bob, approved_by=bob)


@pytest.mark.parametrize("reference", ["TKD-26-000001", "tkd-2026-000001", "TKD-2026-1", "X"])
def test_it_refuses_a_reference_in_another_format(reference):
    with refused_by("request_reference_format"):
        RemovalRequestFactory(reference=reference)


def test_it_refuses_two_requests_with_the_same_reference():
    request = RemovalRequestFactory()

    with refused_by("reference"):
        RemovalRequestFactory(reference=request.reference)


@pytest.mark.parametrize(
    "missing",
    [
        {"sent_at": None, "deadline": timezone.now() + timedelta(days=7)},
        {"deadline": None},
        {"approved_by": None},
    ],
    ids=["sent_at", "deadline", "approved_by"],
)
def test_it_refuses_a_sent_request_without_its_clock(missing):
    with refused_by("request_sent_has_clock"):
        SentRequestFactory(**missing)


def test_it_allows_a_cancelled_request_that_was_never_sent():
    RemovalRequestFactory(state=RequestState.CANCELLED)


def test_it_refuses_a_deadline_before_the_request_was_sent():
    now = timezone.now()

    with refused_by("request_deadline_after_sending"):
        SentRequestFactory(sent_at=now, deadline=now - timedelta(minutes=1))


def test_it_refuses_one_item_twice_in_one_request():
    line = RequestItemFactory()

    with refused_by("request_item_unique"):
        RequestItemFactory(request=line.request, item=line.item)


def test_it_refuses_a_no_response_outcome_not_set_by_the_system(bob):
    with refused_by("outcome_no_response_by_system"):
        OutcomeRecordFactory(
            outcome=Outcome.NO_RESPONSE, source=OutcomeSource.OFFICER, recorded_by=bob
        )


def test_it_refuses_pending_as_a_recorded_outcome():
    with refused_by("outcome_record_not_pending"):
        OutcomeRecordFactory(outcome=Outcome.PENDING)


@pytest.mark.parametrize("source", [OutcomeSource.OFFICER, OutcomeSource.OPERATOR_EMAIL])
def test_it_refuses_an_outcome_relayed_by_nobody(source):
    with refused_by("outcome_officer_named"):
        OutcomeRecordFactory(source=source, recorded_by=None)


def test_it_keeps_two_received_messages_with_the_same_message_id():
    # Senders reuse Message-IDs for different messages; both are on record (decision 0019).
    CorrespondenceFactory(message_id="<reply-1@gab.example.net>")
    CorrespondenceFactory(message_id="<reply-1@gab.example.net>")

    assert Correspondence.objects.filter(message_id="<reply-1@gab.example.net>").count() == 2


def test_it_refuses_two_sent_messages_with_the_same_message_id():
    # We mint outgoing Message-IDs: two sent messages sharing one is a bug.
    CorrespondenceFactory(direction=CorrespondenceDirection.OUTBOUND, message_id="<tkd-1@iru>")

    with refused_by("correspondence_outbound_message_id_unique"):
        CorrespondenceFactory(direction=CorrespondenceDirection.OUTBOUND, message_id="<tkd-1@iru>")


def test_it_refuses_the_same_received_email_bytes_twice():
    CorrespondenceFactory(raw=b"same bytes", raw_sha256="a" * 64)

    with refused_by("correspondence_inbound_email_raw_unique"):
        CorrespondenceFactory(raw=b"same bytes", raw_sha256="a" * 64)


def test_it_allows_several_messages_without_a_message_id():
    request = SentRequestFactory()

    CorrespondenceFactory(request=request, message_id="")
    CorrespondenceFactory(request=request, message_id="")

    assert request.correspondence.filter(message_id="").count() == 2
