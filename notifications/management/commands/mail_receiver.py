"""Run the inbound SMTP receiver: ``manage.py mail_receiver --host 0.0.0.0 --port 2525``."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.inbound.receiver import receiver_controller


class Command(BaseCommand):
    help = "Receive replies by SMTP and store them through mail_ingest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        controller = receiver_controller(host=host, port=port)
        controller.start()
        self.stdout.write(f"Receiving mail on {host}:{port}; Ctrl-C to stop.")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        try:
            stop.wait()
        finally:
            controller.stop()
