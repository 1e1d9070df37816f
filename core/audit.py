"""Writing the audit trail. Every service that changes investigation state calls this."""

from __future__ import annotations

from typing import Any

from django.db import models

from core.models import AuditEvent


def audit_record(
    *,
    actor: Any | None,
    action: str,
    target: models.Model,
    old: Any = None,
    new: Any = None,
    extra: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Store one audit event. ``actor`` is a user or None (then ``actor_label`` says who)."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_label=actor_label or ("" if user else "system"),
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        old=old,
        new=new,
        extra=extra or {},
    )


def audit_history(target: models.Model) -> models.QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        target_type=target._meta.label_lower, target_id=str(target.pk)
    ).select_related("actor")
