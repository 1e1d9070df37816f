"""The embedded default: runs on a fresh machine with nothing but Python.

Private PostgreSQL from a wheel, Celery over the filesystem transport, mail to a
local SMTP sink. Each falls back only when its variable is unset, so the same
settings also run against real services (CI sets DATABASE_URL and REDIS_URL).
"""

from __future__ import annotations

from config.embedded import embedded_database_settings, var_dir
from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, DATABASES, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
DEMO_DATA_ALLOWED = env.bool("DEMO_DATA_ALLOWED", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="embedded-demo-key-not-for-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

VAR_DIR = var_dir(BASE_DIR)
if "default" not in DATABASES:
    DATABASES["default"] = embedded_database_settings(VAR_DIR)

# The demo's URLs name real sites: the embedded default does not fetch them from a
# newcomer's machine every five minutes. Set VERIFICATION_ENABLED=true to check for real.
VERIFICATION_ENABLED = env.bool("VERIFICATION_ENABLED", default=False)

MEDIA_ROOT = VAR_DIR / "media"
# Static files straight from the app folders (no collectstatic in development).
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if not env.str("CELERY_BROKER_URL", default=env.str("REDIS_URL", default="")):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {  # type: ignore[no-redef]
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

if not env.str("EMAIL_URL", default=""):
    # The local sink started by `./desk run` (python manage.py mailsink).
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = "127.0.0.1"
    EMAIL_PORT = env.int("DESK_MAILSINK_PORT", default=8025)
    EMAIL_USE_TLS = False
    MAILSINK_DIR = VAR_DIR / "mail"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
