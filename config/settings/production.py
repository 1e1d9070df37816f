"""Production: every secret and service comes from the environment, no fallbacks."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import ALLOWED_HOSTS, DATABASES, SECRET_KEY, env

_WEAK_KEY_MARKERS = ("insecure", "demo", "change-me", "changeme", "not-for-production")
if len(SECRET_KEY) < 50 or any(marker in SECRET_KEY.lower() for marker in _WEAK_KEY_MARKERS):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production "
        "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )
if "default" not in DATABASES:
    raise ImproperlyConfigured("DATABASE_URL must be set in production.")
if not env.str("CELERY_BROKER_URL", default=env.str("REDIS_URL", default="")):
    raise ImproperlyConfigured("CELERY_BROKER_URL (or REDIS_URL) must be set in production.")
if not env.str("EMAIL_URL", default=""):
    raise ImproperlyConfigured("EMAIL_URL must be set in production (smtp://host:port).")

DEBUG = False
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The compose health check is plain HTTP from inside the container: no redirect to https.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# ... and its Host is the loopback address. A forged Host of 127.0.0.1 from outside builds
# no link anywhere useful, so accepting it costs nothing.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, *env.list("HEALTHCHECK_HOSTS", default=["127.0.0.1"])]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# __Host- cookies: the browser refuses them unless Secure, Path=/ and without Domain, so a
# sibling subdomain cannot plant or overwrite the session or CSRF cookie.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_PATH = "/"
CSRF_COOKIE_PATH = "/"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
# Every staff user signs in with a TOTP code as well as a password; no variable turns it off.
STAFF_REQUIRE_2FA = True
