"""Recompute every item's canonical URL and host with today's rules.

    ./desk manage renormalise_items [--dry-run] [--batch-size 1000]

Items that would become the same URL are listed (ids and URLs) and left unchanged: a person
decides how to merge them. Exit status 0 either way; the list is the work to do.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.services.renormalise import BATCH_SIZE, items_renormalise


class Command(BaseCommand):
    help = "Recompute items' canonical URLs and hosts; report (never merge) items that clash."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Report only; change nothing.")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["batch_size"] <= 10_000:
            raise CommandError("--batch-size must be between 1 and 10000.")
        dry_run = options["dry_run"]
        report = items_renormalise(dry_run=dry_run, batch_size=options["batch_size"])
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"{report.checked} items checked; {len(report.changed)} {verb}.")
        for change in report.changed:
            self.stdout.write(f"  item {change.item_id}: {change.old_url} -> {change.new_url}")
        if report.clashes:
            self.stdout.write(
                f"{len(report.clashes)} clashes: these items are the same content; "
                "left unchanged, merge them by hand:"
            )
        for clash in report.clashes:
            self.stdout.write(f"  {clash.canonical}")
            for pk, url in clash.items:
                self.stdout.write(f"    item {pk}: {url}")
        for pk, url, reason in report.unreadable:
            self.stdout.write(f"  item {pk} left as it is ({reason}): {url}")
