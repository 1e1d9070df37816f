"""The staff service: UI, admin, API, plus the operator portal at r/ so one server runs the demo.

In production the portal also runs as its own service (config/urls_portal.py).
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from core.views import healthz

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("platforms/", include("platforms.urls")),
    path("items/", include("cases.urls.items")),
    path("cases/", include("cases.urls.cases")),
    path("requests/", include("cases.urls.requests")),
    path("mail/", include("notifications.urls")),
    path("follow-ups/", include("followups.urls")),
    path("verification/", include("verification.urls")),
    path("metrics/", include("metrics.urls")),
    path("system/", include("scheduling.urls")),
    path("r/", include("portal.urls")),
    path("", include("cases.urls.dashboard")),
]
