"""Issue 13 point 3: the verification sweep flags a platform "probably defunct" when none of
its URLs has answered for PLATFORM_DEFUNCT_AFTER_DAYS; a supervisor confirms or dismisses."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import VerificationStatus
from core.errors import IllegalTransition, PermissionRefused
from core.models import Alert, AuditEvent
from platforms.models import Platform, PlatformStatus
from platforms.services import platform_confirm_defunct, platform_dismiss_defunct
from tests.factories import ItemFactory, PlatformFactory
from verification.models import UrlCheck
from verification.network import static_resolver
from verification.services import platforms_defunct_review, verification_sweep_job

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _check(platform: Platform, *, days_ago: float, status: int | None, reason: str) -> UrlCheck:
    item = ItemFactory(platform=platform)
    return UrlCheck.objects.create(
        item=item,
        checked_at=NOW - timedelta(days=days_ago),
        classification=VerificationStatus.LIVE if status == 200 else VerificationStatus.UNKNOWN,
        reason=reason,
        http_status=status,
        url=item.url_normalised,
    )


def _clone_that_lived_a_day(name: str = "IS clone") -> Platform:
    """Answered once four days ago, then its name stopped resolving."""
    platform = PlatformFactory(name=name)
    _check(platform, days_ago=4.5, status=200, reason="200 OK")
    for days in (4, 3, 1, 0.01):
        _check(platform, days_ago=days, status=None, reason="DNS failure")
    return platform


def _review(at: datetime = NOW) -> dict[str, int]:
    return platforms_defunct_review(now=at)


def test_a_platform_silent_for_the_period_is_flagged_with_an_alert_for_supervisors(bob) -> None:
    platform = _clone_that_lived_a_day()

    assert _review() == {"platforms_suspected_defunct": 1, "platforms_answering_again": 0}

    platform.refresh_from_db()
    assert platform.defunct_suspected_at is not None
    assert platform.status == PlatformStatus.ACTIVE  # a supervisor decides
    assert "4 failed checks, the latest" in platform.defunct_suspected_reason
    assert "'DNS failure'" in platform.defunct_suspected_reason
    alert = Alert.objects.get(key=f"platform-defunct-{platform.pk}")
    assert alert.permission == "platforms.confirm_defunct"
    assert "escalate to its upstream providers" in alert.message
    assert alert.url == reverse("platforms:detail", args=[platform.pk])
    assert AuditEvent.objects.filter(action="platform.defunct_suspected").count() == 1
    assert _review()["platforms_suspected_defunct"] == 0  # asked once


@pytest.mark.parametrize(
    ("checks", "why"),
    [
        ([(2, None, "DNS failure"), (1, None, "DNS failure")], "silent for less than 3 days"),
        ([(4, None, "timeout"), (0.01, 200, "200 OK")], "answered since"),
        ([(2.5, None, "DNS failure")], "a single failure, not yet the period ago"),
        (
            [(4, None, "address refused (private address)"), (1, None, "reserved name")],
            "only our own refusals",
        ),
    ],
)
def test_a_platform_is_not_flagged_without_days_of_site_failures(
    checks: list[tuple[float, int | None, str]], why: str
) -> None:
    platform = PlatformFactory()
    for days_ago, status, reason in checks:
        _check(platform, days_ago=days_ago, status=status, reason=reason)

    assert _review()["platforms_suspected_defunct"] == 0, why
    platform.refresh_from_db()
    assert platform.defunct_suspected_at is None


def test_a_flagged_platform_that_answers_again_is_cleared_and_its_alert_closed() -> None:
    platform = _clone_that_lived_a_day()
    _review()
    later = NOW + timedelta(hours=2)
    item = ItemFactory(platform=platform)
    UrlCheck.objects.create(
        item=item,
        checked_at=later,
        classification=VerificationStatus.LIVE,
        reason="200 OK",
        http_status=200,
        url=item.url_normalised,
    )

    assert _review(later)["platforms_answering_again"] == 1

    platform.refresh_from_db()
    assert platform.defunct_suspected_at is None
    assert Alert.objects.get(key=f"platform-defunct-{platform.pk}").dismissed_at is not None


def test_a_supervisor_confirms_and_the_platform_is_defunct(bob) -> None:
    platform = _clone_that_lived_a_day()
    _review()
    client = Client()
    client.force_login(bob)
    url = reverse("platforms:defunct_confirm", args=[platform.pk])

    page = client.get(reverse("platforms:detail", args=[platform.pk])).content.decode()
    assert "Probably defunct" in page and "Confirm: defunct" in page
    assert client.get(url).status_code == 405
    response = client.post(url)

    assert response.status_code == 302
    platform.refresh_from_db()
    assert platform.status == PlatformStatus.DEFUNCT and platform.defunct_suspected_at is None
    event = AuditEvent.objects.get(action="platform.defunct_confirmed")
    assert event.actor == bob and event.new == {"status": "defunct"}
    assert Alert.objects.get(key=f"platform-defunct-{platform.pk}").dismissed_by == bob
    with pytest.raises(IllegalTransition):
        platform_confirm_defunct(platform=platform, by=bob)


def test_a_dismissal_holds_until_failures_after_it_span_the_period_again(bob) -> None:
    platform = _clone_that_lived_a_day()
    _review()
    platform_dismiss_defunct(platform=platform, by=bob)
    platform.refresh_from_db()
    assert platform.defunct_suspected_at is None and platform.defunct_dismissed_at is not None

    assert _review()["platforms_suspected_defunct"] == 0  # the same silence: not asked again
    # Still silent after the dismissal, but for less than the period: not yet.
    _check(platform, days_ago=-1, status=None, reason="connection failed")
    _check(platform, days_ago=-2, status=None, reason="connection failed")
    assert _review(NOW + timedelta(days=2))["platforms_suspected_defunct"] == 0
    # Failures after the dismissal now span the period again: asked again.
    _check(platform, days_ago=-4.1, status=None, reason="connection failed")
    assert _review(NOW + timedelta(days=4.2))["platforms_suspected_defunct"] == 1


def test_officers_and_analysts_cannot_decide(alice, dave) -> None:
    platform = _clone_that_lived_a_day()
    _review()
    for person in (alice, dave):
        with pytest.raises(PermissionRefused):
            platform_dismiss_defunct(platform=platform, by=person)
        client = Client()
        client.force_login(person)
        assert (
            client.post(reverse("platforms:defunct_dismiss", args=[platform.pk])).status_code == 403
        )
        page = client.get(reverse("platforms:detail", args=[platform.pk])).content.decode()
        assert "Probably defunct" in page and "Confirm: defunct" not in page


def test_the_sweep_job_reviews_platforms_after_its_checks(settings) -> None:
    settings.VERIFICATION_ENABLED = True
    platform = _clone_that_lived_a_day()

    summary = verification_sweep_job(now=NOW, resolver=static_resolver({}))

    assert summary["platforms_suspected_defunct"] == 1
    platform.refresh_from_db()
    assert platform.defunct_suspected_at is not None


def test_one_failure_the_period_ago_suffices_as_gone_urls_are_rechecked_weekly() -> None:
    platform = PlatformFactory()
    _check(platform, days_ago=3.2, status=None, reason="DNS failure")
    _check(platform, days_ago=0.5, status=None, reason="reserved name")  # recent, ignored

    assert _review()["platforms_suspected_defunct"] == 1
    platform.refresh_from_db()
    assert "1 failed check, the latest" in platform.defunct_suspected_reason


def test_marking_a_flagged_platform_defunct_by_hand_answers_the_question(bob) -> None:
    from platforms.services import platform_update

    platform = _clone_that_lived_a_day()
    _review()
    platform.refresh_from_db()

    platform_update(platform=platform, actor=bob, status=PlatformStatus.DEFUNCT)

    platform.refresh_from_db()
    assert platform.status == PlatformStatus.DEFUNCT and platform.defunct_suspected_at is None
    assert Alert.objects.get(key=f"platform-defunct-{platform.pk}").dismissed_at is not None
    with pytest.raises(IllegalTransition):
        platform_confirm_defunct(platform=platform, by=bob)
