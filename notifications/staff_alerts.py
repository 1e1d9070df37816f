"""Emailing staff alerts (core.Alert with ``email_wanted``): threat-to-life items today.

core raises the alert and sends ``core.alerts.alert_raised``; this module (the mail layer)
listens, and once the transaction commits hands the alert to the worker. The alert row is
the durable record: the minute job ``alert_emails_job`` sends whatever a lost broker message
or a dead worker left unsent, so an alert is emailed at least once, even when Redis was down
at the time. (At least once: a worker that dies after the SMTP server took the message but
before recording it sends it again; for a threat-to-life alert, twice beats never.)

The email names what happened, who referred and how many URLs, and links to the desk; the
content URLs themselves stay in the desk, out of mailboxes.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.alerts import alert_raised
from core.audit import audit_record
from core.models import Alert
from notifications.services import describe_error

logger = logging.getLogger(__name__)

# A worker that took an alert email on and then died is presumed dead after this long.
CLAIM_EXPIRES_AFTER = timedelta(minutes=5)
BATCH = 50


def alert_email_recipients(permission: str) -> list[str]:
    """The addresses of every active user holding ``permission`` (by group, directly, or
    as superuser, as ``core.alerts.alerts_open_for`` shows alerts)."""
    app_label, _, codename = permission.partition(".")
    granted = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions__in=granted)
            | Q(groups__permissions__in=granted)
        )
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
    return list(users)


def _one_line(text: str) -> str:
    # Names reaching a header are refused with CR/LF at the forms (issue 10, point 9);
    # older rows may still hold one, and a header must never break.
    return re.sub(r"\s+", " ", text).strip()


def build_alert_email(alert: Alert, *, to_address: str) -> EmailMessage:
    link = settings.STAFF_BASE_URL.rstrip("/") + (alert.url or "/")
    body = "\n".join(
        [
            alert.title,
            "",
            "Open it in Takedown Desk to review and send it at once:",
            link,
            "",
            "The URLs are listed in the desk, not in this email.",
            f"Raised at {timezone.localtime(alert.created_at):%Y-%m-%d %H:%M %Z}.",
        ]
    )
    return EmailMessage(
        subject=_one_line(f"[Takedown Desk] {alert.title}"),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to_address],
    )


def _claim(now: datetime, alert_ids: list[int] | None) -> list[Alert]:
    """Take up to BATCH due alert emails on, so no other worker sends them meanwhile."""
    due = Q(email_wanted=True, emailed_at__isnull=True) & Q(
        email_attempts__lt=settings.ALERT_EMAIL_MAX_ATTEMPTS
    )
    free = Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - CLAIM_EXPIRES_AFTER)
    queryset = Alert.objects.filter(due & free)
    if alert_ids is not None:
        queryset = queryset.filter(pk__in=alert_ids)
    with transaction.atomic():
        claimed = list(queryset.select_for_update(skip_locked=True).order_by("created_at")[:BATCH])
        Alert.objects.filter(pk__in=[alert.pk for alert in claimed]).update(
            email_claimed_at=now, email_attempts=F("email_attempts") + 1
        )
    return claimed


def _send(alert: Alert, connection: Any, *, now: datetime) -> bool:
    recipients = alert_email_recipients(alert.permission)
    if not recipients:
        # Nobody to tell is a fact to record and show, not a reason to retry every minute.
        Alert.objects.filter(pk=alert.pk).update(
            email_claimed_at=None,
            email_attempts=settings.ALERT_EMAIL_MAX_ATTEMPTS,
            email_error="No active user with this role has an email address.",
        )
        logger.warning("Alert %s: nobody to email (no address on file for the role).", alert.pk)
        return False
    try:
        connection.send_messages(
            [build_alert_email(alert, to_address=address) for address in recipients]
        )
    except Exception as error:  # SMTP down, refused, timed out: the next minute retries
        Alert.objects.filter(pk=alert.pk).update(
            email_claimed_at=None, email_error=describe_error(error)[:2000]
        )
        logger.warning("Alert %s could not be emailed: %s", alert.pk, type(error).__name__)
        return False
    Alert.objects.filter(pk=alert.pk).update(emailed_at=now, email_error="")
    audit_record(
        actor=None,
        actor_label="system",
        action="alert.emailed",
        target=alert,
        extra={"recipients": recipients, "attempt": alert.email_attempts + 1},
    )
    return True


def alert_emails_send(*, now: datetime | None = None, alert_ids: list[int] | None = None) -> int:
    """Email the due alerts (or just ``alert_ids``); returns how many went out."""
    now = now or timezone.now()
    claimed = _claim(now, alert_ids)
    if not claimed:
        return 0
    connection = get_connection()  # one SMTP session for the whole batch
    with connection:
        return sum(_send(alert, connection, now=now) for alert in claimed)


def alert_emails_job(*, now: datetime) -> dict[str, int]:
    """The minute job (scheduling.jobs): what the on-commit hand-off missed."""
    return {"emailed": alert_emails_send(now=now)}


def _enqueue(alert_id: int) -> None:
    from notifications.tasks import send_alert_email

    try:
        send_alert_email.delay(alert_id)
    except Exception:  # the broker is down: the minute job sends it
        logger.warning("Could not enqueue alert email %s; the minute job will send it.", alert_id)


def on_alert_raised(sender: Any, alert: Alert, **kwargs: Any) -> None:
    transaction.on_commit(lambda: _enqueue(alert.pk))


def connect_signals() -> None:
    alert_raised.connect(on_alert_raised, dispatch_uid="notifications.alert_email")
