"""P3: bulk intake (cases.services.intake.items_refer_bulk) of new URLs on known platforms.

Targets (issue 11): >= 10,000 URLs/s and <= 500 MB peak. The floor is normalisation
alone (canonical_url on the same URLs, no database), the Python ceiling of the intake.
Every intake runs in a transaction that is rolled back.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection

from benchmarks.figures import BenchContext, Figure
from benchmarks.measure import rolled_back
from core.roles import Role, ensure_role_groups

RATE_TARGET = 10_000
MEMORY_TARGET_MB = 500
BATCHES = 4


def _urls(count: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT domain FROM platforms_platformdomain ORDER BY id LIMIT 500")
        domains = [row[0] for row in cursor.fetchall()] or ["bench-intake.example"]
    return [
        f"https://www.{domains[n % len(domains)]}/bench-intake/{n}?utm_source=feed#top"
        for n in range(count)
    ]


def _officer() -> Any:
    user, _ = get_user_model().objects.get_or_create(username="bench-intake-officer")
    user.groups.add(ensure_role_groups()[Role.OFFICER])
    return user


def _intake(urls: list[str], batch: int) -> None:
    from cases.services.intake import IntakeLine, items_refer_bulk

    officer = _officer()
    for start in range(0, len(urls), batch):
        lines = [
            IntakeLine(number=n + 1, text=url, extract=False)
            for n, url in enumerate(urls[start : start + batch])
        ]
        items_refer_bulk(lines=lines, referred_by=officer)


def measure(context: BenchContext) -> list[Figure]:
    from cases.services.intake import MAX_URLS
    from platforms.canonical import canonical_url

    # 20,000 URLs at a million items; fewer on a small database (tests), at least 1,000.
    urls = _urls(min(MAX_URLS * BATCHES, max(1_000, context.items // 50)))
    figures: list[Figure] = []
    started = time.perf_counter()
    for url in urls:
        canonical_url(url)
    floor_rate = len(urls) / (time.perf_counter() - started)
    name = f"bulk intake, {len(urls):,} new URLs in pastes of {MAX_URLS:,}"
    try:
        with rolled_back():
            started = time.perf_counter()
            _intake(urls, MAX_URLS)
            rate = len(urls) / (time.perf_counter() - started)
        figures.append(
            Figure(
                "P3",
                name,
                round(rate),
                "URLs/s",
                f">= {RATE_TARGET:,}/s",
                rate >= RATE_TARGET,
                floor=round(floor_rate),
                note="floor: canonical_url alone on the same URLs (no database)",
            )
        )
    except Exception as exc:
        figures.append(
            Figure("P3", name, None, "URLs/s", f">= {RATE_TARGET:,}/s", None, note=repr(exc))
        )
    figures.append(_api_call(urls))
    memory_name = f"bulk intake peak Python memory ({len(urls):,} URLs, tracemalloc)"
    try:
        with rolled_back():
            tracemalloc.start()
            try:
                _intake(urls, MAX_URLS)
                _current, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        peak_mb = peak / 1e6
        figures.append(
            Figure(
                "P3",
                memory_name,
                round(peak_mb, 1),
                "MB",
                f"<= {MEMORY_TARGET_MB} MB",
                peak_mb <= MEMORY_TARGET_MB,
            )
        )
    except Exception as exc:
        figures.append(
            Figure("P3", memory_name, None, "MB", f"<= {MEMORY_TARGET_MB} MB", None, note=repr(exc))
        )
    return figures


def _api_call(urls: list[str]) -> Figure:
    """One ``POST /api/v1/items/bulk/`` of API_BULK_MAX_URLS new URLs, through the whole
    Django stack (token, JSON, per-line answer), rolled back like the rest."""
    from django.conf import settings
    from django.test import Client

    from api.services import api_token_issue

    count = min(settings.API_BULK_MAX_URLS, len(urls))
    name = f"bulk intake through the API, one call of {count:,} URLs"
    body = {"urls": urls[:count], "category": "propaganda", "legal_basis": "terms_of_service"}
    try:
        with rolled_back():
            officer = _officer()
            secret = api_token_issue(user=officer, name="bench", by=officer).secret
            client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_HOST="127.0.0.1")
            started = time.perf_counter()
            response = client.post(
                "/api/v1/items/bulk/", data=body, content_type="application/json"
            )
            seconds = time.perf_counter() - started
            created = response.json()["counts"]["created"] if response.status_code == 200 else 0
        rate = count / seconds
        return Figure(
            "P3", name, round(rate), "URLs/s", f">= {RATE_TARGET:,}/s",
            rate >= RATE_TARGET and created == count,
            note=f"HTTP {response.status_code}, {created:,} created in {seconds:.2f} s",
        )  # fmt: skip
    except Exception as exc:
        return Figure("P3", name, None, "URLs/s", f">= {RATE_TARGET:,}/s", None, note=repr(exc))
