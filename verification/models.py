"""Verification checks: one row per HTTP check of an item's URL (DESIGN §3, Verification).

``cases.Item.verification`` / ``verified_at`` mirror the newest row, so lists,
the dashboard and the metrics read one column; the rows here are the history
an officer looks at ("what did the check see, and when?").
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Item, VerificationStatus
from core.choices import CachedChoiceLabels

REASON_MAX_LENGTH = 200
ERROR_MAX_LENGTH = 2000


class UrlCheck(CachedChoiceLabels, models.Model):
    """What one check of an item's URL saw and what the rules made of it."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="checks")
    checked_at = models.DateTimeField()
    classification = models.CharField(max_length=8, choices=VerificationStatus.choices)
    # Why the rules said so, in words an officer reads: "404", "redirect to front page",
    # "soft 404: same body as probe", "timeout", "DNS failure", "challenge page", ...
    reason = models.CharField(max_length=REASON_MAX_LENGTH)
    # The final response's status after redirects; empty when no response came back.
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    url = models.TextField(help_text=_("The URL checked (the item's normalised URL)."))
    final_url = models.TextField(blank=True)
    # Every URL the redirects went through, after the first.
    redirects = models.JSONField(default=list, blank=True)
    # SHA-256 of the body as read (capped, see VERIFICATION_MAX_BODY_BYTES) and its length.
    content_sha256 = models.CharField(max_length=64, blank=True)
    content_length = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    elapsed_ms = models.PositiveIntegerField(default=0)
    # "sweep" (the periodic job) or "manual" (an officer's "Check now").
    trigger = models.CharField(max_length=8, default="sweep")

    class Meta:
        ordering = ["-checked_at", "-id"]
        permissions = [("request_check", "Can ask for an item's URL to be checked now")]
        indexes = [
            # An item's history page and "latest check per item" (DISTINCT ON item).
            models.Index(fields=["item", "-checked_at", "-id"], name="urlcheck_item_latest_idx"),
            # Throughput and backlog figures on the health page: checks in the last hour.
            models.Index(fields=["checked_at"], name="urlcheck_checked_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(content_sha256="")
                | models.Q(content_sha256__regex=r"^[0-9a-f]{64}$"),
                name="urlcheck_sha256_hex",
            ),
            models.CheckConstraint(
                condition=models.Q(classification__in=VerificationStatus.values),
                name="urlcheck_classification_valid",
            ),
        ]

    def __str__(self) -> str:
        when = f"{self.checked_at:%Y-%m-%d %H:%M}"
        return f"{self.url} → {self.classification} ({self.reason}) at {when}"
