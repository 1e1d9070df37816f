from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One state change that matters to an investigation: who, what, before, after.

    Rows are only ever added. ``target_type``/``target_id`` name the object
    (e.g. ``cases.removalrequest`` / ``42``) without a generic foreign key so
    that an event survives the deletion of its target.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # PROTECT: a user who acted cannot be deleted (deactivate them instead), so the
    # trail keeps naming them; actor_label holds the username as well.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The username of the staff actor, or who acted when it was not a staff user:
    # "system", "operator via portal", ...
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # An object's history page reads its events newest first.
            models.Index(
                fields=["target_type", "target_id", "-created_at"], name="audit_target_idx"
            ),
        ]

    def __str__(self) -> str:
        who = self.actor or self.actor_label or "system"
        when = f"{self.created_at:%Y-%m-%d %H:%M}"
        return f"{when} {who} {self.action} {self.target_type}#{self.target_id}"


class Alert(models.Model):
    """Something staff must look at, shown on the dashboard until someone dismisses it.

    Addressed by permission (e.g. ``cases.approve_request`` for supervisors) rather
    than by user, so whoever holds the role sees it. ``key`` makes raising the same
    alert twice (a retried sweep, a weekly job run again) a no-op while it is open.
    """

    permission = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    message = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    # Also emailed to every active holder of ``permission`` (threat-to-life items). The row
    # is the durable record: the worker sends on commit, the minute job catches what a dead
    # broker or worker missed, so an alert is emailed even when Redis was down at the time.
    email_wanted = models.BooleanField(default=False, db_default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # When a worker took the email on; another worker leaves it alone for a while.
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    email_error = models.TextField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(dismissed_at__isnull=True) & ~models.Q(key=""),
                name="alert_one_open_per_key",
            ),
        ]
        indexes = [
            # The dashboard panel: open alerts, newest first.
            models.Index(
                fields=["-created_at"],
                condition=models.Q(dismissed_at__isnull=True),
                name="alert_open_idx",
            ),
            # The alert email job: wanted, not yet emailed.
            models.Index(
                fields=["created_at"],
                condition=models.Q(email_wanted=True, emailed_at__isnull=True),
                name="alert_email_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class RowChange(models.Model):
    """One inserted, updated or deleted row of a domain table, written by a database trigger.

    The triggers (``tkd_audit_capture_statement``, migration 0006, one per event and
    statement, attached by ``core.audit_triggers``) fire for the ORM,
    ``queryset.update()``, the admin and raw SQL alike and write one row per written
    row, all of a statement's rows in one INSERT. Rows form one SHA-256 hash chain in
    id order across every table (``./desk manage audit_verify``); another trigger
    refuses UPDATE and DELETE.
    ``actor_id`` is deliberately not a foreign key, so it survives the user's deletion.
    See docs/decisions/0014-row-level-audit-trail.md and 0028-statement-level-audit.md.
    """

    class Op(models.TextChoices):
        INSERT = "INSERT"
        UPDATE = "UPDATE"
        DELETE = "DELETE"

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_default=models.Func(function="clock_timestamp"))
    table_name = models.CharField(max_length=100)
    op = models.CharField(max_length=6, choices=Op.choices)
    row_pk = models.TextField()
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.TextField(blank=True)
    context = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # A row's history: every change of one table row, newest first.
            models.Index(fields=["table_name", "row_pk", "-id"], name="rowchange_row_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.op} {self.table_name}#{self.row_pk}"
