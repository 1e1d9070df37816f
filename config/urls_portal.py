"""The internet-facing operator portal: only the portal's public pages (and static files).

Nothing of the staff side (UI, admin, API, staff portal actions) is routed here.
Static files are served by WhiteNoise from STATIC_ROOT, without a URL pattern.
"""

from django.urls import include, path

from core.views import healthz
from portal.urls import public_patterns

urlpatterns = [
    path("r/", include((public_patterns, "portal"))),
    # For the container health check; says "ok" and nothing else.
    path("healthz", healthz, name="healthz"),
]
