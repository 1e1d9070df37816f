"""Test settings: the local defaults, made fast and deterministic."""

from __future__ import annotations

from config.settings.local import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests that need real SMTP point Django at an aiosmtpd sink themselves.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = False
# The verification tests fetch from a local HTTP server on 127.0.0.1 (loopback only;
# private and link-local addresses stay refused). The demo's default is off.
VERIFICATION_ENABLED = True
VERIFICATION_ALLOW_LOOPBACK = True

# The cache gets a Redis database of its own (the broker's number + 8), so tests can
# flush it between tests without dropping queued Celery messages (tests/conftest.py).
if CACHES["default"]["BACKEND"].endswith("RedisCache"):  # noqa: F405
    from urllib.parse import urlsplit, urlunsplit

    _cache_url = urlsplit(CACHES["default"]["LOCATION"])  # noqa: F405
    _broker_db = int(_cache_url.path.strip("/") or 0)
    CACHES["default"]["LOCATION"] = urlunsplit(  # noqa: F405
        _cache_url._replace(path=f"/{(_broker_db + 8) % 16}")
    )
