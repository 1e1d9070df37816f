"""The internet-facing portal service: production settings, routed to the portal's URLs only."""

from __future__ import annotations

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "config.urls_portal"
