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


@pytest.fixture(autouse=True)
def _fresh_cache(request: pytest.FixtureRequest, settings) -> None:
    """Each test starts with every cache empty.

    The portal counts bad tokens per address in the default cache for a 5-minute
    window, so whatever a test leaves there would refuse the same test run again
    within the window. With REDIS_URL set the cache is Redis, which outlives the
    test database; test settings give it a Redis database of its own (the broker's
    number + 8), so flushing it never drops a queued Celery message. Without Redis
    (the embedded defaults, or DATABASE_URL alone) it is the database cache table:
    rolled back after a plain database test, but committed by transactional and
    live-server tests and never truncated by their flush (no model owns the table),
    so it is emptied too, for tests that have the database. Sign-in lockouts
    (django-axes) are database rows, rolled back or flushed with the rest.
    """
    from django.core.cache import caches

    for alias, config in settings.CACHES.items():
        if config["BACKEND"].endswith("DatabaseCache"):
            if not _has_database(request):
                continue  # nothing can have counted anything without the database
            request.getfixturevalue("_django_db_helper")
        caches[alias].clear()


def _has_database(request: pytest.FixtureRequest) -> bool:
    return (
        "_django_db_helper" in request.fixturenames
        or request.node.get_closest_marker("django_db") is not None
    )


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
