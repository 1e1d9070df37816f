"""Access control for staff views: every view names the permission it needs."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

# Any response: a page, a redirect, a streamed file.
View = Callable[..., HttpResponseBase]


def staff_view(*permissions: str) -> Callable[[View], View]:
    """Signed-in users only (anonymous → sign-in page); 403 without every permission.

    Use with no permission for pages every staff role may see (the dashboard).
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.has_perms(permissions):
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        wrapped.staff_permissions = permissions  # type: ignore[attr-defined]
        return login_required(wrapped)

    return decorate
