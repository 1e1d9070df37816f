"""Benchmark: the compliance figures and the snapshot at N request items (default 1,000,000).

    ./desk manage bench_metrics --items 1000000
    ./desk manage bench_metrics --items 0      # time the data already in the database

Synthetic platforms, requests, items and request items are inserted with
``INSERT … SELECT generate_series`` inside one transaction that is rolled back
at the end, so the database is left exactly as it was. Prints the median of
``--repeat`` runs of each query.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from metrics.figures import MetricFilters
from metrics.selectors import compliance_figures, latest_snapshot, request_items_behind
from metrics.services import last_weeks_start, snapshot_build

ITEMS_PER_REQUEST = 20
PLATFORMS = 300
ACTORS = 40
SPAN_DAYS = 730


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time compliance_figures and the snapshot refresh at N request items; keeps no data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=1_000_000)
        parser.add_argument("--repeat", type=int, default=3)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                self._run(options["items"], options["repeat"])
                raise _Rollback
        except _Rollback:
            self.stdout.write("Rolled back: no rows were kept.")

    def _run(self, items: int, repeat: int) -> None:
        if items:
            started = time.perf_counter()
            self._fill(items)
            elapsed = time.perf_counter() - started
            self.stdout.write(f"Inserted {items:,} request items in {elapsed:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM cases_requestitem ri JOIN cases_removalrequest r "
                "ON r.id = ri.request_id WHERE r.sent_at IS NOT NULL"
            )
            (counted,) = cursor.fetchone()
        self.stdout.write(f"Request items of sent requests: {counted:,}")
        now = timezone.now()
        recent = last_weeks_start(now)
        everything = MetricFilters()

        def first_page() -> Any:
            return list(
                request_items_behind(filters=everything, figure="overdue_open", now=now)[:50]
            )

        scenarios: list[tuple[str, Callable[[], Any]]] = [
            ("ungrouped, all time", lambda: compliance_figures(filters=everything, now=now)),
            (
                "by platform, all time",
                lambda: compliance_figures(filters=everything, group_by=["platform"], now=now),
            ),
            (
                "by ISO week, all time",
                lambda: compliance_figures(filters=everything, group_by=["week"], now=now),
            ),
            (
                "by platform and week, all time",
                lambda: compliance_figures(
                    filters=everything, group_by=["platform", "week"], now=now
                ),
            ),
            (
                "niche, last 12 weeks, by platform",
                lambda: compliance_figures(
                    filters=MetricFilters(start=recent, tiers=("niche",)),
                    group_by=["platform"],
                    now=now,
                ),
            ),
            (
                "one platform, by week",
                lambda: compliance_figures(
                    filters=MetricFilters(platform_ids=(self._busiest_platform(),)),
                    group_by=["week"],
                    now=now,
                ),
            ),
            ("rows behind overdue_open, first 50", first_page),
            ("snapshot refresh (all scopes)", lambda: snapshot_build(now=now)),
            (
                "snapshot read: league table",
                lambda: latest_snapshot(scope="platform"),
            ),
            (
                "snapshot read: one platform, 12 weeks",
                lambda: latest_snapshot(
                    scope="platform_week",
                    platform_ids=[self._busiest_platform()],
                    since_week=recent,
                ),
            ),
        ]
        self.stdout.write(f"{'query':42} {'median ms':>10} {'rows':>7}")
        for label, run in scenarios:
            timings = []
            result: Any = None
            for _ in range(repeat):
                started = time.perf_counter()
                result = run()
                timings.append((time.perf_counter() - started) * 1000)
            if isinstance(result, list):
                size = len(result)
            elif hasattr(result, "row_count"):  # a MetricSnapshot
                size = result.row_count
            else:  # a selectors.Snapshot
                size = len(result.rows)
            self.stdout.write(f"{label:42} {statistics.median(timings):10.1f} {size:7}")

    _busiest: int | None = None

    def _busiest_platform(self) -> int:
        if self._busiest is None:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT platform_id FROM cases_removalrequest WHERE sent_at IS NOT NULL "
                    "GROUP BY platform_id ORDER BY count(*) DESC LIMIT 1"
                )
                row = cursor.fetchone()
            self._busiest = row[0] if row else 0
        return self._busiest

    def _fill(self, items: int) -> None:
        users = get_user_model().objects
        officer, _ = users.get_or_create(username="bench-metrics-officer")
        supervisor, _ = users.get_or_create(username="bench-metrics-supervisor")
        requests = max(items // ITEMS_PER_REQUEST, 1)
        first_day = timezone.localdate() - timedelta(days=SPAN_DAYS)
        with connection.cursor() as cursor:
            self._fill_platforms_and_actors(cursor)
            cursor.execute(
                """
                INSERT INTO cases_removalrequest (reference, platform_id, request_type,
                    legal_basis, state, language, threat_to_life, is_emergency, composed_by_id,
                    approved_by_id, approved_at, sent_at, deadline, original_deadline,
                    clock_paused_at, total_pause, followup_stage, notes, created_at, updated_at)
                SELECT 'TKD-9' || lpad((g / 1000000)::text, 3, '0') || '-'
                        || lpad((g %% 1000000)::text, 6, '0'),
                    p.id,
                    CASE WHEN g %% 10 = 0 THEN 'removal_order' ELSE 'referral' END,
                    CASE WHEN g %% 10 = 0 THEN 'tco_regulation' ELSE 'terms_of_service' END,
                    'sent', 'en', false, false, %(officer)s, %(supervisor)s,
                    s.sent_at, s.sent_at,
                    s.sent_at + CASE WHEN g %% 10 = 0 THEN interval '1 hour'
                                     ELSE interval '7 days' END,
                    s.sent_at + CASE WHEN g %% 10 = 0 THEN interval '1 hour'
                                     ELSE interval '7 days' END,
                    CASE WHEN g %% 97 = 0 THEN s.sent_at + interval '30 minutes' END,
                    interval '0', 0, '', s.sent_at, s.sent_at
                FROM generate_series(1, %(requests)s) AS g
                CROSS JOIN LATERAL (
                    SELECT %(first_day)s::timestamptz
                        + make_interval(secs => g * %(span)s::float8 / %(requests)s) AS sent_at
                ) AS s
                JOIN bench_platform p ON p.rn = 1 + (g * 7919) %% %(platforms)s
                """,
                {
                    "officer": officer.pk,
                    "supervisor": supervisor.pk,
                    "requests": requests,
                    "first_day": first_day,
                    "span": SPAN_DAYS * 86400,
                    "platforms": PLATFORMS,
                },
            )
            cursor.execute(
                """
                CREATE TEMP TABLE bench_request ON COMMIT DROP AS
                SELECT id, platform_id, sent_at, row_number() OVER (ORDER BY id) - 1 AS rn
                FROM cases_removalrequest WHERE reference LIKE 'TKD-9%%'
                """
            )
            cursor.execute("CREATE INDEX ON bench_request (rn)")
            # One item per request line; item g goes into request g / ITEMS_PER_REQUEST.
            cursor.execute(
                """
                INSERT INTO cases_item (url_submitted, url_normalised, host, platform_id,
                    actor_id, category, legal_basis, assessment_note, threat_to_life, status,
                    created_by_id, reviewed_by_id, reviewed_at, review_note, created_at,
                    verification, verified_at)
                SELECT 'https://bench-metrics.example/' || g,
                    'https://bench-metrics.example/item/' || g, 'bench-metrics.example',
                    r.platform_id,
                    CASE WHEN g %% 5 = 0 THEN NULL
                         ELSE (SELECT id FROM bench_actor WHERE rn = 1 + g %% %(actors)s) END,
                    'propaganda', 'terms_of_service', '', false, 'approved',
                    %(officer)s, %(supervisor)s, r.sent_at, '', r.sent_at,
                    (ARRAY['', 'gone', 'gone', 'live', 'unknown'])[1 + (g * 13) %% 5],
                    r.sent_at + interval '2 days'
                FROM generate_series(0, %(items)s - 1) AS g
                JOIN bench_request r ON r.rn = g / %(per)s
                """,
                {
                    "officer": officer.pk,
                    "supervisor": supervisor.pk,
                    "items": items,
                    "per": ITEMS_PER_REQUEST,
                    "actors": ACTORS,
                },
            )
            # Outcomes spread like the published anchors (~65 % removed, ~10 % silent).
            cursor.execute(
                """
                INSERT INTO cases_requestitem (request_id, item_id, outcome, outcome_at,
                    outcome_source, outcome_reason, first_response_at, first_removal_at)
                SELECT r.id, i.id, o.outcome,
                    CASE WHEN o.outcome <> 'pending' THEN o.answered_at END,
                    CASE WHEN o.outcome = 'pending' THEN ''
                         WHEN o.outcome = 'no_response' THEN 'system'
                         ELSE 'operator_portal' END,
                    '',
                    CASE WHEN o.outcome NOT IN ('pending', 'no_response') THEN o.answered_at END,
                    CASE WHEN o.outcome IN ('removed', 'access_disabled', 'already_gone')
                         THEN o.answered_at END
                FROM (
                    SELECT id, row_number() OVER (ORDER BY id) - 1 AS g FROM cases_item
                    WHERE url_normalised LIKE 'https://bench-metrics.example/item/%%'
                ) AS i
                JOIN bench_request r ON r.rn = i.g / %(per)s
                CROSS JOIN LATERAL (
                    SELECT CASE
                        WHEN h < 55 THEN 'removed' WHEN h < 60 THEN 'access_disabled'
                        WHEN h < 65 THEN 'already_gone' WHEN h < 72 THEN 'refused_not_violating'
                        WHEN h < 75 THEN 'refused_no_jurisdiction' WHEN h < 78 THEN 'unable'
                        WHEN h < 80 THEN 'needs_info' WHEN h < 82 THEN 'forwarded'
                        WHEN h < 85 THEN 'restricted' WHEN h < 93 THEN 'no_response'
                        ELSE 'pending' END AS outcome,
                        r.sent_at + make_interval(hours => ((i.g * 31) %% 200)::int)
                            AS answered_at
                    FROM (SELECT (i.g * 7919) %% 100 AS h) AS hash
                ) AS o
                """,
                {"per": ITEMS_PER_REQUEST},
            )
            for table in ("platforms_platform", "cases_removalrequest", "cases_item"):
                cursor.execute(f"ANALYZE {table}")
            cursor.execute("ANALYZE cases_requestitem")

    def _fill_platforms_and_actors(self, cursor: Any) -> None:
        cursor.execute(
            """
            INSERT INTO platforms_platform (name, kind, tier, architecture, country, status,
                operator_can_act, response_target_days, preferred_language, notes,
                created_at, updated_at)
            SELECT 'Bench metrics platform ' || g,
                (ARRAY['social_network', 'video', 'file_host', 'paste_site', 'messaging',
                       'forum', 'blog', 'chat_server'])[1 + g %% 8],
                CASE WHEN g %% 6 = 0 THEN 'mainstream' ELSE 'niche' END,
                (ARRAY['centralised', 'federated', 'self_hosted', 'peer_to_peer'])[1 + g %% 4],
                (ARRAY['PL', 'US', 'DE', 'NL', 'RU', 'GB', ''])[1 + g %% 7],
                'active', 'yes', 7, 'en', '', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [PLATFORMS],
        )
        cursor.execute(
            """
            CREATE TEMP TABLE bench_platform ON COMMIT DROP AS
            SELECT id, row_number() OVER (ORDER BY id) AS rn FROM platforms_platform
            WHERE name LIKE 'Bench metrics platform %%'
            """
        )
        cursor.execute(
            "INSERT INTO cases_actor (name, aliases, proscribed, notes, created_at) "
            "SELECT 'Bench metrics group ' || g, '{}', g %% 2 = 0, '', now() "
            "FROM generate_series(1, %s) AS g",
            [ACTORS],
        )
        cursor.execute(
            """
            CREATE TEMP TABLE bench_actor ON COMMIT DROP AS
            SELECT id, row_number() OVER (ORDER BY id) AS rn FROM cases_actor
            WHERE name LIKE 'Bench metrics group %%'
            """
        )
