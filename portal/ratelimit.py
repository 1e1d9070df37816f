"""Counting bad portal tokens per client address in the shared cache (fixed windows).

The counter fails open: when the cache (Redis) is down, the portal keeps
serving operators and storing their answers, and a warning is logged. A
guessing attacker gains nothing from it while the database still checks every
token, and an outage must not lock operators out of answering a removal order.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: a forwarded-for header is whatever the client wants it to be.
    # Behind a reverse proxy, the proxy must set REMOTE_ADDR (e.g. gunicorn with
    # --forwarded-allow-ips and a proxy-protocol front end).
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _key(request: HttpRequest) -> str:
    window = int(time.time()) // settings.PORTAL_BAD_TOKEN_WINDOW_SECONDS
    address = hashlib.sha256(client_address(request).encode()).hexdigest()[:32]
    return f"portal:bad-token:{address}:{window}"


def bad_token_limit_reached(request: HttpRequest) -> bool:
    try:
        count = cache.get(_key(request), 0)
    except Exception:  # the cache backend's own errors (Redis or database): fail open
        logger.warning("Portal rate limit: the cache is unavailable; not limiting.", exc_info=True)
        return False
    return int(count) >= settings.PORTAL_BAD_TOKEN_LIMIT


def bad_token_count(request: HttpRequest) -> None:
    key = _key(request)
    try:
        # add() is a no-op when the key exists; incr() is atomic on Redis.
        cache.add(key, 0, timeout=settings.PORTAL_BAD_TOKEN_WINDOW_SECONDS * 2)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.PORTAL_BAD_TOKEN_WINDOW_SECONDS * 2)
    except Exception:  # fail open, as above
        logger.warning("Portal rate limit: the cache is unavailable; bad token not counted.",
                       exc_info=True)  # fmt: skip
