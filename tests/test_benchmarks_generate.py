"""The scale generator (benchmarks.scale) at a tiny size: valid, varied and skewed data."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from benchmarks.scale import foreign_key_orphans, generate_scale
from cases.models import (
    Item,
    ItemStatus,
    Outcome,
    OutcomeRecord,
    RemovalRequest,
    RequestItem,
    RequestState,
)
from core.models import AuditEvent, RowChange
from metrics.models import MetricSnapshot
from platforms.models import Platform
from verification.models import UrlCheck

pytestmark = pytest.mark.django_db

SIZES = {"items": 5_000, "platforms": 100, "requests": 500}


@pytest.fixture
def generated(role_groups):
    return generate_scale(
        items=SIZES["items"], platforms=SIZES["platforms"], requests=SIZES["requests"]
    )


def test_sizes_are_what_was_asked(generated) -> None:
    assert Item.objects.count() == SIZES["items"]
    assert Platform.objects.count() == SIZES["platforms"]
    # One request per platform per compose period: at most about the number asked, not
    # far below (the period is the shortest whole number of weeks that fits).
    assert 0.5 * SIZES["requests"] <= RemovalRequest.objects.count() <= 1.2 * SIZES["requests"]
    assert RequestItem.objects.count() > 0.8 * SIZES["items"]


def test_every_state_and_outcome_occurs(generated) -> None:
    assert set(Item.objects.values_list("status", flat=True)) == set(ItemStatus.values)
    assert set(RemovalRequest.objects.values_list("state", flat=True)) == set(RequestState.values)
    assert set(RequestItem.objects.values_list("outcome", flat=True)) == set(Outcome.values)
    assert set(Item.objects.values_list("verification", flat=True)) == {
        "",
        "live",
        "gone",
        "unknown",
    }
    assert set(RemovalRequest.objects.values_list("request_type", flat=True)) == {
        "referral",
        "removal_order",
    }
    assert RemovalRequest.objects.filter(escalated_from__isnull=False).exists()
    assert Item.objects.filter(threat_to_life=True).exists()


def test_foreign_keys_hold_although_postgres_did_not_check_them(generated) -> None:
    assert foreign_key_orphans() == {}


def test_rules_the_models_do_not_enforce_hold(generated) -> None:
    # Lines only of approved items; items four-eyes; a line's outcome is its newest record.
    assert not RequestItem.objects.exclude(item__status=ItemStatus.APPROVED).exists()
    assert not Item.objects.filter(reviewed_by=F("created_by")).exists()
    sent = RemovalRequest.objects.filter(sent_at__isnull=False)
    assert not sent.filter(approved_by=F("submitted_by")).exists()
    answered = RequestItem.objects.exclude(outcome=Outcome.PENDING)
    assert answered.count() == answered.filter(outcome_records__isnull=False).distinct().count()
    assert not RequestItem.objects.filter(outcome=Outcome.PENDING, request__state="closed").exists()
    # Nothing happened in the future.
    now = timezone.now()
    assert not RemovalRequest.objects.filter(sent_at__gt=now).exists()
    assert not Item.objects.filter(created_at__gt=now).exists()
    # Verification mirrors the newest check.
    checked = Item.objects.exclude(verification="")
    assert checked.count() == UrlCheck.objects.values("item").distinct().count()
    assert (
        OutcomeRecord.objects.filter(outcome=Outcome.NO_RESPONSE).exclude(source="system").count()
        == 0
    )


def test_busy_platforms_get_long_requests_the_tail_short_ones(generated) -> None:
    lines = sorted(RemovalRequest.objects.annotate(n=Count("lines")).values_list("n", flat=True))
    assert lines[-1] > 20 * lines[len(lines) // 2]


def test_a_few_platforms_hold_most_items(generated) -> None:
    per_platform = Counter(
        dict(
            Item.objects.filter(platform__isnull=False)
            .values_list("platform")
            .annotate(n=Count("id"))
        )
    )
    counts = sorted(per_platform.values(), reverse=True)
    top_tenth = sum(counts[: len(counts) // 10])
    assert top_tenth > 0.5 * sum(counts)
    assert counts[-1] < counts[0] / 50


def test_items_span_three_years(generated) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(created_at) - min(created_at) FROM cases_item")
        (span,) = cursor.fetchone()
    assert span.days > 3 * 365 - 14


def test_one_audit_event_instead_of_a_row_trail_and_triggers_back_on(generated) -> None:
    assert RowChange.objects.filter(table_name="cases_item").count() == 0
    event = AuditEvent.objects.get(action="benchmarks.scale_generated")
    assert event.new is not None
    assert event.new["cases_item"] == SIZES["items"]
    assert MetricSnapshot.objects.filter(is_current=True).exists()
    # The trigger fires again after the generator: a later change is on the trail.
    platform = Platform.objects.order_by("id")[0]
    platform.notes = "changed after generation"
    platform.save()
    assert RowChange.objects.filter(table_name="platforms_platform").exists()


def test_refused_in_production_settings(settings, role_groups) -> None:
    settings.DEBUG = False
    settings.DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="production"):
        call_command("generate_scale", items=100, platforms=10, requests=10)
    assert not Item.objects.exists()


def test_refused_twice_in_one_database(generated) -> None:
    with pytest.raises(CommandError, match="already"):
        call_command("generate_scale", items=100, platforms=10, requests=10)
