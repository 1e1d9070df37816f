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
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who acted when it was not a staff user: "system", "operator via portal", ...
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
        ]

    def __str__(self) -> str:
        return self.title
