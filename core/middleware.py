"""Turn a refused domain operation into a clear 4xx page instead of a 500."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from core.errors import DomainError, PermissionRefused


class DomainErrorMiddleware:
    """A safety net: views should catch DomainError where they can re-show a form."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        status = 403 if isinstance(exception, PermissionRefused) else 409
        response = TemplateResponse(
            request, "core/refused.html", {"message": exception.message}, status=status
        )
        return response.render()
