"""Raising and dismissing staff alerts (core.models.Alert), and reading the open ones."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone

from core.audit import audit_record
from core.errors import IllegalTransition, PermissionRefused
from core.models import Alert

# Sent after a new alert with ``email=True`` is written (sender: Alert, alert=the row).
# The mail layer (notifications) listens and emails it once the transaction commits;
# core itself knows nothing of email.
alert_raised = Signal()


def alert_raise(
    *,
    permission: str,
    title: str,
    message: str = "",
    url: str = "",
    target: models.Model | None = None,
    key: str = "",
    email: bool = False,
) -> Alert:
    """Open an alert for holders of ``permission``; with ``key``, at most one open at a time.

    With ``email``, every active holder of ``permission`` with an address is also emailed.
    """
    if key:
        existing = Alert.objects.filter(key=key, dismissed_at__isnull=True).first()
        if existing is not None:
            return existing
    fields = _alert_fields(
        permission=permission, title=title, message=message, url=url, target=target, key=key
    )
    fields["email_wanted"] = email
    try:
        with transaction.atomic():
            alert = Alert.objects.create(**fields)
    except IntegrityError:
        # Raised by someone else between our check and our insert: theirs is ours.
        return Alert.objects.get(key=key, dismissed_at__isnull=True)
    if email:
        alert_raised.send(sender=Alert, alert=alert)
    return alert


def alerts_raise_many(alerts: list[dict[str, Any]]) -> None:
    """``alert_raise`` without email for many alerts, in two queries however many: the
    keys already open are read at once and only the others written, in one INSERT (a key
    raised meanwhile by someone else is skipped by the database, as alert_raise would)."""
    keys = [alert["key"] for alert in alerts if alert.get("key")]
    open_keys = set(
        Alert.objects.filter(key__in=keys, dismissed_at__isnull=True).values_list("key", flat=True)
    )
    Alert.objects.bulk_create(
        [
            Alert(**_alert_fields(**alert))
            for alert in alerts
            if not alert.get("key") or alert["key"] not in open_keys
        ],
        ignore_conflicts=True,
    )


def _alert_fields(
    *,
    permission: str,
    title: str,
    message: str = "",
    url: str = "",
    target: models.Model | None = None,
    key: str = "",
) -> dict[str, Any]:
    return {
        "permission": permission,
        "title": title[:300],
        "message": message,
        "url": url,
        "target_type": target._meta.label_lower if target is not None else "",
        "target_id": str(target.pk) if target is not None else "",
        "key": key,
    }


def alerts_open_for(user: Any) -> QuerySet[Alert]:
    """Open alerts addressed to a permission ``user`` holds (one query once perms are cached)."""
    perms = user.get_all_permissions() if user.is_authenticated else set()
    if getattr(user, "is_superuser", False):
        return Alert.objects.filter(dismissed_at__isnull=True)
    return Alert.objects.filter(dismissed_at__isnull=True, permission__in=sorted(perms))


@transaction.atomic
def alert_dismiss(*, alert: Alert, by: Any) -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.dismissed_at is not None:
        raise IllegalTransition("This alert was already dismissed.")
    if not by.has_perm(alert.permission):
        raise PermissionRefused("This alert is not addressed to your role.")
    alert.dismissed_at = timezone.now()
    alert.dismissed_by = by
    alert.save(update_fields=["dismissed_at", "dismissed_by"])
    audit_record(actor=by, action="alert.dismissed", target=alert, extra={"title": alert.title})
    return alert


def alert_close(*, key: str, by: Any = None) -> int:
    """Close the open alert raised under ``key`` because its question was answered (by
    ``by``, or by the system): not a dismissal a role must be entitled to."""
    return Alert.objects.filter(key=key, dismissed_at__isnull=True).update(
        dismissed_at=timezone.now(), dismissed_by=by if getattr(by, "pk", None) else None
    )
