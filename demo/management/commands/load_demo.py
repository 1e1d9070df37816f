from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from demo import dataset as data
from demo.loader import load_demo
from demo.reset import demo_breakdown, demo_counts, demo_delete, demo_is_loaded
from metrics.services import snapshot_refresh

DEFAULT_PASSWORD = "takedown-demo"  # noqa: S105 - the demo's published password
# Two `./desk run` starting at once load the demo one after the other, not twice.
ADVISORY_LOCK_KEY = 78402026


class Command(BaseCommand):
    help = (
        "Load a demo referral unit: staff, platforms, cases, ~200 items and requests over "
        "the last 12 weeks. Does nothing if it is already loaded; --reset reloads it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"Password of every demo user (default {DEFAULT_PASSWORD!r}).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo's rows (and everything attached to them) and load it again.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["reset"] and not (settings.DEBUG or settings.DEMO_DATA_ALLOWED):
            # --reset deletes rows and their audit trail: never on a production database.
            raise CommandError(
                "load_demo --reset is refused under these settings (production): it deletes "
                "data. It runs only with DEBUG or DEMO_DATA_ALLOWED=true."
            )
        try:
            # Before anything is deleted; each user's own check (similarity) follows.
            validate_password(options["password"])
        except ValidationError as exc:
            raise CommandError("Password refused: " + " ".join(exc.messages)) from exc
        with transaction.atomic(durable=True):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
            if options["reset"]:
                demo_delete()
            loaded_now = not demo_is_loaded()
            if not loaded_now:
                self.stdout.write("Demo data already loaded; nothing changed.")
            else:
                try:
                    load_demo(password=options["password"])
                except ValidationError as exc:
                    raise CommandError("Password refused: " + " ".join(exc.messages)) from exc
                seconds = time.monotonic() - started
                self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {seconds:.1f} s."))
        if loaded_now:
            # The compliance pages read the nightly snapshot; the demo does not wait a night.
            snapshot_refresh()
        self._summary(options["password"] if loaded_now else None)

    def _summary(self, password: str | None) -> None:
        write = self.stdout.write
        for label, count in demo_counts().items():
            write(f"  {label:<28} {count:>5}")
        for title, counts in demo_breakdown().items():
            write(f"  {title}: " + ", ".join(f"{key} {n}" for key, n in counts.items()))
        if password is None:
            write("Logins (with the password they were loaded with):")
        elif password == DEFAULT_PASSWORD:
            write(f"Logins (password {password}):")
        else:
            write("Logins (password as given with --password):")
        for username, role in data.USERS:
            write(f"  {username:<6} {role.value}")
