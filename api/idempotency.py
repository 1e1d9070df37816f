"""``Idempotency-Key``: a retried POST returns the first answer instead of acting twice.

The key's row is inserted first, in the same transaction as the work: a second call with
the same key waits on the unique index until the first commits, then finds its answer.
If the first call fails, its transaction (the row with it) is rolled back, so a retry
runs again. The same key with another endpoint or body is a 409, never a silent replay
of something else. A key is remembered for IDEMPOTENCY_KEY_DAYS, then forgotten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import Conflict
from api.models import IdempotentCall

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 200


def _key(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable() or not key.isascii():
        raise serializers.ValidationError(
            {HEADER: [f"Use 1 to {KEY_MAX_LENGTH} printable ASCII characters."]}
        )
    return key


def _fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()


def _replay(call: IdempotentCall, endpoint: str, fingerprint: str) -> Response:
    if call.endpoint != endpoint or call.request_sha256 != fingerprint:
        raise Conflict(
            f"This {HEADER} was already used for a different call; use a new key for new work."
        )
    response = Response(call.response, status=call.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


# Keys past their window are forgotten by the keyed calls themselves, a bounded batch at a
# time (on the created_at index), so no periodic job has to reach up into the API.
FORGET_BATCH = 500


def _forget_before(window_start: Any) -> None:
    expired = IdempotentCall.objects.filter(created_at__lt=window_start).order_by("created_at")
    IdempotentCall.objects.filter(pk__in=expired.values("pk")[:FORGET_BATCH]).delete()


def run_once(
    request: Request, *, endpoint: str, payload: Any, act: Callable[[], Response]
) -> Response:
    """``act()`` once per (user, key); without the header, simply ``act()``."""
    key = _key(request)
    if key is None:
        return act()
    user: Any = request.user  # authenticated: the view's permission class saw to it
    fingerprint = _fingerprint(payload)
    window_start = timezone.now() - timedelta(days=settings.IDEMPOTENCY_KEY_DAYS)
    _forget_before(window_start)
    with transaction.atomic():
        try:
            with transaction.atomic():
                call = IdempotentCall.objects.create(
                    user=user,
                    key=key,
                    endpoint=endpoint,
                    request_sha256=fingerprint,
                    created_at=timezone.now(),
                )
        except IntegrityError:
            # The first call with this key has committed (the insert waited for it).
            existing = IdempotentCall.objects.get(user=user, key=key)
            return _replay(existing, endpoint, fingerprint)
        response = act()
        if response.status_code >= 400:
            # A refusal is not "done": the key goes with the rollback, a corrected retry runs.
            transaction.set_rollback(True)
            return response
        call.status_code = response.status_code
        call.response = response.data
        call.save(update_fields=["status_code", "response"])
        return response
