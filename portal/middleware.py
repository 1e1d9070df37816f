"""Headers for every operator-portal response, whatever produced it (view, 404, CSRF 403, 429)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

PUBLIC_VIEWS = frozenset({"page", "receipt", "set_language"})


def is_portal_request(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(match and match.namespace == "portal" and match.url_name in PUBLIC_VIEWS)


class PortalHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_portal_request(request):
            # The token is in the path: no Referer to the operator's next site, no
            # copy in a shared cache or the browser's back-forward cache, no index.
            response["Referrer-Policy"] = "no-referrer"
            response["Cache-Control"] = "no-store"
            response["X-Robots-Tag"] = "noindex, nofollow"
            # Django would log 4xx responses with their path ("Not Found: /r/<token>/").
            # The portal's 404/429 are expected traffic; the path must not be written.
            response._has_been_logged = True  # type: ignore[attr-defined]
        return response
