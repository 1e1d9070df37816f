"""One shape for every API error (issue 12, point 4):

    {"error": {"code": "invalid", "message": "…", "fields": {"urls": ["…"]}}}

``code`` is stable and meant for programs, ``message`` for people, ``fields`` (always
present, maybe empty) names the inputs at fault. Domain refusals keep the service's
wording: a 403 for a role, a 409 for a state conflict, a 413 for too much at once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import (
    DomainError,
    DuplicateError,
    FourEyesViolation,
    IllegalTransition,
    PermissionRefused,
)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "Too much in one call."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "That conflicts with the current state."


# (error class, HTTP status, code); the first match wins, so subclasses come first.
DOMAIN_ERRORS: list[tuple[type[DomainError], int, str]] = [
    (PermissionRefused, status.HTTP_403_FORBIDDEN, "permission_denied"),
    (FourEyesViolation, status.HTTP_403_FORBIDDEN, "four_eyes"),
    (IllegalTransition, status.HTTP_409_CONFLICT, "conflict"),
    (DuplicateError, status.HTTP_409_CONFLICT, "duplicate"),
    (DomainError, status.HTTP_400_BAD_REQUEST, "refused"),
]


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested ValidationError detail as {"field": [...], "items.3.url": [...]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list) and any(isinstance(entry, dict | list) for entry in detail):
        flat = {}
        for index, value in enumerate(detail):
            if value:
                flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(message) for message in messages]}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        for error_class, http_status, code in DOMAIN_ERRORS:
            if isinstance(exc, error_class):
                return Response(error_body(code, exc.message), status=http_status)
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(
            f"The body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes; send less per call."
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # not an API error: a bug, and Django's 500 handling says so
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        general = fields.pop("non_field_errors", [])
        message = general[0] if general else "Some of the input is not valid; see fields."
        response.data = error_body("invalid", message, fields)
        return response
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    detail = exc.detail
    message = str(detail if not isinstance(detail, list | dict) else exc.default_detail)
    response.data = error_body(str(code), message)
    return response
