"""Fill a fresh database with three years of a referral unit at scale (benchmarks.scale).

./desk manage generate_scale    # 1,000,000 items / 2,000 platforms / 100,000 requests
./desk manage generate_scale --items 20000 --platforms 200 --requests 2000
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmarks.scale import ScaleRefused, generate_scale


class Command(BaseCommand):
    help = (
        "Generate scale data with COPY (default 1,000,000 items, 2,000 platforms, 100,000 "
        "requests, ~1 M request lines) into a fresh database. Refused in production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=1_000_000)
        parser.add_argument("--platforms", type=int, default=2_000)
        parser.add_argument("--requests", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=11)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = generate_scale(
                items=options["items"],
                platforms=options["platforms"],
                requests=options["requests"],
                seed=options["seed"],
                log=lambda line: self.stdout.write("  " + line),
            )
        except ScaleRefused as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Scale data generated in {report.seconds:.1f} s."))
