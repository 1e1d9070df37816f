"""What every staff page needs: the navigation the user's role allows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from core.roles import user_roles


@dataclass(frozen=True)
class NavEntry:
    label: str
    url: str
    active: bool


# (label, URL name, permission needed or "" for every signed-in user)
NAVIGATION: list[tuple[Any, str, str]] = [
    (_("Dashboard"), "dashboard", ""),
    (_("Intake"), "items:intake", "cases.add_item"),
    (_("Items"), "items:list", "cases.view_item"),
    (_("Approvals"), "items:approvals", "cases.review_item"),
    (_("Requests"), "requests:list", "cases.view_removalrequest"),
    (_("Cases"), "cases:list", "cases.view_case"),
    (_("Platforms"), "platforms:list", "platforms.view_platform"),
    (_("Unmatched mail"), "notifications:inbound_unmatched", "cases.view_correspondence"),
    (_("Mail outbox"), "notifications:outbox", "cases.view_correspondence"),
    (_("Compliance"), "metrics:league", "metrics.view_figures"),
    (_("Follow-up rules"), "followups:settings", "followups.view_composeschedule"),
    (_("System health"), "scheduling:health", "scheduling.view_jobrun"),
    (_("Audit trail"), "audit", "core.view_auditevent"),
    (_("Admin"), "admin:index", "is_staff"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    entries = []
    for label, name, permission in NAVIGATION:
        if permission == "is_staff" and not user.is_staff:
            continue
        if permission and permission != "is_staff" and not user.has_perm(permission):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:  # a face of the app that is not mounted (e.g. demo outbox)
            continue
        active = request.path == url if name == "dashboard" else request.path.startswith(url)
        entries.append(NavEntry(label=str(label), url=url, active=active))
    roles = ", ".join(sorted(role.value for role in user_roles(user)))
    return {"main_navigation": entries, "user_role_names": roles}
