"""Staff roles as Django groups with permissions. The groups are (re)built by a migration."""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import Group, Permission

from core.auth_backends import ROLE_NAMES_CACHE


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ANALYST = "analyst"
    ADMIN = "admin"


_VIEW_ALL = [
    "platforms.view_platform",
    "platforms.view_platformdomain",
    "platforms.view_contact",
    "platforms.view_upstreamprovider",
    "cases.view_actor",
    "cases.view_case",
    "cases.view_item",
    "cases.view_hold",
    "cases.view_evidence",
    "cases.view_removalrequest",
    "cases.view_requestitem",
    "cases.view_outcomerecord",
    "cases.view_correspondence",
    "verification.view_urlcheck",
    "cases.view_ladderpolicy",
    "followups.view_composeschedule",
    "metrics.view_figures",
]
_OFFICER = [
    *_VIEW_ALL,
    "platforms.add_platform",
    "platforms.change_platform",
    "platforms.add_platformdomain",
    "platforms.change_platformdomain",
    "platforms.delete_platformdomain",
    "platforms.add_contact",
    "platforms.change_contact",
    "platforms.add_upstreamprovider",
    "cases.add_actor",
    "cases.change_actor",
    "cases.add_case",
    "cases.change_case",
    "cases.add_item",
    "cases.change_item",
    "cases.add_evidence",
    "cases.add_correspondence",
    "cases.compose_request",
    "verification.request_check",
    "cases.record_outcome",
]
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.OFFICER: _OFFICER,
    Role.SUPERVISOR: [
        *_OFFICER,
        "cases.review_item",
        "cases.hold_item",
        "cases.approve_request",
        "cases.change_removalrequest",
        "platforms.record_tco_notice",
        "platforms.confirm_defunct",
        "scheduling.view_jobrun",
        "scheduling.run_job_now",
        "cases.add_ladderpolicy",
        "cases.change_ladderpolicy",
        "cases.delete_ladderpolicy",
        "followups.change_composeschedule",
        "metrics.refresh_snapshot",
    ],
    Role.ANALYST: _VIEW_ALL,
    Role.ADMIN: [],  # admins are superusers; the group marks them in lists
}


def ensure_role_groups() -> dict[Role, Group]:
    """Create or update one group per role with exactly its permissions. Idempotent.

    The permissions are read in one query (every test's personas go through here).
    """
    wanted = {code for codes in ROLE_PERMISSIONS.values() for code in codes}
    found = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.filter(
            codename__in={code.split(".")[1] for code in wanted}
        ).values_list("pk", "content_type__app_label", "codename")
    }
    missing = sorted(wanted - found.keys())
    if missing:
        raise Permission.DoesNotExist(f"Permissions named in core.roles do not exist: {missing}")
    groups: dict[Role, Group] = {}
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        group.permissions.set([found[code] for code in codes])
        groups[role] = group
    return groups


def user_roles(user: object) -> set[Role]:
    # Read with the permissions when they were (core.auth_backends): no query of its own.
    names = getattr(user, ROLE_NAMES_CACHE, None)
    if names is None:
        names = {g.name for g in getattr(user, "groups").all()}  # noqa: B009
    return {role for role in Role if role.value in names}
