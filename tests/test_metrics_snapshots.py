"""The compliance snapshot: stored figures equal the live ones, replaced atomically, nightly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cases.models import Outcome, OutcomeSource
from cases.services.outcomes import request_item_record_outcome
from core.audit import audit_history
from core.errors import DomainError, PermissionRefused
from metrics import services
from metrics.figures import MetricFilters
from metrics.models import MetricSnapshot, SnapshotTrigger
from metrics.selectors import compliance_figures, compliance_figures_sets, latest_snapshot
from metrics.services import SNAPSHOTS_KEPT, snapshot_refresh, snapshot_refresh_job
from scheduling.jobs import job_run
from tests.factories import PlatformFactory, RequestItemFactory, SentRequestFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 20, 3, 0, tzinfo=UTC)  # a Friday, 03:00 in London


def some_requests() -> None:
    """Two platforms over three weeks, with removals, a refusal and overdue items."""
    alpha, beta = PlatformFactory(name="Alpha"), PlatformFactory(name="Beta")
    for days_ago, platform, outcomes in [
        (18, alpha, [Outcome.REMOVED, Outcome.REFUSED_NOT_VIOLATING, None]),
        (10, alpha, [Outcome.ACCESS_DISABLED]),
        (10, beta, [None, None]),
        (2, beta, [Outcome.REMOVED]),
    ]:
        request = SentRequestFactory(platform=platform, sent_at=NOW - timedelta(days=days_ago))
        for hours, outcome in enumerate(outcomes, start=1):
            line = RequestItemFactory(request=request)
            if outcome:
                request_item_record_outcome(
                    line=line,
                    outcome=outcome,
                    source=OutcomeSource.OPERATOR_PORTAL,
                    at=request.sent_at + timedelta(hours=hours),
                )


def live(group_by=(), **filters):
    return compliance_figures(filters=MetricFilters(**filters), group_by=group_by, now=NOW)


def test_it_stores_per_platform_per_week_figures_equal_to_the_live_ones():
    some_requests()

    snapshot_refresh(now=NOW)

    assert latest_snapshot(scope="platform_week").rows == live(["platform", "week"])


def test_it_stores_the_units_weekly_figures_equal_to_the_live_ones():
    some_requests()

    snapshot_refresh(now=NOW)

    assert latest_snapshot(scope="week").rows == live(["week"])


def test_it_stores_per_platform_and_unit_totals_for_all_time_and_the_last_12_weeks():
    some_requests()

    snapshot_refresh(now=NOW)

    recent = services.last_weeks_start(NOW)
    assert latest_snapshot(scope="platform").rows == live(["platform"])
    assert latest_snapshot(scope="total").rows == live()
    assert latest_snapshot(scope="platform", window="last_12_weeks").rows == live(
        ["platform"], start=recent
    )
    assert latest_snapshot(scope="total", window="last_12_weeks").rows == live(start=recent)


def test_it_reads_one_platforms_recent_weeks(django_assert_num_queries):
    some_requests()
    snapshot_refresh(now=NOW)
    beta = PlatformFactory._meta.model.objects.get(name="Beta")

    with django_assert_num_queries(2):
        snapshot = latest_snapshot(
            scope="platform_week", platform_ids=[beta.pk], since_week=datetime(2026, 3, 9).date()
        )

    assert [(r.group["platform_name"], r.group["week_label"]) for r in snapshot.rows] == [
        ("Beta", "2026-W11"),
        ("Beta", "2026-W12"),
    ]


def test_it_records_when_and_from_what_the_figures_were_computed(bob):
    some_requests()

    snapshot_refresh(now=NOW, by=bob)

    snapshot = MetricSnapshot.objects.get(is_current=True)
    assert (snapshot.computed_at, snapshot.computed_by, snapshot.trigger) == (
        NOW,
        bob,
        SnapshotTrigger.BUTTON,
    )
    assert {key: snapshot.source[key] for key in ("request_items", "requests", "platforms")} == {
        "request_items": 7,
        "requests": 4,
        "platforms": 2,
    }
    assert snapshot.source["code_version"] and snapshot.source["definitions"]
    assert latest_snapshot(scope="total").computed_at == NOW


def test_it_audits_a_refresh(bob):
    snapshot_refresh(now=NOW, by=bob)

    [event] = audit_history(MetricSnapshot.objects.get())
    assert (event.actor, event.action, event.extra["trigger"]) == (
        bob,
        "metrics.snapshot_refreshed",
        "button",
    )


def test_it_reads_no_figures_before_the_first_snapshot():
    snapshot = latest_snapshot(scope="platform_week")

    assert (snapshot.computed_at, snapshot.rows) == (None, [])


def test_it_replaces_the_previous_snapshot_on_a_rerun():
    some_requests()
    snapshot_refresh(now=NOW)
    RequestItemFactory(request=SentRequestFactory(sent_at=NOW - timedelta(hours=1)))

    snapshot_refresh(now=NOW + timedelta(hours=1))

    assert MetricSnapshot.objects.filter(is_current=True).count() == 1
    [total] = latest_snapshot(scope="total").rows
    assert (total.requested, latest_snapshot(scope="total").computed_at) == (
        8,
        NOW + timedelta(hours=1),
    )


def test_it_keeps_only_the_latest_snapshots():
    for hour in range(SNAPSHOTS_KEPT + 2):
        snapshot_refresh(now=NOW + timedelta(hours=hour))

    assert MetricSnapshot.objects.count() == SNAPSHOTS_KEPT


def test_it_keeps_the_previous_snapshot_when_a_refresh_fails(monkeypatch):
    some_requests()
    snapshot_refresh(now=NOW)
    before = latest_snapshot(scope="platform_week")
    calls = []

    def failing(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return compliance_figures_sets(**kwargs)

    monkeypatch.setattr(services, "compliance_figures_sets", failing)

    with pytest.raises(RuntimeError):
        snapshot_refresh(now=NOW + timedelta(hours=1))

    assert MetricSnapshot.objects.count() == 1
    assert latest_snapshot(scope="platform_week") == before


def test_it_runs_the_nightly_job_once_a_night():
    some_requests()
    night = datetime(2026, 3, 20, 2, 30, tzinfo=UTC)

    first = job_run(name="metrics_snapshot", now=night)
    again = job_run(name="metrics_snapshot", now=night + timedelta(hours=3))
    next_night = job_run(name="metrics_snapshot", now=night + timedelta(days=1))

    assert [first.status, again.status, next_night.status] == [
        "succeeded",
        "already_claimed",
        "succeeded",
    ]
    assert first.run is not None and first.run.summary["request_items"] == 7
    assert MetricSnapshot.objects.get(is_current=True).trigger == SnapshotTrigger.NIGHTLY


def test_it_does_not_run_the_nightly_job_before_two_in_the_morning():
    assert job_run(
        name="metrics_snapshot", now=datetime(2026, 3, 20, 1, 30, tzinfo=UTC)
    ).status == ("not_due")


def test_it_reports_what_the_job_did():
    some_requests()

    summary = snapshot_refresh_job(now=NOW)

    assert (summary["request_items"], summary["rows"]) == (
        7,
        MetricSnapshot.objects.get().row_count,
    )


GROUPINGS = [("platform", "week"), ("week",), ("platform",), (), ("tier", "request_type")]


def test_it_computes_several_groupings_in_one_query_like_one_at_a_time(
    django_assert_num_queries,
):
    some_requests()

    with django_assert_num_queries(1):
        together = compliance_figures_sets(
            filters=MetricFilters(), grouping_sets=GROUPINGS, now=NOW
        )

    assert together == [live(grouping) for grouping in GROUPINGS]


def test_it_gives_one_empty_total_when_no_items_match_any_grouping():
    together = compliance_figures_sets(
        filters=MetricFilters(), grouping_sets=[("platform",), ()], now=NOW
    )

    assert together == [[], live()]


def test_it_refuses_to_group_by_actor_in_grouping_sets():
    with pytest.raises(DomainError):
        compliance_figures_sets(filters=MetricFilters(), grouping_sets=[("actor",), ()])


def test_it_refuses_a_refresh_by_someone_without_the_permission(dave):
    with pytest.raises(PermissionRefused):
        snapshot_refresh(now=NOW, by=dave)

    assert not MetricSnapshot.objects.exists()
