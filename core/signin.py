"""Staff sign-in: the client address django-axes records, and the sign-in security events."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.audit import audit_record


def client_ip(request: HttpRequest) -> str | None:
    """The address a sign-in attempt came from, for the record (the lockout ignores it).

    REMOTE_ADDR unless SIGNIN_TRUSTED_PROXY_COUNT proxies sit in front: then the address the
    outermost of them saw, counted from the right of X-Forwarded-For, because every entry to
    the left of the ones our proxies appended is whatever the client chose to send.
    """
    count = getattr(settings, "SIGNIN_TRUSTED_PROXY_COUNT", 0)
    remote = request.META.get("REMOTE_ADDR")
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < count:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:  # not an address: no proxy of ours wrote that
        return remote


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The page a locked-out sign-in gets (AXES_LOCKOUT_CALLABLE): 429, how long to wait."""
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = max(1, int(cooloff.total_seconds() // 60)) if cooloff else None
    return render(
        request,
        "registration/locked_out.html",
        {"cooloff_minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


# --- security events ---------------------------------------------------------------------
# Connected in CoreConfig.ready(). Each writes one audit row: the username tried, the address
# and, never, the password (Django already masks it in `credentials`; we read only the name).

USERNAME_MAX_LENGTH = 150


def _user_named(username: str) -> Any:
    """The user of that name, or an unsaved one (target id "None") when no such user exists."""
    model = get_user_model()
    user = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
    return user or model(**{model.USERNAME_FIELD: username})


def _where(request: HttpRequest | None) -> dict[str, Any]:
    return {"ip_address": client_ip(request)} if request is not None else {}


def on_user_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit_record(actor=user, action="security.sign_in", target=user, extra=_where(request))


def on_user_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or "")[:USERNAME_MAX_LENGTH]
    audit_record(
        actor=None,
        actor_label="sign-in attempt",
        action="security.sign_in_failed",
        target=_user_named(username),
        extra={"username": username, **_where(request)},
    )


def on_user_locked_out(
    sender: Any,
    request: HttpRequest | None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    username = (username or "")[:USERNAME_MAX_LENGTH]
    audit_record(
        actor=None,
        actor_label="sign-in attempt",
        action="security.lockout",
        target=_user_named(username),
        extra={"username": username, "ip_address": ip_address},
    )


def connect_signals() -> None:
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_login_failed

    user_logged_in.connect(on_user_logged_in, dispatch_uid="core.signin.sign_in")
    user_login_failed.connect(on_user_login_failed, dispatch_uid="core.signin.sign_in_failed")
    user_locked_out.connect(on_user_locked_out, dispatch_uid="core.signin.lockout")
