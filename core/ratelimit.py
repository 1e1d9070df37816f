"""Fixed-window counters in the shared cache (Redis in production), for rate limits.

One path for every limit the desk keeps (bad portal tokens per address, API calls per
token). ``cache.add`` then ``cache.incr`` is atomic on Redis: two processes counting at
once never lose a hit. The counters fail open: when the cache is down, the caller is
told nothing was counted (None) and a warning is logged, because an outage of the cache
must not stop operators answering or the unit's tools reporting (the database still
checks every token and every permission).
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


def window_key(scope: str, ident: str, *, window_seconds: int, now: float | None = None) -> str:
    """The counter's key for ``ident`` in the current window (the ident is hashed: keys
    name no address or token)."""
    window = int(now if now is not None else time.time()) // window_seconds
    digest = hashlib.sha256(ident.encode("utf-8", errors="surrogatepass")).hexdigest()[:32]
    return f"{scope}:{digest}:{window}"


def window_count(scope: str, ident: str, *, window_seconds: int) -> int | None:
    """Hits so far in the current window, or None when the cache is unavailable."""
    try:
        return int(cache.get(window_key(scope, ident, window_seconds=window_seconds), 0))
    except Exception:  # the cache backend's own errors (Redis or database): fail open
        logger.warning("Rate limit %s: the cache is unavailable; not limiting.", scope,
                       exc_info=True)  # fmt: skip
        return None


def window_hit(scope: str, ident: str, *, window_seconds: int) -> int | None:
    """Count one hit; the count after it, or None when the cache is unavailable."""
    key = window_key(scope, ident, window_seconds=window_seconds)
    try:
        # add() is a no-op when the key exists; incr() is atomic on Redis. The key outlives
        # its window a little, so a hit at the window's end is still counted in it.
        cache.add(key, 0, timeout=window_seconds * 2)
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window_seconds * 2)
            return 1
    except Exception:  # fail open, as above
        logger.warning("Rate limit %s: the cache is unavailable; hit not counted.", scope,
                       exc_info=True)  # fmt: skip
        return None
