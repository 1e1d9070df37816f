"""Measure the desk at scale and write docs/benchmarks.md (issue 11).

    ./desk manage benchmark                                  # every section, printed
    ./desk manage benchmark --only P1,Search --repeat 3
    ./desk manage benchmark --write docs/benchmarks.md --label after

Run it against a database filled by generate_scale. Measurements leave the database as
they found it (rolled-back transactions, or their own rows deleted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmarks.report import (
    MODULES,
    database_sizes,
    markdown_block,
    run_sections,
    write_report,
)


class Command(BaseCommand):
    help = "Measure P1-P7 and Search against the generated database; print and write a report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--only", default="", help="Sections to run, comma-separated, e.g. P1,P2,Search."
        )
        parser.add_argument("--repeat", type=int, default=5, help="Timed runs per figure.")
        parser.add_argument("--write", default="", help="Markdown file to write the table into.")
        parser.add_argument(
            "--label",
            default="latest",
            help="Name of this run's block in the file (a block of another name is kept).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sections = {name for name, _module in MODULES}
        only = {part.strip() for part in options["only"].split(",") if part.strip()}
        unknown = {part for part in only if part.lower() not in {s.lower() for s in sections}}
        if unknown:
            raise CommandError(
                f"Unknown section(s) {', '.join(sorted(unknown))}; "
                f"choose from {', '.join(sections)}."
            )
        if not options["label"].replace("-", "").replace("_", "").isalnum():
            raise CommandError("--label takes letters, digits, - and _ only.")
        context = database_sizes()
        context.repeat = max(1, options["repeat"])
        context.only = only
        self.stdout.write(
            f"Data: {context.items:,} items, {context.platforms:,} platforms, "
            f"{context.requests:,} requests"
        )
        figures = run_sections(context, log=self.stdout.write)
        met = sum(1 for f in figures if f.met is True)
        missed = sum(1 for f in figures if f.met is False)
        unknown_count = sum(1 for f in figures if f.met is None)
        self.stdout.write(f"{met} met, {missed} missed, {unknown_count} unknown.")
        if options["write"]:
            path = Path(options["write"])
            write_report(path, markdown_block(figures, context, options["label"]), options["label"])
            self.stdout.write(self.style.SUCCESS(f"Wrote {path}."))
