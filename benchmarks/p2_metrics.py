"""P2: the 12-week per-platform compliance figures vs hand-written SQL, and the /metrics/
pages read from the snapshot (decision 0026: stored rows, the league 50 platforms a page).

Targets (issue 11): the selector <= 1.2x the hand SQL computing the same figures in the
same run; every /metrics/ page <= 100 ms at 2,000 platforms.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from benchmarks.figures import BenchContext, Figure
from benchmarks.measure import PageTimer, median_ms, rolled_back

SELECTOR_TARGET = 1.2
PAGE_TARGET_MS = 100.0

# The §5 figures per platform for requests sent since %(start)s, written by hand: the
# floor the selector (metrics.selectors.compliance_figures) is measured against.
HAND_SQL = """
SELECT r.platform_id, p.name,
    count(*) AS requested,
    count(*) FILTER (WHERE ri.outcome NOT IN ('pending', 'no_response')) AS responded,
    count(*) FILTER (WHERE ri.outcome IN ('removed', 'access_disabled', 'already_gone'))
        AS removed,
    count(*) FILTER (WHERE i.verification = 'gone') AS verified_removed,
    count(*) FILTER (WHERE ri.outcome IN ('removed', 'access_disabled', 'already_gone')
        AND ri.first_removal_at <= r.deadline
            + coalesce(%(now)s - r.clock_paused_at, interval '0')) AS removed_on_time,
    count(*) FILTER (WHERE ri.outcome = 'pending' AND r.deadline IS NOT NULL AND (
        (r.clock_paused_at IS NULL AND r.deadline < %(now)s)
        OR (r.clock_paused_at IS NOT NULL AND r.deadline < r.clock_paused_at)))
        AS overdue_open,
    percentile_cont(0.5) WITHIN GROUP (
        ORDER BY extract(epoch FROM ri.first_response_at - r.sent_at) / 3600)
        FILTER (WHERE ri.outcome NOT IN ('pending', 'no_response')) AS median_response,
    percentile_cont(0.5) WITHIN GROUP (
        ORDER BY extract(epoch FROM ri.first_removal_at - r.sent_at) / 3600)
        FILTER (WHERE ri.outcome IN ('removed', 'access_disabled', 'already_gone'))
        AS median_removal,
    count(*) FILTER (WHERE ri.outcome = 'refused_not_violating') AS r1,
    count(*) FILTER (WHERE ri.outcome = 'refused_no_jurisdiction') AS r2,
    count(*) FILTER (WHERE ri.outcome = 'unable') AS r3,
    count(*) FILTER (WHERE ri.outcome = 'needs_info') AS r4,
    count(*) FILTER (WHERE ri.outcome = 'forwarded') AS r5,
    count(*) FILTER (WHERE ri.outcome = 'restricted') AS r6
FROM cases_requestitem ri
JOIN cases_removalrequest r ON r.id = ri.request_id
JOIN platforms_platform p ON p.id = r.platform_id
JOIN cases_item i ON i.id = ri.item_id
WHERE r.sent_at IS NOT NULL AND r.sent_at >= %(start)s
GROUP BY r.platform_id, p.name
ORDER BY p.name
"""


def _hand_sql(start_at: Any, now: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(HAND_SQL, {"start": start_at, "now": now})
        return cursor.fetchall()


def _compliance(context: BenchContext) -> list[Figure]:
    from metrics.figures import MetricFilters, local_midnight
    from metrics.selectors import compliance_figures
    from metrics.services import last_weeks_start

    now = timezone.now()
    start = last_weeks_start(now)
    filters = MetricFilters(start=start)
    start_at = local_midnight(start)
    name = "12-week per-platform compliance (compliance_figures vs hand SQL)"
    selector_rows = compliance_figures(filters=filters, group_by=["platform"], now=now)
    hand_rows = _hand_sql(start_at, now)
    selector_ms = median_ms(
        lambda: compliance_figures(filters=filters, group_by=["platform"], now=now),
        context.repeat,
    )
    hand_ms = median_ms(lambda: _hand_sql(start_at, now), context.repeat)
    ratio = selector_ms / hand_ms if hand_ms else None
    same = [(f.group.get("platform"), f.requested, f.removed) for f in selector_rows] == [
        (row[0], row[2], row[4]) for row in hand_rows
    ]
    note = f"{len(selector_rows)} platforms; " + (
        "same figures as the hand SQL" if same else "FIGURES DIFFER from the hand SQL"
    )
    met = ratio is not None and ratio <= SELECTOR_TARGET and same
    return [
        Figure(
            "P2",
            name,
            round(selector_ms, 1),
            "ms",
            f"<= {SELECTOR_TARGET}x",
            met,
            floor=round(hand_ms, 1),
            queries=1,
            note=note,
        )
    ]


def _busiest_platform() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT platform_id FROM cases_removalrequest WHERE sent_at IS NOT NULL "
            "GROUP BY platform_id ORDER BY count(*) DESC LIMIT 1"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _pages(context: BenchContext) -> list[Figure]:
    busiest = _busiest_platform()
    pages = [
        ("/metrics/ league table", "/metrics/"),
        ("/metrics/ league table, niche only", "/metrics/?tier=niche"),
        (
            "/metrics/ league table, page 20 by removal rate",
            "/metrics/?sort=removal_rate&order=desc&page=20",
        ),
        ("/metrics/trends/", "/metrics/trends/"),
        ("/metrics/platforms/<busiest>/ scorecard", f"/metrics/platforms/{busiest}/"),
        ("/metrics/report/ transparency report", "/metrics/report/"),
    ]
    figures = []
    target = f"<= {PAGE_TARGET_MS:.0f} ms"
    with rolled_back(), PageTimer(context.repeat) as timer:
        floor = timer.bare()
        for name, url in pages:
            try:
                timing = timer.get(url)
            except Exception as exc:
                figures.append(
                    Figure(
                        "P2", name, None, "ms", target, None, note=f"{type(exc).__name__}: {exc}"
                    )
                )
                continue
            if timing.status != 200:
                figures.append(
                    Figure("P2", name, None, "ms", target, None, note=f"HTTP {timing.status}")
                )
                continue
            met = timing.ms <= PAGE_TARGET_MS
            note = "" if met else timing.explain_note()
            figures.append(
                Figure(
                    "P2",
                    name,
                    round(timing.ms, 1),
                    "ms",
                    target,
                    met,
                    floor=round(floor.ms, 1),
                    queries=timing.queries,
                    note=note,
                )
            )
    return figures


def measure(context: BenchContext) -> list[Figure]:
    figures: list[Figure] = []
    try:
        figures.extend(_compliance(context))
    except Exception as exc:
        figures.append(
            Figure(
                "P2",
                "12-week per-platform compliance",
                None,
                "ms",
                f"<= {SELECTOR_TARGET}x",
                None,
                note=f"{type(exc).__name__}: {exc}",
            )
        )
    figures.extend(_pages(context))
    return figures
