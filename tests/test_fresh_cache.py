"""The cache is empty at the start of every test (tests/conftest.py, _fresh_cache).

The portal counts bad tokens in the cache for five minutes: a count left behind by
one test (or by the same test in the previous run) would refuse the next. Two
tests in file order: the first leaves a count behind the way a live-server test
does (committed), the second must not see it, whichever cache the settings use
(Redis with REDIS_URL, else the database cache table).
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

KEY = "portal:bad-token:left-behind-by-the-previous-test"


@pytest.mark.django_db(transaction=True)
def test_a_committed_count_is_left_behind() -> None:
    cache.set(KEY, 19, timeout=300)
    assert cache.get(KEY) == 19


@pytest.mark.django_db(transaction=True)
def test_the_next_test_starts_without_it() -> None:
    assert cache.get(KEY) is None
