"""Calls per API token per minute, counted atomically in the shared cache (Redis).

Session (browser) use of the API is not limited here: people are limited by the staff
UI's own pace. A cache outage lets calls through (core.ratelimit fails open).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from api.models import ApiToken
from core.ratelimit import window_hit

WINDOW_SECONDS = 60


class TokenRateThrottle(BaseThrottle):
    scope = "api:token"

    def allow_request(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        count = window_hit(self.scope, str(token.pk), window_seconds=WINDOW_SECONDS)
        return count is None or count <= settings.API_RATE_LIMIT_PER_MINUTE

    def wait(self) -> float | None:
        return float(WINDOW_SECONDS)
