"""Benchmark: verification throughput against a local HTTP server.

    ./desk manage bench_verification --urls 2000 [--hosts 20] [--latency-ms 50] [--store]

Starts verification.testing.SiteServer on 127.0.0.1 and checks a mix of live,
404, 410, redirect-to-front-page, soft-404, redirect-chain, slow and reset URLs
spread over fake host names. The names reach 127.0.0.1 only through the
checker's resolver hook, passed here explicitly (with loopback allowed for this
checker alone); production checks use the system resolver and refuse loopback.

Prints checks per second, the concurrency seen per host (by the server, from the
Host header, and by the checker), and whether each URL got the verdict its kind
should get. With --store the results are also written through url_check_record
for throw-away items inside a transaction that is rolled back.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import Counter
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from cases.models import Item, ItemStatus
from verification.checker import CheckerConfig, CheckResult, check_urls
from verification.network import static_resolver
from verification.services import url_check_record
from verification.testing import serve_until_stopped

# (kind, share of URLs, path template, expected classification, expected reason)
MIX: list[tuple[str, int, str, str, str]] = [
    ("live", 50, "/live/{n}", "live", "200"),
    ("404", 10, "/gone404/{n}", "gone", "404"),
    ("410", 5, "/gone410/{n}", "gone", "410"),
    ("front page", 10, "/moved/{n}", "gone", "redirect to front page"),
    ("soft 404", 10, "/missing/{n}", "gone", "soft 404: same body as probe"),
    ("2 redirects", 8, "/chain/2/{n}", "live", "200"),
    ("slow", 5, "/slow/{n}", "live", "200"),
    ("reset", 2, "/reset/{n}", "unknown", "connection reset"),
]


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Check N URLs against a local HTTP server and print checks per second."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--urls", type=int, default=2000)
        parser.add_argument("--hosts", type=int, default=20)
        parser.add_argument("--latency-ms", type=float, default=0.0)
        parser.add_argument("--slow-ms", type=float, default=500.0)
        parser.add_argument("--concurrency", type=int, default=None)
        parser.add_argument("--store", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
        overrides: dict[str, Any] = {"allow_loopback": True}
        if options["concurrency"]:
            overrides["max_concurrency"] = options["concurrency"]
        config = CheckerConfig.from_settings(**overrides)
        # The server runs in its own process, as a real site would: in ours its
        # threads would compete with the checker for the GIL and the figure would halve.
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        server_options = {
            "slow_seconds": options["slow_ms"] / 1000,
            "latency_seconds": options["latency_ms"] / 1000,
        }
        process = context.Process(target=serve_until_stopped, args=(theirs, server_options))
        process.start()
        try:
            port = ours.recv()
            expected = self._urls(port, options["urls"], options["hosts"])
            names = {host for host, *_ in expected.values()}
            resolver = static_resolver(dict.fromkeys(names, "127.0.0.1"))
            started = time.perf_counter()
            results, stats = check_urls(list(expected), config=config, resolver=resolver)
            seconds = time.perf_counter() - started
            ours.send("stop")
            seen = ours.recv()
        finally:
            process.join(timeout=10)
        server_max, server_total = seen["max_per_host"], seen["max_total"]

        self._report(expected, results, seconds, config, options)
        self.stdout.write(
            f"requests {stats.requests} (retries {stats.retries}, probes {stats.probes}); "
            f"in flight at most {stats.max_in_flight} overall (server saw {server_total})"
        )
        self.stdout.write(
            f"per host at most: checker {max(stats.max_in_flight_per_host.values())}, "
            f"server {max(server_max.values())} (limit {config.per_host}) over {len(names)} hosts"
        )
        if options["store"]:
            self._store(results)

    def _urls(self, port: int, count: int, hosts: int) -> dict[str, tuple[str, str, str, str]]:
        """url -> (host, kind, expected classification, expected reason)."""
        weights = [share for _, share, *_ in MIX]
        expected: dict[str, tuple[str, str, str, str]] = {}
        for n in range(count):
            kind, _, path, classification, reason = MIX[_pick(n, weights)]
            prefix = "soft" if kind == "soft 404" else "site"
            host = f"{prefix}-{n % hosts}.bench.example"
            url = f"http://{host}:{port}{path.format(n=n)}"
            expected[url] = (host, kind, classification, reason)
        return expected

    def _report(
        self,
        expected: dict[str, tuple[str, str, str, str]],
        results: dict[str, CheckResult],
        seconds: float,
        config: CheckerConfig,
        options: dict[str, Any],
    ) -> None:
        self.stdout.write(
            f"{len(results)} checks in {seconds:.2f} s = {len(results) / seconds:.0f} checks/s "
            f"(global cap {config.max_concurrency}, {config.per_host} per host, "
            f"latency {options['latency_ms']:.0f} ms, slow {options['slow_ms']:.0f} ms)"
        )
        kinds: Counter[str] = Counter()
        wrong: Counter[str] = Counter()
        for url, (_, kind, classification, reason) in expected.items():
            kinds[kind] += 1
            got = results.get(url)
            if got is None or (got.classification, got.reason) != (classification, reason):
                wrong[kind] += 1
        for kind, total in kinds.items():
            self.stdout.write(f"  {kind:12} {total:6}  wrong verdicts: {wrong[kind]}")

    def _store(self, results: dict[str, CheckResult]) -> None:
        try:
            with transaction.atomic():
                user, _ = get_user_model().objects.get_or_create(username="bench-verification")
                items = Item.objects.bulk_create(
                    Item(
                        url_submitted=url,
                        url_normalised=url,
                        host="bench.example",
                        created_by=user,
                        status=ItemStatus.PENDING_APPROVAL,
                    )
                    for url in results
                )
                started = time.perf_counter()
                for item in items:
                    url_check_record(item=item, result=results[item.url_normalised])
                seconds = time.perf_counter() - started
                self.stdout.write(
                    f"stored {len(items)} checks in {seconds:.2f} s = "
                    f"{len(items) / seconds:.0f} records/s (row lock + insert + item update)"
                )
                raise _Rollback
        except _Rollback:
            self.stdout.write("Rolled back: no rows were kept.")


def _pick(n: int, weights: list[int]) -> int:
    """A deterministic spread of kinds: position n within each block of sum(weights)."""
    slot = (n * 37) % sum(weights)
    for index, weight in enumerate(weights):
        if slot < weight:
            return index
        slot -= weight
    return len(weights) - 1
