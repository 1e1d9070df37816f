"""./desk manage renormalise_items: old items brought up to today's canonical URLs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Item
from core.audit import audit_history
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

V = "dQw4w9WgXcQ"
YT = f"https://www.youtube.com/watch?v={V}"


def old_item(url: str, host: str):
    """An item stored before today's per-site rules knew its spelling."""
    return ItemFactory(url_normalised=url, url_submitted=url, host=host, platform=None)


def run(*args: str) -> str:
    out = StringIO()
    call_command("renormalise_items", *args, stdout=out)
    return out.getvalue()


def test_it_rewrites_an_old_url_and_host_to_the_canonical_ones():
    item = old_item(f"https://m.youtube.com/watch?v={V}", "m.youtube.com")

    run()

    item.refresh_from_db()
    assert (item.url_normalised, item.host) == (YT, "www.youtube.com")


def test_it_audits_each_rewritten_item():
    item = old_item(f"https://m.youtube.com/watch?v={V}", "m.youtube.com")

    run()

    [event] = audit_history(item)
    assert (event.action, event.old["url_normalised"], event.new["url_normalised"]) == (
        "item.renormalised",
        f"https://m.youtube.com/watch?v={V}",
        YT,
    )


def test_it_leaves_a_canonical_item_alone():
    item = old_item(YT, "www.youtube.com")

    output = run()

    assert "1 items checked; 0 changed." in output
    assert not audit_history(item).exists()


def test_it_reports_two_items_that_would_become_one_and_changes_neither():
    short = old_item(f"https://youtu.be/{V}", "youtu.be")
    mobile = old_item(f"https://m.youtube.com/watch?v={V}", "m.youtube.com")

    output = run()

    assert f"item {short.pk}: https://youtu.be/{V}" in output
    assert f"item {mobile.pk}: https://m.youtube.com/watch?v={V}" in output
    assert YT in output
    assert set(Item.objects.values_list("url_normalised", flat=True)) == {
        f"https://youtu.be/{V}",
        f"https://m.youtube.com/watch?v={V}",
    }


def test_it_reports_an_item_that_would_become_an_existing_one_and_keeps_both():
    canonical = old_item(YT, "www.youtube.com")
    mobile = old_item(f"https://m.youtube.com/watch?v={V}", "m.youtube.com")

    output = run()

    assert f"item {canonical.pk}: {YT}" in output
    assert f"item {mobile.pk}: https://m.youtube.com/watch?v={V}" in output
    mobile.refresh_from_db()
    assert mobile.url_normalised == f"https://m.youtube.com/watch?v={V}"
    assert Item.objects.count() == 2


def test_it_changes_nothing_on_a_dry_run():
    item = old_item(f"https://m.youtube.com/watch?v={V}", "m.youtube.com")

    output = run("--dry-run")

    item.refresh_from_db()
    assert item.url_normalised == f"https://m.youtube.com/watch?v={V}"
    assert f"1 would change.\n  item {item.pk}: https://m.youtube.com/watch?v={V} -> {YT}" in output
    assert not audit_history(item).exists()


def test_it_updates_items_one_batch_per_statement():
    items = [old_item(f"https://twitter.com/someone/status/{n}", "twitter.com") for n in range(7)]

    with CaptureQueriesContext(connection) as queries:
        run("--batch-size", "3")

    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 3  # 7 items, 3 a statement
    assert {i.host for i in Item.objects.filter(pk__in=[i.pk for i in items])} == {"x.com"}


def test_it_refuses_a_batch_size_out_of_range():
    with pytest.raises(CommandError, match="between 1 and 10000"):
        run("--batch-size", "0")
