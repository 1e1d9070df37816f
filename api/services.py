"""Issuing, revoking and checking API tokens (decision 0031).

A token is ``tkd_`` + 43 random URL-safe characters (256 bits). Only its SHA-256 is
stored, as for portal links (core.tokens); the secret is returned once, by
``api_token_issue``, and never logged, stored or shown again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from api.models import ApiToken
from core.audit import audit_record
from core.errors import DomainError, PermissionRefused
from core.tokens import hash_token

TOKEN_PREFIX = "tkd_"  # noqa: S105 - the public prefix of every token, not a secret
TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 100
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6
# last_used_at is written at most this often per token: not one UPDATE per API call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length or 100


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown to the person once; never stored


def api_token_issue(*, user: Any, name: str, by: Any, valid_days: int | None = None) -> IssuedToken:
    """A new token acting as ``user``. Staff issue their own; only an administrator
    (superuser) issues one for somebody else."""
    if not getattr(by, "is_authenticated", False) and by is not None:
        raise PermissionRefused("Sign in to create an API token.")
    if by is not None and by.pk != user.pk and not by.is_superuser:
        raise PermissionRefused("Only an administrator can create a token for another user.")
    if not user.is_active:
        raise DomainError(f"{user.get_username()} is not an active user.")
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the token a name that says what uses it, e.g. 'crawler'.")
    if len(name) > NAME_MAX_LENGTH or "\x00" in name:
        raise DomainError(f"The name must be at most {NAME_MAX_LENGTH} characters of text.")
    days = settings.API_TOKEN_VALID_DAYS if valid_days is None else valid_days
    if not 1 <= days <= 3650:
        raise DomainError("A token is valid for 1 to 3,650 days.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=secret[:SHOWN_PREFIX_LENGTH],
            token_hash=hash_token(secret),
            created_at=now,
            created_by=by,
            expires_at=now + timedelta(days=days),
        )
        audit_record(
            actor=by,
            actor_label="" if by is not None else "manage.py",
            action="api_token.issued",
            target=token,
            new={"user": user.get_username(), "name": name, "prefix": token.prefix,
                 "expires_at": token.expires_at.isoformat()},
        )  # fmt: skip
    return IssuedToken(token=token, secret=secret)


def api_token_revoke(*, token: ApiToken, by: Any) -> ApiToken:
    """Stop the token working now. Its owner or an administrator may; twice is harmless."""
    if by is not None and by.pk != token.user_id and not by.is_superuser:
        raise PermissionRefused("Only the token's owner or an administrator can revoke it.")
    if token.revoked_at is not None:
        return token
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.revoked_by = by
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            actor=by,
            actor_label="" if by is not None else "manage.py",
            action="api_token.revoked",
            target=token,
            new={"prefix": token.prefix},
        )
    return token


def api_token_for_secret(secret: str) -> ApiToken | None:
    """The live token for ``secret`` (with its user), or None; which check failed is not
    said. Notes the time of use, at most once a minute per token."""
    if not secret or len(secret) > TOKEN_MAX_LENGTH or not secret.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(secret)).first()
    now = timezone.now()
    if (
        token is None
        or token.revoked_at is not None
        or token.expires_at <= now
        or not token.user.is_active
    ):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
