"""Counting bad portal tokens per client address in the shared cache (fixed windows).

The counter fails open: when the cache (Redis) is down, the portal keeps
serving operators and storing their answers, and a warning is logged. A
guessing attacker gains nothing from it while the database still checks every
token, and an outage must not lock operators out of answering a removal order.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str:
    """The address the bad-token count is keyed on.

    With PORTAL_TRUSTED_PROXY_COUNT = 0 (the default) it is REMOTE_ADDR and
    X-Forwarded-For is never read: it is whatever the client wants it to be, and
    rotating it must not reset the count. With N trusted proxies in front, each of
    them appends the address it saw, so the Nth entry from the right is the one the
    outermost of our proxies saw; everything left of it is the client's own say. A
    header shorter than that (a proxy that did not append) falls back to REMOTE_ADDR.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "unknown")
    count = int(getattr(settings, "PORTAL_TRUSTED_PROXY_COUNT", 0))
    if count <= 0:
        return remote
    header = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    hops = [hop.strip() for hop in header.split(",") if hop.strip()]
    if len(hops) < count:
        return remote
    try:
        # Normalised, so one address is one key however a proxy spells it.
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:  # not an address: our proxy is misconfigured; do not trust it
        return remote


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
