"""Threat-to-life referrals are emailed to supervisors at once (issue 10, point 13c).

Against a real SMTP server on loopback; the worker runs the task eagerly, and on-commit
callbacks run when the test says so (a lost broker message is a callback not run).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.services.intake import items_refer_bulk, paste_lines
from cases.services.items import item_refer
from core.audit import audit_history
from core.models import Alert
from core.roles import Role
from notifications.staff_alerts import alert_emails_job, alert_emails_send
from scheduling.jobs import JOBS, job_run
from tests import test_sending
from tests.factories import UserFactory
from tests.test_sending import Mailer, SinkHandler

pytestmark = pytest.mark.django_db

# The real SMTP sink and the eager worker of the sending tests.
smtp = test_sending.smtp
eager_celery = test_sending.eager_celery
mailer = test_sending.mailer

URGENT_URL = "https://pastebay.example.net/raw/urgent1"


def refer_urgent(officer: Any, url: str = URGENT_URL) -> Any:
    return item_refer(url=url, referred_by=officer, threat_to_life=True).item


def recipients_of(sink: SinkHandler) -> list[str]:
    return sorted(address for message in sink.messages() for address in message["To"].split(","))


@pytest.mark.usefixtures("bob", "charlie", "dave", "platform")
def test_it_emails_every_supervisor_the_moment_a_threat_to_life_item_is_referred(
    alice, mailer: Mailer
) -> None:
    with mailer.capture(execute=True):
        item = refer_urgent(alice)

    # Supervisors (bob, charlie) review threat-to-life items; the officer and analyst do not.
    assert recipients_of(mailer.sink) == ["bob@iru.example", "charlie@iru.example"]
    message = mailer.sink.messages()[0]
    assert message["Subject"] == "[Takedown Desk] Threat to life: 1 URL(s) referred by alice"
    body = message.get_content()
    assert "http://127.0.0.1:8000" + reverse("items:detail", args=[item.pk]) in body
    # The content URL stays in the desk, out of mailboxes.
    assert URGENT_URL not in body
    alert = Alert.objects.get(key=f"item-threat-to-life-{item.pk}")
    assert alert.emailed_at is not None
    assert [event.action for event in audit_history(alert)] == ["alert.emailed"]


def test_it_emails_once_for_a_pasted_intake(alice, bob, platform, mailer: Mailer) -> None:
    lines = paste_lines("https://pastebay.example.net/raw/u1\nhttps://pastebay.example.net/raw/u2")

    with mailer.capture(execute=True):
        items_refer_bulk(lines=lines, referred_by=alice, threat_to_life=True)

    assert recipients_of(mailer.sink) == ["bob@iru.example"]
    assert "2 URL(s)" in mailer.sink.messages()[0]["Subject"]


def test_it_sends_no_email_for_an_ordinary_referral(alice, bob, platform, mailer: Mailer) -> None:
    with mailer.capture(execute=True):
        item_refer(url="https://pastebay.example.net/raw/calm1", referred_by=alice)

    assert mailer.sink.messages() == []
    assert alert_emails_job(now=timezone.now()) == {"emailed": 0}


def test_the_minute_job_sends_what_a_lost_broker_message_missed(
    alice, bob, platform, mailer: Mailer
) -> None:
    with mailer.capture(execute=False):  # the hand-off to the worker never happens
        refer_urgent(alice)
    assert mailer.sink.messages() == []

    assert job_run(name="alert_emails", now=timezone.now()).status == "succeeded"
    assert recipients_of(mailer.sink) == ["bob@iru.example"]

    # Sent once: the next minute finds nothing to send.
    later = timezone.now() + timedelta(minutes=1)
    assert job_run(name="alert_emails", now=later).run.summary == {"emailed": 0}
    assert len(mailer.sink.messages()) == 1


def test_it_retries_when_the_smtp_server_refuses_and_records_why(
    alice, bob, platform, mailer: Mailer
) -> None:
    mailer.sink.data_reply = "451 4.3.0 Try again later"
    with mailer.capture(execute=True):
        item = refer_urgent(alice)

    alert = Alert.objects.get(key=f"item-threat-to-life-{item.pk}")
    assert alert.emailed_at is None
    assert alert.email_attempts == 1
    assert "451" in alert.email_error

    mailer.sink.data_reply = ""
    assert alert_emails_send() == 1
    alert.refresh_from_db()
    assert alert.emailed_at is not None and alert.email_error == ""
    assert recipients_of(mailer.sink) == ["bob@iru.example"]


def test_a_worker_does_not_send_an_email_another_worker_has_taken_on(
    alice, bob, platform, mailer: Mailer
) -> None:
    with mailer.capture(execute=False):
        item = refer_urgent(alice)
    now = timezone.now()
    Alert.objects.filter(key=f"item-threat-to-life-{item.pk}").update(email_claimed_at=now)

    assert alert_emails_send(now=now + timedelta(minutes=1)) == 0
    # A worker that took it on and died is presumed dead after five minutes.
    assert alert_emails_send(now=now + timedelta(minutes=6)) == 1


def test_it_records_that_no_supervisor_has_an_address_and_stops_trying(
    alice, role_groups, platform, mailer: Mailer
) -> None:
    UserFactory(username="nomail", email="", groups=[role_groups[Role.SUPERVISOR]])
    with mailer.capture(execute=True):
        item = refer_urgent(alice)

    alert = Alert.objects.get(key=f"item-threat-to-life-{item.pk}")
    assert alert.emailed_at is None
    assert alert.email_error == "No active user with this role has an email address."
    assert alert_emails_send() == 0
    assert mailer.sink.messages() == []


def test_an_inactive_supervisor_is_not_emailed(alice, bob, charlie, platform, mailer) -> None:
    charlie.is_active = False
    charlie.save(update_fields=["is_active"])

    with mailer.capture(execute=True):
        refer_urgent(alice)

    assert recipients_of(mailer.sink) == ["bob@iru.example"]


def test_the_job_is_on_the_schedule() -> None:
    assert JOBS["alert_emails"].work == "notifications.staff_alerts.alert_emails_job"
