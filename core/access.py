"""Role checks shared by services and views."""

from __future__ import annotations

from typing import Any

from core.errors import PermissionRefused


def require_permission(user: Any, permission: str, what: str) -> None:
    """Services check the role too, so no entry point (view, API, shell task) can skip it."""
    if not user.has_perm(permission):
        error = PermissionRefused(f"Your role does not allow you to {what}.")
        error.permission = permission  # named in the security.permission_denied event
        raise error
