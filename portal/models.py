"""Capability links to the operator portal: one per contact per request, only the hash stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from cases.models import RemovalRequest
from core.choices import CachedChoiceLabels
from platforms.models import Contact


class PortalLink(CachedChoiceLabels, models.Model):
    """The operator's way in. The token itself is shown once (in the email) and never stored."""

    request = models.ForeignKey(
        RemovalRequest, on_delete=models.CASCADE, related_name="portal_links"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="portal_links")
    # SHA-256 hex of the token: a database leak does not hand out working links.
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set on a submission (POST) only: a mail scanner opening the link changes nothing.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "contact_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "contact"], name="portal_link_one_per_contact"
            ),
            models.CheckConstraint(
                condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"),  # noqa: S106 - a hash
                name="portal_link_hash_hex",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_by__isnull=False),
                name="portal_link_revoker_named",
            ),
        ]

    def __str__(self) -> str:
        return f"Portal link for {self.contact} on {self.request_id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
