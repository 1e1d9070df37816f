"""``./desk run``: Takedown Desk on its embedded default, in one terminal.

Starts (or reuses) the private PostgreSQL, applies migrations and the demo data,
then runs the web server, a Celery worker with beat, and the local SMTP sink as
child processes. Ctrl-C stops all of them; the data stays in ``var/`` for the
next run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

STOP_GRACE_SECONDS = 15


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class Command(BaseCommand):
    help = "Run the app on its embedded default with demo data (web, worker+beat, mail sink)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data.")
        parser.add_argument(
            "--demo-password", default="takedown-demo", help="Password of the demo logins."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        mail_port = int(getattr(settings, "EMAIL_PORT", 8025))
        for what, p in (("web server", port), ("mail sink", mail_port)):
            if not _port_is_free(host, p):
                raise CommandError(
                    f"Port {p} for the {what} is in use. Is Takedown Desk already running? "
                    "Choose another with --port (web) or DESK_MAILSINK_PORT (mail)."
                )

        call_command("migrate", interactive=False, verbosity=0)
        if not options["no_demo"]:
            call_command("load_demo", password=options["demo_password"])

        manage = [sys.executable, "manage.py"]
        children = {
            "mail sink": [*manage, "mailsink", "--host", host, "--port", str(mail_port)],
            "worker+beat": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--beat",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
            "web": [*manage, "runserver", f"{host}:{port}", "--noreload"],
        }
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # Portal links in the emails must point at this server unless told otherwise.
        env.setdefault("PORTAL_BASE_URL", f"http://{host}:{port}")
        processes: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, argv in children.items():
                # Own process group: Ctrl-C reaches us, and we stop children in order.
                processes[name] = subprocess.Popen(
                    argv, cwd=settings.BASE_DIR, env=env, start_new_session=True
                )
            self._announce(host, port, options)
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"The {name} stopped (exit {process.returncode}).")
                        stopping = True
                time.sleep(0.5)
        finally:
            self._stop_all(processes)

    def _announce(self, host: str, port: int, options: dict[str, Any]) -> None:
        lines = [
            "",
            f"Takedown Desk is running: http://{host}:{port}/",
            f"  mail sent by the app lands in {getattr(settings, 'MAILSINK_DIR', 'EMAIL_URL')}",
            f"  data lives in {settings.VAR_DIR} (kept between runs)",
        ]
        if not options["no_demo"]:
            lines += [
                f"  demo logins (password {options['demo_password']!r}):",
                "    alice, bob (officers) · carol, dave (supervisors) · erin (analyst) · admin",
            ]
        lines += ["Press Ctrl-C to stop everything.", ""]
        self.stdout.write("\n".join(lines))

    def _stop_all(self, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        # SIGINT, as a terminal's Ctrl-C would: Python then exits normally and runs
        # its exit handlers (each child releases its handle on the database).
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, process in processes.items():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"The {name} did not stop in time; killing it.")
                process.kill()
                process.wait()
        self.stdout.write("Stopped. The embedded PostgreSQL stops with this process.")
