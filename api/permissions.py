"""Reads need the role's view permission (the same as the staff pages); writes are
decided by the services each action calls (core.access.require_permission)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class CanRead(BasePermission):
    message = "Your role does not allow you to read this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method not in SAFE_METHODS:
            return True  # the service called by the action checks the role
        needed = getattr(view, "read_permission", "")
        return not needed or bool(request.user.has_perm(needed))
