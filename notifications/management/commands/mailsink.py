from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from notifications.mailsink import start_mailsink


class Command(BaseCommand):
    help = "Run the local SMTP sink of the embedded default (mail goes to a Maildir)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=getattr(settings, "EMAIL_PORT", 8025))
        parser.add_argument(
            "--maildir",
            type=Path,
            default=getattr(settings, "MAILSINK_DIR", Path(settings.BASE_DIR) / "var" / "mail"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        controller = start_mailsink(
            directory=options["maildir"], host=options["host"], port=options["port"]
        )
        self.stdout.write(
            f"SMTP sink on {options['host']}:{options['port']} → {options['maildir']}"
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
        controller.stop()
