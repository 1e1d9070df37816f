"""The staff service: UI, admin, API, plus the operator portal at r/ so one server runs the demo.

In production the portal also runs as its own service (config/urls_portal.py).
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api.staff_views import api_token_revoke_view, api_tokens
from core.account_views import (
    PasswordChangeView,
    SignInView,
    two_factor_setup,
    two_factor_verify,
)
from core.audit_search import audit_export, audit_search
from core.views import healthz

urlpatterns = [
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/api-tokens/", api_tokens, name="api_tokens"),
    path("accounts/api-tokens/<int:pk>/revoke/", api_token_revoke_view, name="api_token_revoke"),
    path("accounts/2fa/", two_factor_verify, name="two_factor_verify"),
    path("accounts/2fa/setup/", two_factor_setup, name="two_factor_setup"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("audit/", audit_search, name="audit"),
    path("audit/export.csv", audit_export, name="audit_export"),
    path("healthz", healthz, name="healthz"),
    path("platforms/", include("platforms.urls")),
    path("items/", include("cases.urls.items")),
    path("cases/", include("cases.urls.cases")),
    path("requests/", include("cases.urls.requests")),
    path("mail/", include("notifications.urls")),
    path("follow-ups/", include("followups.urls")),
    path("verification/", include("verification.urls")),
    path("evidence/", include("evidence.urls")),
    path("metrics/", include("metrics.urls")),
    path("system/", include("scheduling.urls")),
    path("r/", include("portal.urls")),
    path("", include("cases.urls.dashboard")),
]
