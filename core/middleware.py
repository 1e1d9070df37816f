"""Turn a refused domain operation into a clear 4xx page instead of a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from whitenoise.middleware import WhiteNoiseMiddleware

from core.errors import DomainError, PermissionRefused


def audit_path(request: HttpRequest) -> str:
    """The path for a security event: portal paths (/r/<token>/...) name no token."""
    path = request.path
    return "/r/…" if path.startswith("/r/") else path


def _security_event(request: HttpRequest, action: str, extra: dict[str, Any]) -> None:
    from core.audit import audit_record

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return  # an anonymous visitor is sent to sign in; the portal has no staff actor
    audit_record(actor=user, action=action, target=user, extra=extra)


class DomainErrorMiddleware:
    """A safety net: views should catch DomainError where they can re-show a form.

    Also the one place a staff refusal (PermissionDenied from ``staff_view``,
    PermissionRefused from a service) and a file download pass through, so it writes
    the security events security.permission_denied and security.export_downloaded.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        disposition = response.get("Content-Disposition", "")
        if disposition.startswith("attachment") and not request.path.startswith("/r/"):
            _security_event(
                request,
                "security.export_downloaded",
                {
                    "path": audit_path(request),
                    "query": request.META.get("QUERY_STRING", ""),
                    "file": disposition.partition("filename=")[2].strip('"'),
                },
            )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, PermissionDenied | PermissionRefused):
            _security_event(
                request,
                "security.permission_denied",
                {
                    "path": audit_path(request),
                    "permission": _refused_permission(request, exception),
                },
            )
        if not isinstance(exception, DomainError):
            return None
        status = 403 if isinstance(exception, PermissionRefused) else 409
        response = TemplateResponse(
            request, "core/refused.html", {"message": exception.message}, status=status
        )
        return response.render()


def _refused_permission(request: HttpRequest, exception: Exception) -> str:
    """The permission that was missing: a service names it; a staff view declares its own."""
    named = getattr(exception, "permission", "")
    if named:
        return str(named)
    match = getattr(request, "resolver_match", None)
    wanted = getattr(getattr(match, "func", None), "staff_permissions", ())
    user = getattr(request, "user", None)
    missing = [p for p in wanted if user is None or not user.has_perm(p)]
    return ",".join(missing)


PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), "
    "bluetooth=(), hid=(), midi=(), magnetometer=(), gyroscope=(), accelerometer=(), "
    "display-capture=(), interest-cohort=()"
)


class SecurityHeadersMiddleware:
    """CORP and Permissions-Policy on every response; no-store on everything but static files.

    Outermost, so WhiteNoise's static responses and every error page get the headers too.
    Staff pages carry case data: no copy may stay in a shared or back-forward cache.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if not request.path.startswith(_static_prefix()):
            response["Cache-Control"] = "no-store"
        return response


def _static_prefix() -> str:
    from django.conf import settings

    url = settings.STATIC_URL or "/static/"
    return url if url.startswith("/") else f"/{url}"


class AllowListWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise that serves only STATIC_ALLOWED_PREFIXES (paths under STATIC_URL).

    The portal service shares the staff image's STATIC_ROOT; without this it would publish
    the admin's and DRF's assets and staticfiles.json (the list of every file) to the internet.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from django.conf import settings

        static = settings.STATIC_URL or "/static/"
        static = static if static.startswith("/") else f"/{static}"
        self.allowed_urls = tuple(
            f"{static}{prefix}" for prefix in getattr(settings, "STATIC_ALLOWED_PREFIXES", ())
        )
        super().__init__(*args, **kwargs)

    def _allowed(self, url: str) -> bool:
        return url.startswith(self.allowed_urls)

    def add_file_to_dictionary(self, url: str, path: str, stat_cache: Any = None) -> None:
        if self._allowed(url):
            super().add_file_to_dictionary(url, path, stat_cache=stat_cache)

    def find_file(self, url: str) -> Any:
        return super().find_file(url) if self._allowed(url) else None


def session_clock_start(
    sender: object, request: HttpRequest | None = None, **kwargs: object
) -> None:
    """On sign-in, start the session's clocks (user_logged_in receiver, core/apps.py).

    Starting them here rather than on the first request keeps that request free of a
    session write, so a page costs the same number of queries on every visit.
    """
    import time

    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SessionTimeoutMiddleware.STARTED] = now
        request.session[SessionTimeoutMiddleware.SEEN] = now


class SessionTimeoutMiddleware:
    """End a staff session after SESSION_IDLE_TIMEOUT_SECONDS idle or the absolute timeout.

    The times live in the session itself (signed, server-side in the DB), so no table is needed.
    The last-seen time is rewritten at most once a minute: not a session write per request.
    """

    STARTED = "_desk_session_started"
    SEEN = "_desk_session_seen"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        import time

        from django.conf import settings
        from django.contrib.auth import logout

        if request.user.is_authenticated:
            now = int(time.time())
            started = request.session.get(self.STARTED, now)
            seen = request.session.get(self.SEEN, now)
            idle = getattr(settings, "SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60)
            absolute = getattr(settings, "SESSION_ABSOLUTE_TIMEOUT_SECONDS", 12 * 60 * 60)
            if now - seen > idle or now - started > absolute:
                logout(request)  # flushes the session row: the old cookie is worthless
            else:
                request.session.setdefault(self.STARTED, started)
                if now - seen >= 60 or self.SEEN not in request.session:
                    request.session[self.SEEN] = now
        return self.get_response(request)
