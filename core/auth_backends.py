"""Sign-in and permissions with one query per request for what every staff page asks.

Django's ModelBackend reads a user's own permissions and their groups' permissions with
two queries, and the navigation reads the user's groups (their roles) with a third: three
queries on every page before the page's own. ``StaffModelBackend`` reads all three with
one, filling the same per-request caches ModelBackend uses (``_user_perm_cache``,
``_group_perm_cache``, ``_perm_cache``) so ``has_perm`` behaves exactly as before: an
inactive user has no permissions, a superuser has all, and a change of role is seen on
the next request (nothing is cached beyond the user object of one request).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

ROLE_NAMES_CACHE = "_role_names_cache"


def _permissions_and_groups_sql() -> str:
    user_model_permissions = Permission.user_set.through._meta.db_table
    group_memberships = Group.user_set.through._meta.db_table
    group_permissions = Permission.group_set.through._meta.db_table
    permission = Permission._meta.db_table
    content_type = ContentType._meta.db_table
    group = Group._meta.db_table
    # Table names from the models only; the user's id is the one parameter (twice).
    return f"""
        SELECT 'user', ct.app_label, p.codename, NULL
        FROM {user_model_permissions} up
        JOIN {permission} p ON p.id = up.permission_id
        JOIN {content_type} ct ON ct.id = p.content_type_id
        WHERE up.user_id = %s
        UNION ALL
        SELECT 'group', ct.app_label, p.codename, g.name
        FROM {group_memberships} ug
        JOIN {group} g ON g.id = ug.group_id
        LEFT JOIN {group_permissions} gp ON gp.group_id = g.id
        LEFT JOIN {permission} p ON p.id = gp.permission_id
        LEFT JOIN {content_type} ct ON ct.id = p.content_type_id
        WHERE ug.user_id = %s
    """  # noqa: S608


def load_permissions_and_roles(user_obj: Any) -> None:
    """Fill the user object's permission caches and role names with one query."""
    own: set[str] = set()
    from_groups: set[str] = set()
    group_names: set[str] = set()
    with connection.cursor() as cursor:
        cursor.execute(_permissions_and_groups_sql(), [user_obj.pk, user_obj.pk])
        for source, app_label, codename, group_name in cursor.fetchall():
            if source == "group":
                group_names.add(group_name)
            if codename is None:  # a group without permissions
                continue
            (own if source == "user" else from_groups).add(f"{app_label}.{codename}")
    user_obj._user_perm_cache = own
    user_obj._group_perm_cache = from_groups
    setattr(user_obj, ROLE_NAMES_CACHE, group_names)


def _ensure_loaded(user_obj: Any) -> None:
    if not hasattr(user_obj, "_user_perm_cache") or not hasattr(user_obj, "_group_perm_cache"):
        load_permissions_and_roles(user_obj)


class StaffModelBackend(ModelBackend):
    """ModelBackend (sign-in unchanged) whose permission reads take one query."""

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_user_permissions(user_obj, obj)
        _ensure_loaded(user_obj)
        return set(user_obj._user_perm_cache)

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_group_permissions(user_obj, obj)
        _ensure_loaded(user_obj)
        return set(user_obj._group_perm_cache)
