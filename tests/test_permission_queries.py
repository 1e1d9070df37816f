"""A user's permissions and roles are read with one query (core.auth_backends), with exactly
the answers Django's ModelBackend gives."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.auth_backends import StaffModelBackend
from core.roles import Role, user_roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


def fresh(user):
    """The user as the next request loads it: no permission caches."""
    return User.objects.get(pk=user.pk)


def permissions_by(backend, user) -> tuple[set[str], set[str], set[str]]:
    user = fresh(user)
    return (
        backend.get_user_permissions(user),
        backend.get_group_permissions(user),
        backend.get_all_permissions(user),
    )


def test_it_reads_permissions_and_roles_with_one_query(bob, django_assert_num_queries):
    user = fresh(bob)

    with django_assert_num_queries(1):
        assert user.has_perm("cases.approve_request")
        assert not user.has_perm("core.view_auditevent")
        assert user_roles(user) == {Role.SUPERVISOR}


@pytest.mark.parametrize("role", list(Role))
def test_it_gives_every_role_the_permissions_model_backend_gives(role_groups, role):
    user = UserFactory(groups=[role_groups[role]])

    assert permissions_by(StaffModelBackend(), user) == permissions_by(ModelBackend(), user)


def test_it_counts_a_permission_given_to_the_user_directly(alice):
    direct = Permission.objects.get(codename="view_auditevent")
    alice.user_permissions.add(direct)

    own, from_groups, every = permissions_by(StaffModelBackend(), alice)

    assert own == {"core.view_auditevent"}
    assert "core.view_auditevent" not in from_groups
    assert every == permissions_by(ModelBackend(), alice)[2]


def test_it_knows_a_role_whose_group_has_no_permissions(alice):
    alice.groups.add(Group.objects.create(name="empty"))

    assert permissions_by(StaffModelBackend(), alice) == permissions_by(ModelBackend(), alice)


def test_it_gives_an_inactive_user_nothing(bob):
    bob.is_active = False
    bob.save()

    assert permissions_by(StaffModelBackend(), bob) == (set(), set(), set())
    assert not fresh(bob).has_perm("cases.approve_request")


def test_it_gives_a_superuser_everything():
    root = UserFactory(is_superuser=True)

    assert permissions_by(StaffModelBackend(), root) == permissions_by(ModelBackend(), root)
    assert fresh(root).has_perm("cases.approve_request")


def test_it_sees_a_role_taken_away_on_the_next_request(client, bob, role_groups):
    client.force_login(bob)
    assert client.get(reverse("items:approvals")).status_code == 200

    bob.groups.remove(role_groups[Role.SUPERVISOR])

    assert client.get(reverse("items:approvals")).status_code == 403


def test_a_staff_page_reads_permissions_and_roles_once(client, bob):
    """With ModelBackend the same page read the permissions twice (own, groups') and the
    groups a third time for the role shown in the navigation."""
    client.force_login(bob)
    client.get(reverse("dashboard"))  # warm: the session's first save

    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("dashboard"))

    permission_reads = [q for q in queries.captured_queries if "auth_permission" in q["sql"]]
    group_reads = [
        q
        for q in queries.captured_queries
        if '"auth_group"' in q["sql"] and "auth_permission" not in q["sql"]
    ]
    assert (len(permission_reads), len(group_reads)) == (1, 0)
