"""/api/v1/ (the resources and actions), /api/schema/ (OpenAPI 3) and /api/docs/."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from api.views import (
    ActorViewSet,
    CaseViewSet,
    CheckViewSet,
    ContactViewSet,
    CorrespondenceViewSet,
    ItemViewSet,
    MetricsViewSet,
    OutcomeViewSet,
    PlatformViewSet,
    RequestViewSet,
    not_found,
)

app_name = "api"

# Path converters, not regexes (ids are <int:pk>); no format suffixes: the API is JSON only.
router = SimpleRouter(trailing_slash=True, use_regex_path=False)
router.register("platforms", PlatformViewSet, basename="platform")
router.register("contacts", ContactViewSet, basename="contact")
router.register("actors", ActorViewSet, basename="actor")
router.register("cases", CaseViewSet, basename="case")
router.register("items", ItemViewSet, basename="item")
router.register("requests", RequestViewSet, basename="request")
router.register("outcomes", OutcomeViewSet, basename="outcome")
router.register("correspondence", CorrespondenceViewSet, basename="correspondence")
router.register("checks", CheckViewSet, basename="check")
router.register("metrics", MetricsViewSet, basename="metrics")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/docs.html"),
        name="docs",
    ),
    # Anything else under /api/ answers in the API's error shape, not an HTML page.
    re_path(r"^[\s\S]*$", not_found, name="not_found"),  # [\s\S]: a newline in the path too
]
