"""factory_boy factories, one per model.

Defaults build the smallest valid row: every factory creates what it needs
(a platform, a referring officer, ...) unless the test passes its own. Rows
are created with ``objects.create`` and never validated, so a test can also
build the invalid rows the database constraints must refuse.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import factory
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from cases.models import (
    Actor,
    Case,
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    Evidence,
    Hold,
    Item,
    ItemReferral,
    ItemStatus,
    LegalBasis,
    Outcome,
    OutcomeRecord,
    OutcomeSource,
    ReferenceCounter,
    RemovalRequest,
    RequestItem,
    RequestState,
    RequestType,
)
from cases.services.requests import request_reference_next
from core.models import AuditEvent
from notifications.models import InboundAttachment, InboundMail, OutboundEmail
from platforms.models import (
    Contact,
    ContactChannel,
    ContactRole,
    Platform,
    PlatformDomain,
    PlatformKind,
    UpstreamProvider,
    UpstreamRole,
)
from portal.models import PortalLink


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@iru.example")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def groups(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(*extracted)


class AuditEventFactory(DjangoModelFactory):
    class Meta:
        model = AuditEvent

    actor = factory.SubFactory(UserFactory)
    action = "test.happened"
    target_type = "platforms.platform"
    target_id = factory.Sequence(str)


# --- platforms ---------------------------------------------------------------


class PlatformFactory(DjangoModelFactory):
    class Meta:
        model = Platform

    name = factory.Sequence(lambda n: f"Platform {n}")
    kind = PlatformKind.PASTE_SITE

    class Params:
        infrastructure = factory.Trait(kind=PlatformKind.INFRASTRUCTURE)


class PlatformDomainFactory(DjangoModelFactory):
    class Meta:
        model = PlatformDomain

    platform = factory.SubFactory(PlatformFactory)
    domain = factory.Sequence(lambda n: f"platform{n}.example.net")


class UpstreamProviderFactory(DjangoModelFactory):
    class Meta:
        model = UpstreamProvider

    platform = factory.SubFactory(PlatformFactory)
    provider = factory.SubFactory(PlatformFactory, infrastructure=True)
    role = UpstreamRole.HOSTING


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact

    platform = factory.SubFactory(PlatformFactory)
    name = "Abuse desk"
    channel = ContactChannel.EMAIL
    email = factory.Sequence(lambda n: f"abuse{n}@example.net")
    role = ContactRole.ABUSE

    class Params:
        primary = factory.Trait(is_primary=True)
        web_form = factory.Trait(
            channel=ContactChannel.WEB_FORM,
            email="",
            web_form_url=factory.Sequence(lambda n: f"https://example.net/report/{n}"),
        )


# --- cases ------------------------------------------------------------------


class ActorFactory(DjangoModelFactory):
    class Meta:
        model = Actor

    name = factory.Sequence(lambda n: f"Group {n}")


class CaseFactory(DjangoModelFactory):
    class Meta:
        model = Case

    title = factory.Sequence(lambda n: f"Release {n} and its re-uploads")
    created_by = factory.SubFactory(UserFactory)


class ItemFactory(DjangoModelFactory):
    """A referred URL on its platform, awaiting approval (``approved=True`` for a reviewed one)."""

    class Meta:
        model = Item

    platform = factory.SubFactory(PlatformFactory)
    host = "paste.example.net"
    url_normalised = factory.LazyAttributeSequence(lambda o, n: f"https://{o.host}/p/{n}")
    url_submitted = factory.SelfAttribute("url_normalised")
    created_by = factory.SubFactory(UserFactory)

    class Params:
        approved = factory.Trait(
            status=ItemStatus.APPROVED,
            reviewed_by=factory.SubFactory(UserFactory),
            reviewed_at=factory.LazyFunction(timezone.now),
        )
        rejected = factory.Trait(
            status=ItemStatus.REJECTED,
            reviewed_by=factory.SubFactory(UserFactory),
            reviewed_at=factory.LazyFunction(timezone.now),
            review_note="Not terrorist content.",
        )


class ItemReferralFactory(DjangoModelFactory):
    class Meta:
        model = ItemReferral

    item = factory.SubFactory(ItemFactory)
    referred_by = factory.SelfAttribute("item.created_by")
    url_submitted = factory.SelfAttribute("item.url_submitted")


class HoldFactory(DjangoModelFactory):
    class Meta:
        model = Hold

    item = factory.SubFactory(ItemFactory, approved=True)
    reason = "Counter-terrorism police are monitoring the account."
    requesting_agency = "CTP North"
    review_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=30))
    placed_by = factory.SubFactory(UserFactory)


_CAPTURE = b"WARC/1.1\r\nWARC-Type: response\r\n\r\n"


class EvidenceFactory(DjangoModelFactory):
    # Only the file's name is stored: the tests do not need bytes on disk.
    class Meta:
        model = Evidence

    item = factory.SubFactory(ItemFactory)
    kind = Evidence.Kind.WARC
    file = factory.Sequence(lambda n: f"evidence/2026/01/capture-{n}.warc")
    sha256 = hashlib.sha256(_CAPTURE).hexdigest()
    size_bytes = len(_CAPTURE)
    captured_at = factory.LazyFunction(timezone.now)
    captured_by = factory.SubFactory(UserFactory)


class ReferenceCounterFactory(DjangoModelFactory):
    class Meta:
        model = ReferenceCounter
        django_get_or_create = ("year",)

    year = factory.LazyFunction(lambda: timezone.localdate().year)


def _deadline(o: factory.builder.Resolver) -> object:
    if o.request_type == RequestType.REMOVAL_ORDER:
        return o.sent_at + timedelta(hours=settings.REMOVAL_ORDER_DEADLINE_HOURS)
    return o.sent_at + timedelta(days=o.platform.response_target_days)


class RemovalRequestFactory(DjangoModelFactory):
    """A draft referral. Traits: ``removal_order``, and ``sent`` for one out with the operator.

    The reference comes from the same counter the services use, so factories
    and services never hand out the same one.
    """

    class Meta:
        model = RemovalRequest
        skip_postgeneration_save = True

    reference = factory.LazyFunction(lambda: request_reference_next(year=timezone.localdate().year))
    platform = factory.SubFactory(PlatformFactory)
    request_type = RequestType.REFERRAL
    legal_basis = LegalBasis.TERMS_OF_SERVICE
    composed_by = factory.SubFactory(UserFactory)

    class Params:
        removal_order = factory.Trait(
            request_type=RequestType.REMOVAL_ORDER, legal_basis=LegalBasis.TCO_REGULATION
        )
        # Sent by a second supervisor, with the clock started (request_sent_has_clock).
        sent = factory.Trait(
            state=RequestState.SENT,
            approved_by=factory.SubFactory(UserFactory),
            sent_at=factory.LazyFunction(timezone.now),
            approved_at=factory.SelfAttribute("sent_at"),
            deadline=factory.LazyAttribute(_deadline),
            original_deadline=factory.SelfAttribute("deadline"),
            next_followup_at=factory.SelfAttribute("deadline"),
        )

    @factory.post_generation
    def contacts(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.contacts.set(extracted)


class SentRequestFactory(RemovalRequestFactory):
    """A referral already sent, its deadline running."""

    sent = True


class RequestItemFactory(DjangoModelFactory):
    """A pending line of a sent request, for an approved item of the request's platform."""

    class Meta:
        model = RequestItem

    request = factory.SubFactory(SentRequestFactory)
    item = factory.SubFactory(
        ItemFactory, approved=True, platform=factory.SelfAttribute("..request.platform")
    )


class OutcomeRecordFactory(DjangoModelFactory):
    class Meta:
        model = OutcomeRecord

    line = factory.SubFactory(RequestItemFactory)
    outcome = Outcome.REMOVED
    source = OutcomeSource.OPERATOR_PORTAL
    recorded_at = factory.LazyFunction(timezone.now)


class CorrespondenceFactory(DjangoModelFactory):
    """An email received from the operator about a sent request."""

    class Meta:
        model = Correspondence

    request = factory.SubFactory(SentRequestFactory)
    direction = CorrespondenceDirection.INBOUND
    channel = CorrespondenceChannel.EMAIL
    from_address = "abuse@example.net"
    to_addresses = factory.LazyFunction(lambda: ["referrals@iru.example"])
    subject = factory.LazyAttribute(lambda o: f"Re: {o.request.reference}")
    body_text = "Done, all removed."
    message_id = factory.Sequence(lambda n: f"<reply-{n}@example.net>")


# --- notifications and portal -------------------------------------------------------


class OutboundEmailFactory(DjangoModelFactory):
    """A ledger row for one request email to one recipient, not yet sent."""

    class Meta:
        model = OutboundEmail

    correspondence = factory.SubFactory(
        CorrespondenceFactory, direction=CorrespondenceDirection.OUTBOUND, body_text="Request"
    )
    request = factory.SelfAttribute("correspondence.request")
    contact = factory.LazyAttribute(lambda o: o.request.contacts.first())
    to_address = factory.Sequence(lambda n: f"abuse{n}@example.net")
    message_id = factory.SelfAttribute("correspondence.message_id")
    subject = factory.SelfAttribute("correspondence.subject")


class InboundMailFactory(DjangoModelFactory):
    """What ingest learnt about an inbound email (matched by its reply address)."""

    class Meta:
        model = InboundMail

    correspondence = factory.SubFactory(CorrespondenceFactory)
    received_via = "smtp"
    matched_by = "reply_token"
    sender_is_contact = True
    reply_text = factory.SelfAttribute("correspondence.body_text")


class InboundAttachmentFactory(DjangoModelFactory):
    class Meta:
        model = InboundAttachment

    correspondence = factory.SubFactory(CorrespondenceFactory)
    filename = "screenshot.png"
    content_type = "image/png"
    content = b"\x89PNG\r\n\x1a\n"
    size = factory.LazyAttribute(lambda o: len(o.content))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())


class PortalLinkFactory(DjangoModelFactory):
    """A portal link; the token itself is never stored, so tests that open the page issue
    links with ``portal.services.portal_link_issue`` instead."""

    class Meta:
        model = PortalLink

    request = factory.SubFactory(SentRequestFactory)
    contact = factory.SubFactory(
        ContactFactory, platform=factory.SelfAttribute("..request.platform")
    )
    token_hash = factory.Sequence(lambda n: hashlib.sha256(f"token-{n}".encode()).hexdigest())
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(days=30))


# --- verification -------------------------------------------------------------------

from verification.models import UrlCheck  # noqa: E402  (appended section; see module doc)


class UrlCheckFactory(DjangoModelFactory):
    """A check that found the item's URL gone (404). Does not touch Item.verification:
    use verification.services.url_check_record for that."""

    class Meta:
        model = UrlCheck

    item = factory.SubFactory(ItemFactory, approved=True)
    checked_at = factory.LazyFunction(timezone.now)
    classification = "gone"
    reason = "404"
    http_status = 404
    url = factory.SelfAttribute("item.url_normalised")
    final_url = factory.SelfAttribute("url")
    content_sha256 = hashlib.sha256(b"<title>Gone</title>").hexdigest()
    content_length = len(b"<title>Gone</title>")


# --- follow-up ladder, alerts, weekly compose schedule (decision 0009) -----------------


class LadderPolicyFactory(DjangoModelFactory):
    """A per-platform referral ladder: reminders at 2 and 3 days, escalation at 4, deadline 6."""

    class Meta:
        model = "cases.LadderPolicy"

    request_type = RequestType.REFERRAL
    platform = factory.SubFactory(PlatformFactory)
    first_reminder_after = timedelta(days=2)
    second_reminder_after = timedelta(days=1)
    escalate_after = timedelta(days=2)
    deadline_after = timedelta(days=4)


class AlertFactory(DjangoModelFactory):
    class Meta:
        model = "core.Alert"

    permission = "cases.approve_request"
    title = factory.Sequence(lambda n: f"Alert {n}")
    message = "Something needs a supervisor."


class ComposeScheduleFactory(DjangoModelFactory):
    class Meta:
        model = "followups.ComposeSchedule"
        django_get_or_create = ("id",)

    id = 1


# --- metrics -----------------------------------------------------------------


class MetricSnapshotFactory(DjangoModelFactory):
    """A finished, non-current compliance snapshot (the refresh makes one current)."""

    class Meta:
        model = "metrics.MetricSnapshot"

    computed_at = factory.LazyFunction(timezone.now)
    finished_at = factory.SelfAttribute("computed_at")
    trigger = "command"


class MetricSnapshotRowFactory(DjangoModelFactory):
    """One platform's figures for one ISO week of a snapshot."""

    class Meta:
        model = "metrics.MetricSnapshotRow"

    snapshot = factory.SubFactory(MetricSnapshotFactory)
    scope = "platform_week"
    platform = factory.SubFactory(PlatformFactory)
    platform_name = factory.SelfAttribute("platform.name")
    week = factory.LazyFunction(
        lambda: timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    )
    period_start = factory.SelfAttribute("week")
    period_end = factory.LazyAttribute(lambda o: o.week + timedelta(days=7))
