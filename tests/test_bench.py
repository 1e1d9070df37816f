"""The list benchmark runs and leaves the database as it found it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from cases.models import Item
from tests.factories import PlatformFactory

pytestmark = pytest.mark.django_db


def test_it_times_the_list_pages_and_rolls_back() -> None:
    PlatformFactory()
    out = StringIO()

    call_command("bench_lists", rows=300, repeat=1, stdout=out)

    report = out.getvalue()
    assert "newest, deep page (row 900k)" in report
    assert "Rolled back" in report
    assert Item.objects.count() == 0
