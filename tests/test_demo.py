"""`manage.py load_demo`: a realistic referral unit, loaded through the services.

Loading takes a few seconds, so the module loads the demo once (committed) and deletes it
again at the end; tests that change anything run in pytest-django's transaction, which is
rolled back after each of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import authenticate as django_authenticate
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, F
from django.test import RequestFactory
from django.utils import timezone

from cases.models import (
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    Hold,
    Item,
    ItemReferral,
    ItemStatus,
    LadderPolicy,
    Outcome,
    OutcomeRecord,
    OutcomeSource,
    RemovalRequest,
    RequestItem,
    RequestState,
    RequestType,
)
from core.models import AuditEvent
from core.roles import Role
from demo import dataset as data
from demo.reset import demo_counts, demo_delete
from demo.timeline import Timeline
from metrics.models import MetricSnapshot
from platforms.models import Contact, OperatorCanAct, Platform, PlatformStatus, UpstreamRole
from platforms.services import platform_create

PASSWORD = "takedown-demo"
DESIGN_SYSTEMS = {
    "Facebook", "X", "YouTube", "Ask.fm", "Telegram", "justpaste.it", "Gab", "5elafabook",
    "Iron Dawn RocketChat server", "Iron Dawn ZeroNet site",
}  # fmt: skip


def load_demo(*args: str) -> str:
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo_output(django_db_setup: None, django_db_blocker: object) -> Iterator[str]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        ladders = list(LadderPolicy.objects.all())
        output = load_demo()
    yield output
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        demo_delete()
        # The demo commits unit-wide settings and figures too (its stricter ladder, a
        # metrics snapshot): put them back as they were for the modules that follow.
        LadderPolicy.objects.all().delete()
        LadderPolicy.objects.bulk_create(ladders)
        MetricSnapshot.objects.all().delete()


@pytest.fixture
def demo(demo_output: str, db: None) -> str:
    return demo_output


def test_it_loads_and_prints_a_summary_with_the_logins(demo: str) -> None:
    assert "Demo data loaded" in demo
    assert "cases.Item" in demo
    for username, role in data.USERS:
        assert f"{username:<6} {role.value}" in demo
    assert PASSWORD in demo


def test_it_loads_the_platforms_of_the_design(demo: str) -> None:
    names = set(Platform.objects.values_list("name", flat=True))
    assert names >= DESIGN_SYSTEMS
    assert len(names) >= 10
    assert Platform.objects.filter(kind="infrastructure").count() >= 4


def test_it_gives_each_hard_case_its_way_out(demo: str) -> None:
    rocketchat = Platform.objects.get(name=data.ROCKETCHAT)
    assert rocketchat.operator_can_act == OperatorCanAct.NO
    assert rocketchat.upstream_links.filter(role=UpstreamRole.HOSTING).exists()
    zeronet = Platform.objects.get(name=data.ZERONET)
    assert not zeronet.contacts.exists()
    assert zeronet.upstream_links.get().role == UpstreamRole.GATEWAY
    clone = Platform.objects.get(name=data.FIVELAFA)
    assert clone.status == PlatformStatus.DEFUNCT
    assert clone.upstream_links.filter(role=UpstreamRole.REGISTRAR).exists()


def test_it_has_contacts_in_several_languages(demo: str) -> None:
    languages = {
        contact.effective_language
        for platform in Platform.objects.prefetch_related("contacts")
        for contact in platform.contacts.all()
    }
    assert {"en", "pl", "de", "fr", "ar", "tr", "ru"} <= languages
    # Invented addresses only: nothing the demo sends can reach a real mailbox.
    for contact in Contact.objects.all():
        host = contact.email.rpartition("@")[2] or urlsplit(contact.web_form_url).hostname
        assert host and host.endswith(".example"), contact


def test_it_loads_about_two_hundred_items_in_every_status(demo: str) -> None:
    assert 180 <= Item.objects.count() <= 230
    assert set(Item.objects.values_list("status", flat=True)) == set(ItemStatus.values)
    assert Item.objects.filter(threat_to_life=True).count() >= 3
    assert not Item.objects.filter(status=ItemStatus.REJECTED, review_note="").exists()
    assert not Item.objects.filter(platform__isnull=True).exists()


def test_it_puts_items_on_hold_for_another_agency(demo: str) -> None:
    holds = Hold.objects.filter(released_at__isnull=True)
    assert holds.count() >= 3
    assert not holds.filter(requesting_agency="").exists()
    assert not holds.filter(review_on__lt=timezone.localdate()).exists()
    held = Item.objects.filter(pk__in=holds.values("item"))
    assert not RequestItem.objects.filter(item__in=held).exists()


def test_it_refers_some_urls_twice_but_keeps_one_item(demo: str) -> None:
    twice = Item.objects.annotate(n=Count("referrals")).filter(n__gt=1)
    assert twice.count() == len(data.DUPLICATE_REFERRALS)
    assert ItemReferral.objects.count() == Item.objects.count() + twice.count()


def test_it_has_requests_in_every_state_and_of_both_types(demo: str) -> None:
    assert set(RemovalRequest.objects.values_list("state", flat=True)) == set(RequestState.values)
    assert set(RemovalRequest.objects.values_list("request_type", flat=True)) == set(
        RequestType.values
    )


def test_it_has_every_outcome_from_every_source(demo: str) -> None:
    assert set(RequestItem.objects.values_list("outcome", flat=True)) == set(Outcome.values)
    assert set(OutcomeRecord.objects.values_list("source", flat=True)) == set(OutcomeSource.values)


def test_it_sends_a_first_removal_order_only_after_notice_or_as_an_emergency(demo: str) -> None:
    ordered = Platform.objects.filter(requests__request_type=RequestType.REMOVAL_ORDER)
    for platform in ordered.distinct():
        first = platform.requests.filter(request_type=RequestType.REMOVAL_ORDER).earliest("sent_at")
        notice = platform.tco_advance_notice_at
        assert first.is_emergency or (notice and notice <= first.sent_at - timedelta(hours=12))


def test_it_pauses_the_clock_for_clarifications(demo: str) -> None:
    paused = RemovalRequest.objects.filter(total_pause__gt=timedelta(0))
    assert paused.count() >= 2
    for request in paused:
        assert request.deadline == request.original_deadline + request.total_pause


def test_it_spreads_the_requests_over_the_last_twelve_weeks(demo: str) -> None:
    timeline = Timeline()
    sent = RemovalRequest.objects.filter(sent_at__isnull=False)
    first_monday = timeline.at(-12, 0, 0)
    assert not sent.filter(sent_at__lt=first_monday).exists()
    weeks = {request.sent_at.astimezone(timeline.tz).isocalendar()[:2] for request in sent}
    assert len(weeks) >= 12


def test_it_puts_nothing_in_the_future(demo: str) -> None:
    now = timezone.now()
    assert not AuditEvent.objects.filter(created_at__gt=now).exists()
    assert not Item.objects.filter(created_at__gt=now).exists()
    assert not Item.objects.filter(reviewed_at__gt=now).exists()
    assert not RemovalRequest.objects.filter(updated_at__gt=now).exists()
    assert not OutcomeRecord.objects.filter(recorded_at__gt=now).exists()
    assert not Correspondence.objects.filter(created_at__gt=now).exists()


def test_it_dates_the_audit_trail_when_things_happened(demo: str) -> None:
    for request in RemovalRequest.objects.filter(sent_at__isnull=False):
        sent = AuditEvent.objects.get(
            target_type="cases.removalrequest",
            target_id=str(request.pk),
            action="request.state_changed",
            new__state=RequestState.SENT,
        )
        assert sent.created_at == request.sent_at
    for item in Item.objects.all()[:20]:
        referred = AuditEvent.objects.get(
            target_type="cases.item", target_id=str(item.pk), action="item.referred"
        )
        assert referred.created_at == item.created_at


def test_it_keeps_four_eyes(demo: str) -> None:
    supervisors = set(
        get_user_model().objects.filter(groups__name=Role.SUPERVISOR).values_list("pk", flat=True)
    )
    reviewed = Item.objects.exclude(status=ItemStatus.PENDING_APPROVAL)
    assert not reviewed.filter(reviewed_by=F("created_by")).exists()
    assert set(reviewed.values_list("reviewed_by", flat=True)) <= supervisors
    approved = RemovalRequest.objects.filter(approved_by__isnull=False)
    assert not approved.filter(approved_by=F("composed_by")).exists()
    assert set(approved.values_list("approved_by", flat=True)) <= supervisors
    # Hand-composed requests exist, so the rule is really exercised between supervisors.
    assert approved.filter(composed_by__in=supervisors).exists()


def test_it_writes_the_correspondence_of_each_sent_request(demo: str) -> None:
    for request in RemovalRequest.objects.filter(sent_at__isnull=False):
        assert request.correspondence.filter(
            direction=CorrespondenceDirection.OUTBOUND, created_at=request.sent_at
        ).exists()
    inbound_email = Correspondence.objects.filter(
        direction=CorrespondenceDirection.INBOUND, channel=CorrespondenceChannel.EMAIL
    )
    assert inbound_email.exists()
    for reply in inbound_email:
        assert reply.raw
        # A reply either answers a message the request sent, or names it in the subject.
        if reply.in_reply_to:
            assert reply.request.correspondence.filter(message_id=reply.in_reply_to).exists()
        else:
            assert reply.request.reference in reply.subject
    assert Correspondence.objects.filter(channel=CorrespondenceChannel.PORTAL).exists()
    assert Correspondence.objects.filter(channel=CorrespondenceChannel.NOTE).exists()


def authenticate(*, username: str, password: str) -> object:
    # django-axes throttles sign-in by username and needs the request to do so.
    request = RequestFactory().post("/accounts/login/")
    return django_authenticate(request, username=username, password=password)


def test_it_makes_staff_who_can_log_in_with_their_role(demo: str) -> None:
    for username, role in data.USERS:
        user = authenticate(username=username, password=PASSWORD)
        assert user is not None, username
        assert set(user.groups.values_list("name", flat=True)) == {role.value}
        assert user.is_superuser == (role == Role.ADMIN)
        assert user.is_staff == (role == Role.ADMIN)


def test_it_changes_nothing_when_run_twice(demo: str) -> None:
    before = demo_counts()

    output = load_demo()

    assert "Demo data already loaded; nothing changed." in output
    assert demo_counts() == before


def test_it_reloads_the_same_demo_with_reset(demo: str) -> None:
    before = demo_counts()
    references = set(RemovalRequest.objects.values_list("reference", flat=True))
    urls = set(Item.objects.values_list("url_normalised", flat=True))
    old_ids = set(Platform.objects.values_list("pk", flat=True))
    mine = platform_create(
        actor=None, domains=["unit-own.example.org"], name="Not the demo", kind="forum"
    )

    output = load_demo("--reset")

    assert "Demo data loaded" in output
    assert Platform.objects.filter(pk=mine.pk).exists()
    assert not Platform.objects.filter(pk__in=old_ids).exists()
    after = demo_counts()
    assert after.pop("platforms.Platform") == before.pop("platforms.Platform") + 1
    assert after.pop("platforms.PlatformDomain") == before.pop("platforms.PlatformDomain") + 1
    # Kept: the creation of "Not the demo", and the snapshot recomputed before the reload
    # (a unit-wide event; the reload records its own).
    assert after.pop("core.AuditEvent") == before.pop("core.AuditEvent") + 2
    assert after == before
    assert set(RemovalRequest.objects.values_list("reference", flat=True)) == references
    assert set(Item.objects.values_list("url_normalised", flat=True)) == urls


def test_it_uses_the_password_given(demo: str) -> None:
    load_demo("--reset", "--password", "another-demo-secret")

    assert authenticate(username="carol", password="another-demo-secret") is not None
    assert authenticate(username="carol", password=PASSWORD) is None


def test_it_refuses_a_weak_password_and_changes_nothing(demo: str) -> None:
    before = demo_counts()

    with pytest.raises(CommandError, match="Password refused"):
        load_demo("--reset", "--password", "123")

    assert demo_counts() == before


def test_it_refuses_reset_under_production_settings(settings) -> None:
    settings.DEBUG = False
    settings.DEMO_DATA_ALLOWED = False

    with pytest.raises(CommandError, match="refused under these settings"):
        load_demo("--reset")
