"""The staff service: UI, admin, API. The operator portal is mounted on its own (later)."""

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
    path("", include("cases.urls.dashboard")),
]
