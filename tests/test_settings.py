"""Production settings: strict about secrets and services; the deploy checks pass."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DATABASE_URL": "postgres://desk@127.0.0.1:5432/desk",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp://127.0.0.1:25",
    "ALLOWED_HOSTS": "desk.unit.example",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_passes_the_deploy_checks_under_production_settings() -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION_ENV,
        SECRET_KEY=secrets.token_urlsafe(64),
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_in_production_without_a_real_secret_key() -> None:
    result = manage("check", **PRODUCTION_ENV, SECRET_KEY="embedded-demo-key-not-for-production")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_refuses_to_start_in_production_without_a_database_url() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DATABASE_URL"}
    result = manage("check", **env, SECRET_KEY=secrets.token_urlsafe(64))

    assert result.returncode != 0
    assert "DATABASE_URL must be set" in result.stderr


def database_setting(url: str) -> str:
    code = (
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    )
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        **{**PRODUCTION_ENV, "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(64)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_it_keeps_database_connections_open_and_checks_them_before_reuse() -> None:
    # A new PostgreSQL backend per request costs ~30 ms of server CPU (decision 0030).
    assert database_setting(PRODUCTION_ENV["DATABASE_URL"]) == "60 True"


def test_the_database_url_can_turn_persistent_connections_off() -> None:
    assert database_setting(PRODUCTION_ENV["DATABASE_URL"] + "?conn_max_age=0") == "0 True"
