"""Recomputing the compliance snapshot (nightly job, the supervisor's button, the command).

``snapshot_refresh`` computes every stored figure with ``compliance_figures``
(the same selector the live pages use, so a snapshot row always equals the live
figure as of its ``computed_at``), writes the new set beside the current one and
makes it current in the same transaction. Readers keep seeing the previous set
until the new one is complete; two refreshes at once queue on an advisory lock.
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from cases.models import RemovalRequest
from core.audit import audit_record
from core.errors import PermissionRefused
from metrics.figures import FIGURE_DEFINITIONS, Figures, MetricFilters
from metrics.forms import last_full_quarter
from metrics.models import (
    MetricSnapshot,
    MetricSnapshotRow,
    SnapshotScope,
    SnapshotTrigger,
    SnapshotWindow,
)
from metrics.report import report_to_json, transparency_report
from metrics.selectors import compliance_figures_sets
from platforms.models import Platform, PlatformTier

# Snapshots kept (the current one and the ones before it, for "what did the
# dashboard say yesterday?"); older ones are deleted by the refresh.
SNAPSHOTS_KEPT = 3
TRAILING_WEEKS = 12
# pg_advisory_xact_lock key: "metrics snapshot" (any constant unique in the project).
_LOCK_KEY = 0x6D657472


def _definitions_hash() -> str:
    text = "\n".join("|".join(definition) for definition in FIGURE_DEFINITIONS)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def code_version() -> str:
    """The deployed code's version: ``DESK_VERSION`` if set (images), else the git commit."""
    if version := os.environ.get("DESK_VERSION", ""):
        return version
    git = Path(__file__).resolve().parent.parent / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head.removeprefix("ref: ")
            ref_file = git / ref
            if ref_file.exists():
                return ref_file.read_text().strip()[:12]
            for line in (git / "packed-refs").read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split()[0][:12]
            return "unknown"
        return head[:12]
    except OSError:
        return "unknown"


def last_weeks_start(now: datetime, weeks: int = TRAILING_WEEKS) -> date:
    """Monday of the first of the last ``weeks`` ISO weeks (the current one included)."""
    today = timezone.localdate(now)
    return today - timedelta(days=today.weekday(), weeks=weeks - 1)


def _rows(
    snapshot: MetricSnapshot,
    figures: list[Figures],
    *,
    scope: SnapshotScope,
    window: str = "",
    period_start: date | None = None,
    period_end: date | None = None,
    tiers: dict[int, str] | None = None,
) -> list[MetricSnapshotRow]:
    tiers = tiers or {}
    rows = []
    for f in figures:
        week = f.group.get("week")
        rows.append(
            MetricSnapshotRow(
                snapshot=snapshot,
                scope=scope,
                window=window,
                platform_id=f.group.get("platform"),
                platform_name=f.group.get("platform_name", ""),
                week=week,
                period_start=week or period_start,
                period_end=week + timedelta(days=7) if week else period_end,
                requested=f.requested,
                responded=f.responded,
                removed=f.removed,
                verified_removed=f.verified_removed,
                removed_on_time=f.removed_on_time,
                overdue_open=f.overdue_open,
                median_hours_to_response=f.median_hours_to_response,
                median_hours_to_removal=f.median_hours_to_removal,
                refusal_breakdown=f.refusal_breakdown,
                refused=f.refused,
                tier=f.group.get("tier") or tiers.get(f.group.get("platform") or 0, ""),
            )
        )
    return rows


def snapshot_build(
    *, now: datetime, by: Any = None, trigger: str = SnapshotTrigger.COMMAND
) -> MetricSnapshot:
    """Compute and store a new current snapshot.

    Call inside a transaction: ``snapshot_refresh`` does; the benchmark calls it
    inside its own rolled-back one.
    """
    started = time.monotonic()
    with connection.cursor() as cursor:
        # Queue behind a refresh already running (button pressed during the nightly run).
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    everything = MetricFilters()
    recent = MetricFilters(start=last_weeks_start(now))
    sources = RemovalRequest.objects.filter(sent_at__isnull=False).aggregate(
        requests=Count("id"),
        platforms=Count("platform", distinct=True),
        first_sent_at=Min("sent_at"),
        last_sent_at=Max("sent_at"),
    )
    snapshot = MetricSnapshot.objects.create(
        computed_at=now,
        computed_by=by if getattr(by, "is_authenticated", False) else None,
        trigger=trigger,
    )
    # Two scans of the request items (all time; the last 12 weeks), each grouped
    # several ways at once (GROUPING SETS), instead of one scan per grouping.
    by_week, weekly, by_platform, by_tier, [total] = compliance_figures_sets(
        filters=everything,
        grouping_sets=[("platform", "week"), ("week",), ("platform",), ("tier",), ()],
        now=now,
    )
    recent_by_platform, [recent_total] = compliance_figures_sets(
        filters=recent, grouping_sets=[("platform",), ()], now=now
    )
    # The transparency report's default period, as the report page would compute it
    # (its per-platform table as rows, the rest as JSON on the snapshot).
    report_start, report_end = last_full_quarter(timezone.localdate(now))
    report = transparency_report(start=report_start, end=report_end, now=now)
    # The league shows and filters by tier: each platform's tier as of now.
    tiers = dict(Platform.objects.values_list("pk", "tier"))
    totals = {SnapshotWindow.ALL_TIME: total, SnapshotWindow.LAST_12_WEEKS: recent_total}
    rows = [
        *_rows(snapshot, by_week, scope=SnapshotScope.PLATFORM_WEEK, tiers=tiers),
        *_rows(snapshot, weekly, scope=SnapshotScope.WEEK),
        *_rows(
            snapshot,
            by_platform,
            scope=SnapshotScope.PLATFORM,
            window=SnapshotWindow.ALL_TIME,
            tiers=tiers,
        ),
        *_rows(snapshot, by_tier, scope=SnapshotScope.TIER, window=SnapshotWindow.ALL_TIME),
        *_rows(snapshot, [total], scope=SnapshotScope.TOTAL, window=SnapshotWindow.ALL_TIME),
        *_rows(
            snapshot,
            recent_by_platform,
            scope=SnapshotScope.PLATFORM,
            window=SnapshotWindow.LAST_12_WEEKS,
            period_start=recent.start,
            tiers=tiers,
        ),
        *_rows(
            snapshot,
            [recent_total],
            scope=SnapshotScope.TOTAL,
            window=SnapshotWindow.LAST_12_WEEKS,
            period_start=recent.start,
        ),
        *_rows(
            snapshot,
            report.platforms,
            scope=SnapshotScope.PLATFORM,
            window=SnapshotWindow.REPORT_PERIOD,
            period_start=report_start,
            period_end=report_end,
            tiers=tiers,
        ),
    ]
    MetricSnapshotRow.objects.bulk_create(rows, batch_size=2000)
    # Fresh planner statistics for the rows just written: without them PostgreSQL takes
    # the new set for empty and the pages' small reads pick poor plans (tens of ms each).
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {MetricSnapshotRow._meta.db_table}")
    snapshot.source = {
        "filters": "every request item of every sent request (no filter)",
        "request_items": totals[SnapshotWindow.ALL_TIME].requested,
        "requests": sources["requests"],
        "platforms": sources["platforms"],
        "first_sent_at": sources["first_sent_at"].isoformat() if sources["first_sent_at"] else None,
        "last_sent_at": sources["last_sent_at"].isoformat() if sources["last_sent_at"] else None,
        "last_12_weeks_from": recent.start.isoformat() if recent.start else None,
        # Platform rows of the all-time league, all and per tier: its pages need no COUNT.
        "league_rows": {
            "all": len(by_platform),
            **{
                tier: sum(1 for f in by_platform if tiers.get(f.group["platform"]) == tier)
                for tier in PlatformTier.values
            },
        },
        "time_zone": settings.TIME_ZONE,
        "code_version": code_version(),
        "definitions": _definitions_hash(),
    }
    snapshot.report = report_to_json(report)
    snapshot.row_count = len(rows)
    snapshot.finished_at = timezone.now()
    snapshot.duration_ms = int((time.monotonic() - started) * 1000)
    # Switch: the old set stays current until this statement, inside the same transaction.
    MetricSnapshot.objects.filter(is_current=True).update(is_current=False)
    snapshot.is_current = True
    snapshot.save()
    stale = MetricSnapshot.objects.order_by("-computed_at", "-id").values_list("id", flat=True)
    MetricSnapshot.objects.filter(id__in=list(stale[SNAPSHOTS_KEPT:])).delete()
    audit_record(
        actor=by,
        actor_label="" if by else str(SnapshotTrigger(trigger).label),
        action="metrics.snapshot_refreshed",
        target=snapshot,
        new={"rows": snapshot.row_count, "request_items": snapshot.source["request_items"]},
        extra={"trigger": str(trigger), "computed_at": now.isoformat()},
    )
    return snapshot


def snapshot_refresh(
    *, now: datetime | None = None, by: Any = None, trigger: str | None = None
) -> MetricSnapshot:
    """Recompute the snapshot now, atomically. ``by`` is the supervisor who pressed the button."""
    if by is not None and not by.has_perm("metrics.refresh_snapshot"):
        raise PermissionRefused("Only a supervisor can recompute the compliance figures.")
    now = now or timezone.now()
    trigger = trigger or (SnapshotTrigger.BUTTON if by is not None else SnapshotTrigger.COMMAND)
    with transaction.atomic(durable=True):
        return snapshot_build(now=now, by=by, trigger=trigger)


def snapshot_refresh_job(*, now: datetime) -> dict[str, int]:
    """The nightly periodic job ``metrics_snapshot`` (scheduling/jobs.py)."""
    snapshot = snapshot_refresh(now=now, trigger=SnapshotTrigger.NIGHTLY)
    return {
        "rows": snapshot.row_count,
        "request_items": int(snapshot.source.get("request_items", 0)),
        "duration_ms": snapshot.duration_ms,
    }
