"""Search: the item and platform search pages at 1 M items, <= 100 ms (issue 11)."""

from __future__ import annotations

from django.db import connection

from benchmarks.figures import BenchContext, Figure
from benchmarks.measure import PageTimer, rolled_back

TARGET_MS = 100.0


def _an_item_path() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM cases_item")
        (newest,) = cursor.fetchone()
    # A rare term: the path of one item from the middle of the table.
    return f"post/{(newest or 2) // 2}"


def measure(context: BenchContext) -> list[Figure]:
    searches = [
        ("item search, a common term ('post/4242')", "/items/?q=post/4242"),
        (f"item search, a rare term ('{_an_item_path()}')", f"/items/?q={_an_item_path()}"),
        ("item search by host ('p00042.scale')", "/items/?q=p00042.scale"),
        ("platform search by name or domain ('p01234')", "/platforms/?q=p01234"),
        ("platform search, common term ('platform 01')", "/platforms/?q=platform+01"),
    ]
    figures = []
    target = f"<= {TARGET_MS:.0f} ms"
    with rolled_back(), PageTimer(context.repeat) as timer:
        floor = timer.bare()
        for name, url in searches:
            try:
                timing = timer.get(url)
            except Exception as exc:
                figures.append(Figure("Search", name, None, "ms", target, None, note=repr(exc)))
                continue
            if timing.status != 200:
                figures.append(
                    Figure("Search", name, None, "ms", target, None, note=f"HTTP {timing.status}")
                )
                continue
            met = timing.ms <= TARGET_MS
            figures.append(
                Figure(
                    "Search",
                    name,
                    round(timing.ms, 1),
                    "ms",
                    target,
                    met,
                    floor=round(floor.ms, 1),
                    queries=timing.queries,
                    note="" if met else timing.explain_note(),
                )
            )
    return figures
