"""Writing the audit trail. Every service that changes investigation state calls this."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction

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
        # The username too: the trail reads the same in a CSV export or a raw query.
        actor_label=actor_label or (user.get_username() if user else "system"),
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


@contextmanager
def audit_events_rewritable() -> Iterator[None]:
    """Demo data only: lift the append-only trigger on core_auditevent for one transaction.

    load_demo backdates the events it writes and its --reset deletes them; nothing else
    may. ALTER TABLE is transactional in PostgreSQL, so the trigger is back on when the
    block ends, however it ends. Refused under production settings.
    """
    if settings.SETTINGS_MODULE.endswith(".production"):
        raise RuntimeError("Audit events are never rewritten in production.")
    # ALTER TABLE refuses while deferred foreign-key checks on the table are pending:
    # run them now, then give Django's deferred constraints back.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER tkd_append_only")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        yield
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER tkd_append_only")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
