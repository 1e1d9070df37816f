"""The personas hold the permissions of their role group."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("persona", "permission", "granted"),
    [
        ("alice", "cases.add_item", True),
        ("alice", "cases.compose_request", True),
        ("alice", "cases.review_item", False),
        ("alice", "cases.approve_request", False),
        ("bob", "cases.review_item", True),
        ("bob", "cases.hold_item", True),
        ("charlie", "cases.approve_request", True),
        ("dave", "cases.view_removalrequest", True),
        ("dave", "cases.add_item", False),
        ("dave", "platforms.change_platform", False),
    ],
)
def test_it_gives_each_persona_the_permissions_of_its_role(request, persona, permission, granted):
    user = request.getfixturevalue(persona)

    assert user.has_perm(permission) is granted
