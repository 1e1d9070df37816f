"""Counting bad portal tokens per client address in the shared cache (fixed windows,
core.ratelimit).

The counter fails open: when the cache (Redis) is down, the portal keeps
serving operators and storing their answers, and a warning is logged. A
guessing attacker gains nothing from it while the database still checks every
token, and an outage must not lock operators out of answering a removal order.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

from core.ratelimit import window_count, window_hit


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


_SCOPE = "portal:bad-token"


def bad_token_limit_reached(request: HttpRequest) -> bool:
    count = window_count(
        _SCOPE, client_address(request), window_seconds=settings.PORTAL_BAD_TOKEN_WINDOW_SECONDS
    )
    return count is not None and count >= settings.PORTAL_BAD_TOKEN_LIMIT


def bad_token_count(request: HttpRequest) -> None:
    window_hit(
        _SCOPE, client_address(request), window_seconds=settings.PORTAL_BAD_TOKEN_WINDOW_SECONDS
    )
