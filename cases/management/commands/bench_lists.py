"""Benchmark: staff list pages at a million rows (keyset pagination, real list querysets).

    ./desk manage bench_lists --rows 1000000

Everything runs inside one transaction that is rolled back at the end, so the
database is left exactly as it was. Prints the median time of each page query.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.http import QueryDict

from cases.filters import ItemFilter
from cases.selectors.items import ITEM_SORTS, item_list_qs
from core.pagination import _encode, _key, keyset_page
from platforms.models import Platform


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the item list's pages at N rows (default 1,000,000); leaves no data behind."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--repeat", type=int, default=5)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                self._run(options["rows"], options["repeat"])
                raise _Rollback
        except _Rollback:
            self.stdout.write("Rolled back: no rows were kept.")

    def _run(self, rows: int, repeat: int) -> None:
        started = time.perf_counter()
        self._fill(rows)
        self.stdout.write(f"Inserted {rows:,} items in {time.perf_counter() - started:.1f} s")

        scenarios: list[tuple[str, dict[str, str], str]] = [
            ("newest, page 1", {}, "newest"),
            ("newest, deep page (row 900k)", {}, "newest"),
            ("oldest, deep page", {}, "oldest"),
            ("status=approved, newest", {"status": "approved"}, "newest"),
            ("threat to life, newest", {"threat_to_life": "on"}, "newest"),
            ("by platform (nullable, mixed order), deep", {}, "platform"),
            # A substring search has no index to use (pg_trgm is not in every build we run on).
            ("search 'item/4242', newest", {"q": "item/4242"}, "newest"),
        ]
        self.stdout.write(f"{'page':45} {'median ms':>10} {'rows':>6}")
        for label, filters, sort in scenarios:
            params = QueryDict(mutable=True)
            params.update({**filters, "sort": sort})
            queryset = ItemFilter(params, queryset=item_list_qs()).qs
            ordering = ITEM_SORTS[sort]
            if "deep" in label:
                params["after"] = self._cursor_at(queryset, ordering, int(rows * 0.9))
            timings, shown = self._time(queryset, ordering, params, repeat)
            self.stdout.write(f"{label:45} {statistics.median(timings):10.1f} {shown:6}")

    def _fill(self, rows: int) -> None:
        user, _ = get_user_model().objects.get_or_create(username="bench-officer")
        reviewer, _ = get_user_model().objects.get_or_create(username="bench-supervisor")
        platform_ids = list(Platform.objects.values_list("pk", flat=True)[:20]) or [
            Platform.objects.create(name="Bench platform", kind="paste_site").pk
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO cases_item (url_submitted, url_normalised, host, platform_id,
                    category, legal_basis, assessment_note, threat_to_life, status,
                    created_by_id, reviewed_by_id, reviewed_at, review_note, created_at)
                SELECT 'https://bench.example/' || g, 'https://bench.example/item/' || g,
                    'bench.example',
                    CASE WHEN g %% 10 = 0 THEN NULL ELSE (%s::bigint[])[1 + g %% %s] END,
                    'propaganda', 'terms_of_service', '', g %% 500 = 0,
                    'pending_approval', %s, NULL, NULL, '',
                    now() - make_interval(secs => g)
                FROM generate_series(1, %s) AS g
                """,
                [platform_ids, len(platform_ids), user.pk, rows],
            )
            cursor.execute(
                "UPDATE cases_item SET status = 'approved', reviewed_by_id = %s, "
                "reviewed_at = created_at WHERE id %% 3 = 0 "
                "AND url_normalised LIKE 'https://bench.example/item/%%'",
                [reviewer.pk],
            )
            cursor.execute("ANALYZE cases_item")

    def _cursor_at(self, queryset: Any, ordering: tuple[str, ...], position: int) -> str:
        # OFFSET only to find a row deep in the list; the timed query never uses it.
        row = queryset.order_by(*ordering)[position]
        return _encode(row, [_key(queryset, name) for name in ordering])

    def _time(
        self, queryset: Any, ordering: tuple[str, ...], params: QueryDict, repeat: int
    ) -> tuple[list[float], int]:
        timings = []
        shown = 0
        for _ in range(repeat):
            started = time.perf_counter()
            result = keyset_page(queryset, ordering=ordering, params=params)
            timings.append((time.perf_counter() - started) * 1000)
            shown = len(result.rows)
        return timings, shown
