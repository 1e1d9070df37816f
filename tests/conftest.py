"""Shared fixtures: the personas and a platform ready to receive requests.

- alice — referral officer (refers URLs, composes requests)
- bob — supervisor (approves what others did)
- charlie — a second supervisor, for four-eyes between supervisors
- dave — analyst (read-only)
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from core.roles import Role, ensure_role_groups
from platforms.models import Platform
from tests.factories import ContactFactory, PlatformDomainFactory, PlatformFactory, UserFactory


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # CI runs the whole suite once on real services and again on the embedded
    # defaults; the second pass proves the engine, so it skips the slow corpus loops.
    for item in items:
        if "naughty" in item.name:
            item.add_marker(pytest.mark.naughty)


@pytest.fixture
def role_groups(db: None) -> dict[Role, Group]:
    return ensure_role_groups()


@pytest.fixture
def alice(role_groups: dict[Role, Group]):
    return UserFactory(username="alice", groups=[role_groups[Role.OFFICER]])


@pytest.fixture
def bob(role_groups: dict[Role, Group]):
    return UserFactory(username="bob", groups=[role_groups[Role.SUPERVISOR]])


@pytest.fixture
def charlie(role_groups: dict[Role, Group]):
    return UserFactory(username="charlie", groups=[role_groups[Role.SUPERVISOR]])


@pytest.fixture
def dave(role_groups: dict[Role, Group]):
    return UserFactory(username="dave", groups=[role_groups[Role.ANALYST]])


@pytest.fixture
def platform(db: None) -> Platform:
    """A niche paste site serving pastebay.example.net, with an active primary contact."""
    platform = PlatformFactory(name="PasteBay", response_target_days=7, preferred_language="pl")
    PlatformDomainFactory(platform=platform, domain="pastebay.example.net")
    ContactFactory(platform=platform, email="abuse@pastebay.example.net", primary=True)
    return platform
