"""Benchmark: the item list's CSV export at a million rows runs in constant memory.

    ./desk manage bench_export --rows 1000000

Inserts the rows in one transaction, streams the real export view's response
(same filters and sort code as the list page) to /dev/null, counting bytes, and
reports time and memory: the process's peak RSS growth (``getrusage``) and the
peak of Python allocations while streaming (``tracemalloc``). Then rolls back, so
the database is left exactly as it was.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.http import StreamingHttpResponse
from django.test import RequestFactory

from platforms.models import Platform


class _Rollback(Exception):
    pass


def insert_bench_items(*, rows: int, start: int, platform_id: int, user_id: int) -> None:
    """``rows`` items numbered from ``start``, in one INSERT … SELECT (seconds, not minutes)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO cases_item (url_submitted, url_normalised, host, platform_id, category,
                legal_basis, assessment_note, threat_to_life, status, created_by_id,
                review_note, verification, created_at)
            SELECT 'https://bench-export.example/' || g,
                'https://bench-export.example/item/' || g, 'bench-export.example', %s,
                'propaganda', 'terms_of_service', '', g %% 500 = 0, 'pending_approval', %s,
                '', '', now() - make_interval(secs => g)
            FROM generate_series(%s, %s) AS g
            """,
            [platform_id, user_id, start, start + rows - 1],
        )


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


class Command(BaseCommand):
    help = "Stream the item CSV export of N rows (default 1,000,000); leaves no data behind."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=1_000_000)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                self._run(options["rows"])
                raise _Rollback
        except _Rollback:
            self.stdout.write("Rolled back: no rows were kept.")

    def _run(self, rows: int) -> None:
        from cases.views.items import item_export  # the view under test, imported late

        user, _ = get_user_model().objects.get_or_create(
            username="bench-export-analyst", defaults={"is_superuser": True}
        )
        platform = Platform.objects.create(name="Bench export platform", kind="paste_site")
        started = time.perf_counter()
        insert_bench_items(rows=rows, start=1, platform_id=platform.pk, user_id=user.pk)
        cursor = connection.cursor()
        cursor.execute("ANALYZE cases_item")
        self.stdout.write(f"Inserted {rows:,} items in {time.perf_counter() - started:.1f} s")

        # Pass 1: time and resident memory. Pass 2: Python allocations (tracemalloc
        # slows streaming down, so it does not run during the timed pass).
        rss_before = _peak_rss_bytes()
        written, lines, elapsed = self._stream(item_export, user)
        rss_growth = _peak_rss_bytes() - rss_before
        tracemalloc.start()
        self._stream(item_export, user)
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        mib = 1024 * 1024
        self.stdout.write(
            f"Streamed {lines - 1:,} rows, {written / mib:,.1f} MiB of CSV in {elapsed:.1f} s "
            f"({(lines - 1) / elapsed:,.0f} rows/s)"
        )
        self.stdout.write(f"Peak RSS growth while streaming: {rss_growth / mib:.2f} MiB")
        self.stdout.write(f"Peak Python allocations while streaming: {traced_peak / mib:.2f} MiB")

    def _stream(self, view: Any, user: Any) -> tuple[int, int, float]:
        request = RequestFactory().get("/items/export.csv")
        request.user = user
        response = view(request)
        assert isinstance(response, StreamingHttpResponse)
        started = time.perf_counter()
        written = lines = 0
        with Path("/dev/null").open("wb") as sink:
            for chunk in cast(Iterator[bytes], response.streaming_content):
                sink.write(chunk)
                written += len(chunk)
                lines += chunk.count(b"\n")
        return written, lines, time.perf_counter() - started
