"""How the benchmark measures: medians of repeated runs, pages through the full Django stack,
query counts, and the EXPLAIN line that explains a slow query."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from benchmarks.urls_bench import BARE_URL
from core.roles import Role, ensure_role_groups

BENCH_USERNAME = "bench-supervisor"


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """Everything inside is undone: the benchmark leaves the database as it found it."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    timings = []
    for _ in range(max(repeat, 1)):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


@dataclass(frozen=True)
class PageTiming:
    ms: float
    queries: int
    status: int
    slowest_sql: str
    sql_ms: float = 0.0  # time in the database, all queries of one warm run

    def explain_note(self) -> str:
        """Where the page's time went: the database (with the EXPLAIN line of its slowest
        query) or Python (template rendering, forms, the ORM), whichever holds most of it."""
        python_ms = max(self.ms - self.sql_ms, 0.0)
        share = f"SQL {self.sql_ms:,.1f} ms, Python {python_ms:,.1f} ms of {self.ms:,.1f} ms"
        if python_ms > self.sql_ms:
            # An EXPLAIN line would explain nothing here: the time is not in a query.
            return f"{share}: rendering-bound (templates, forms, ORM), not a query plan"
        plan = explain_line(self.slowest_sql) if self.slowest_sql else ""
        return f"{share}; slowest: {plan}" if plan else share


class PageTimer:
    """GETs staff pages as a signed-in supervisor, as the browser would get them.

    Use inside ``rolled_back()``: signing in writes a session and last_login.
    """

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.settings = override_settings(
            ROOT_URLCONF="benchmarks.urls_bench",
            DEBUG=False,
            ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        )
        self.client = Client()

    def __enter__(self) -> PageTimer:
        self.settings.enable()
        user_model = get_user_model()
        groups: dict[Role, Group] = ensure_role_groups()
        user, _ = user_model.objects.get_or_create(username=BENCH_USERNAME)
        user.groups.add(groups[Role.SUPERVISOR])
        self.user = user
        self.client.force_login(user)
        return self

    def __exit__(self, *exc: object) -> None:
        self.settings.disable()

    def get(self, url: str) -> PageTiming:
        # A warm-up (its first queries are slower: plans, caches), one run that counts the
        # queries and their time, then the timed runs.
        self.client.get(url).content  # noqa: B018 - the whole page is rendered
        with CaptureQueriesContext(connection) as captured:
            response = self.client.get(url)
            _ = response.content
        # Read now: the timed runs' request_started signal empties the log the context reads.
        queries = list(captured.captured_queries)
        if response.status_code != 200:
            return PageTiming(0.0, len(queries), response.status_code, "")
        slowest = max(queries, key=lambda q: float(q["time"]), default=None)

        def fetch() -> None:
            self.client.get(url).content  # noqa: B018 - the whole page is rendered

        return PageTiming(
            ms=median_ms(fetch, self.repeat),
            queries=len(queries),
            status=200,
            slowest_sql=slowest["sql"] if slowest else "",
            sql_ms=sum(float(q["time"]) for q in queries) * 1000,
        )

    def bare(self) -> PageTiming:
        return self.get(BARE_URL)


def explain_line(sql: str, params: Any = None) -> str:
    """The top node of EXPLAIN (ANALYZE, BUFFERS), plus the first scan of a whole table."""
    if not sql.lstrip().upper().startswith("SELECT"):
        return ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        lines = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    if not lines:
        return ""
    parts = [lines[0].strip()]
    for line in lines[1:]:
        text = line.strip().lstrip("-> ").strip()
        if text.startswith(("Seq Scan", "Parallel Seq Scan", "Sort Method: external")):
            parts.append(text)
            break
    return " | ".join(parts)
