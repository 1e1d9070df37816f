"""``Authorization: Bearer tkd_…`` for scripts and tools (api.services)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from api.models import ApiToken
from api.services import api_token_for_secret

KEYWORDS = ("bearer", "token")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """A request with a token acts as the token's user; ``request.auth`` is the token."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode("latin-1") not in KEYWORDS:
            return None  # not ours: the session (or nothing) decides
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as 'Authorization: Bearer <token>', with nothing else."
            )
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        token = api_token_for_secret(secret)
        if token is None:
            # One message for unknown, revoked, expired and inactive: the caller learns
            # nothing about which tokens exist.
            raise exceptions.AuthenticationFailed("The token is not valid.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes a missing or bad token a 401 (with this challenge), not a 403.
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API token (tkd_…)."}
