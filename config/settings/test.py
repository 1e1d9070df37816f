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
