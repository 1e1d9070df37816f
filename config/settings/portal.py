"""The internet-facing portal service: production settings, routed to the portal's URLs only."""

from __future__ import annotations

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "config.urls_portal"

# Only the portal's own static files (see core.middleware.AllowListWhiteNoiseMiddleware):
# not admin/, rest_framework/ or staticfiles.json.
STATIC_ALLOWED_PREFIXES = (
    "css/desk.",
    "vendor/bootstrap/bootstrap.min.",
    "vendor/bootstrap/bootstrap.rtl.min.",
)
MIDDLEWARE = [
    "core.middleware.AllowListWhiteNoiseMiddleware"
    if name == "whitenoise.middleware.WhiteNoiseMiddleware"
    else name
    for name in MIDDLEWARE  # noqa: F405
]
