"""Every try at capturing an item's URL, whether it gave evidence or not.

The evidence itself is ``cases.Evidence`` (what the item page lists); a capture that
failed is recorded here with its reason and is never evidence.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Evidence, Item
from core.choices import CachedChoiceLabels


class CaptureOutcome(models.TextChoices):
    CAPTURED = "captured", _("Captured")
    FAILED = "failed", _("Failed")


class CaptureAttempt(CachedChoiceLabels, models.Model):
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="capture_attempts")
    # Text: intake takes URLs up to 8 KiB, and a redirect may lead anywhere longer.
    url = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=CaptureOutcome.choices)
    # Why it failed, in words an officer can act on ("the server answered 404", "timed out").
    reason = models.TextField(blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    final_url = models.TextField(blank=True)
    evidence = models.OneToOneField(
        Evidence, null=True, blank=True, on_delete=models.PROTECT, related_name="attempt"
    )

    class Meta:
        ordering = ["-finished_at", "-id"]
        indexes = [models.Index(fields=["item", "-finished_at"], name="capture_item_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome=CaptureOutcome.CAPTURED, evidence__isnull=False)
                | models.Q(outcome=CaptureOutcome.FAILED, evidence__isnull=True),
                name="capture_evidence_iff_captured",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} {self.url} at {self.finished_at:%Y-%m-%d %H:%M}"
