"""P6: verification checks per second against a local HTTP server, per-host limit kept
(issue 11: >= 500 checks/s).

The same set-up as ``./desk manage bench_verification``: verification.testing's site server
in its own process on 127.0.0.1, a realistic mix of live, gone, redirected, soft-404, slow
and reset URLs over fake host names that reach loopback through the checker's resolver
hook only. Nothing is written to the database. The figure is met only if the per-host cap
held as the server saw it, and every URL got the verdict its kind should get.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from typing import Any

from benchmarks.figures import BenchContext, Figure

RATE_TARGET = 500.0
URLS = 2_000
HOSTS = 40


def _run(count: int, hosts: int, **overrides: Any) -> tuple[float, dict[str, Any], int, int]:
    from verification.checker import CheckerConfig, check_urls
    from verification.management.commands.bench_verification import Command
    from verification.network import static_resolver
    from verification.testing import serve_until_stopped

    config = CheckerConfig.from_settings(allow_loopback=True, **overrides)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=serve_until_stopped,
        args=(theirs, {"slow_seconds": 0.5, "latency_seconds": 0.0}),
    )
    process.start()
    try:
        port = ours.recv()
        expected = Command()._urls(port, count, hosts)
        names = {host for host, *_ in expected.values()}
        resolver = static_resolver(dict.fromkeys(names, "127.0.0.1"))
        started = time.perf_counter()
        results, _stats = check_urls(list(expected), config=config, resolver=resolver)
        seconds = time.perf_counter() - started
        ours.send("stop")
        seen = ours.recv()
    finally:
        process.join(timeout=10)
    wrong = sum(
        1
        for url, (_, _, classification, reason) in expected.items()
        if (got := results.get(url)) is None
        or (got.classification, got.reason) != (classification, reason)
    )
    per_host = max(seen["max_per_host"].values()) if seen["max_per_host"] else 0
    return len(results) / seconds, seen, wrong, per_host


def measure(context: BenchContext) -> list[Figure]:
    from verification.checker import CheckerConfig

    logging.getLogger("httpx").setLevel(logging.WARNING)
    config = CheckerConfig.from_settings(allow_loopback=True)
    try:
        rate, _seen, wrong, per_host = _run(URLS, HOSTS)
    except Exception as failure:
        return [
            Figure(
                section="P6",
                name="verification checks against a local HTTP server",
                value=None,
                unit="/s",
                target=f">= {RATE_TARGET:g}/s",
                met=None,
                note=f"could not run: {failure!r}",
            )
        ]
    limit_kept = per_host <= config.per_host
    return [
        Figure(
            section="P6",
            name=(
                f"verification, {URLS:,} URLs over {HOSTS} hosts (global cap "
                f"{config.max_concurrency}, {config.per_host} per host)"
            ),
            value=round(rate, 1),
            unit="/s",
            target=f">= {RATE_TARGET:g}/s",
            met=rate >= RATE_TARGET and limit_kept and wrong == 0,
            note=(
                f"server saw at most {per_host} in flight per host (limit {config.per_host}"
                f"{', kept' if limit_kept else ', EXCEEDED'}); wrong verdicts: {wrong}; "
                "5% of the URLs answer after 500 ms (slow sites), which caps the rate at "
                f"about {config.max_concurrency} / (0.05 x 0.5 s) = "
                f"{config.max_concurrency / 0.025:.0f}/s with this global cap"
            ),
        )
    ]
