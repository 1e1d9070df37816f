"""The embedded default: private PostgreSQL, the local mail sink, and `./desk run` itself."""

from __future__ import annotations

import mailbox
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.mail import EmailMessage, get_connection
from django.db import connection

from notifications.mailsink import start_mailsink

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.django_db
def test_it_runs_on_the_embedded_postgresql_when_database_url_is_unset() -> None:
    if os.environ.get("DATABASE_URL"):
        pytest.skip(
            "this session uses DATABASE_URL; CI runs another session on the embedded server"
        )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    assert connection.settings_dict["HOST"].startswith("/")  # a private Unix socket, no port
    assert version.startswith("18")


def test_it_stores_mail_sent_over_smtp_unchanged_in_the_maildir(tmp_path: Path) -> None:
    port = free_port()
    sink = start_mailsink(directory=tmp_path / "mail", port=port)
    try:
        smtp = get_connection(
            "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port
        )
        EmailMessage(
            "[TKD-2026-000001] Removal request",
            "Zażółć gęślą jaźń",
            "referrals@iru.example",
            ["abuse@justpaste.example"],
            connection=smtp,
        ).send()
    finally:
        sink.stop()
    messages = list(mailbox.Maildir(tmp_path / "mail"))
    assert len(messages) == 1
    assert messages[0]["Subject"] == "[TKD-2026-000001] Removal request"
    # SMTP ends the data with a line break; the text itself arrives intact.
    assert messages[0].get_payload(decode=True).decode().rstrip("\r\n") == "Zażółć gęślą jaźń"


class RunningDesk:
    """`manage.py run_embedded` as a newcomer starts it, in its own data folder."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.web_port = free_port()
        self.mail_port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL"}
        }
        env |= {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DESK_VAR_DIR": str(var_dir),
            "DESK_MAILSINK_PORT": str(self.mail_port),
            "PYTHONUNBUFFERED": "1",
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_embedded", "--port", str(self.web_port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output: list[str] = []

    def wait_until_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if "Press Ctrl-C" in line:
                break
            assert time.monotonic() < deadline, "".join(self.output)
        while not port_is_open(self.web_port):
            assert self.process.poll() is None, "".join(self.output)
            assert time.monotonic() < deadline, "web server never listened"
            time.sleep(0.2)

    def get(self, path: str) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}{path}", timeout=10) as r:
            return int(r.status)

    def press_ctrl_c(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            rest, _ = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self.output.append(rest)
        return self.process.returncode


@pytest.fixture
def desk_var_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "var"


def test_it_runs_the_app_and_ctrl_c_stops_everything_it_started(desk_var_dir: Path) -> None:
    desk = RunningDesk(desk_var_dir)
    try:
        desk.wait_until_ready()
        assert desk.get("/healthz") == 200
        assert desk.get("/admin/login/") == 200
        assert port_is_open(desk.mail_port)
    finally:
        exit_code = desk.press_ctrl_c()
    output = "".join(desk.output)
    assert exit_code == 0, output
    assert "alice" in output  # the demo logins are printed
    assert not port_is_open(desk.web_port)
    assert not port_is_open(desk.mail_port)
    # The private PostgreSQL stopped too: it removes its pid file on shutdown.
    assert not (desk_var_dir / "pgdata" / "postmaster.pid").exists(), output


def test_it_reuses_the_data_on_a_second_run(desk_var_dir: Path) -> None:
    first = RunningDesk(desk_var_dir)
    first.wait_until_ready()
    first.press_ctrl_c()

    second = RunningDesk(desk_var_dir)
    try:
        second.wait_until_ready()
        assert second.get("/healthz") == 200
    finally:
        second.press_ctrl_c()
    assert "already loaded" in "".join(second.output).lower()
