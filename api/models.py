"""API tokens: one per script or tool, owned by a staff user, stored only as a hash."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A bearer token for the REST API. The secret is shown once, at issue; only its
    SHA-256 is kept (decision 0031). The token acts as its user: same roles, same four-eyes.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'crawler'.")
    # The first characters of the secret, kept so a person can tell their tokens apart.
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotentCall(models.Model):
    """The answer to a call made with an ``Idempotency-Key`` header: a retry with the same
    key and body gets this answer again instead of acting twice (api.idempotency)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    # What the key was first used for: the same key on another call or body is refused.
    endpoint = models.CharField(max_length=200)
    request_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # null: in progress
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="api_idempotent_call_unique")
        ]
        indexes = [models.Index(fields=["created_at"], name="api_idempotent_created_idx")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"
