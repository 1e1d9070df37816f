"""The production image builds and its compose health checks pass (issue 10 point 15)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def _production_env(settings_module: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        SECRET_KEY="x" * 64,
        CELERY_BROKER_URL=env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        EMAIL_URL="smtp://127.0.0.1:25",
        **extra,
    )
    # /healthz only runs SELECT 1: the server's maintenance database answers it, whatever
    # database this helper's tests use.
    server = env.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres").rsplit("/", 1)[
        0
    ]
    env["DATABASE_URL"] = f"{server}/postgres"
    return env


def test_it_collects_static_files_under_production_settings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        check=False,
        cwd=BASE_DIR,
        env=_production_env("config.settings.production", STATIC_ROOT=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "staticfiles.json").exists()


_HEALTH_PROBE = """
import django
django.setup()
from django.test import Client
response = Client().get("/healthz", HTTP_HOST="127.0.0.1:8000")
print(response.status_code)
"""


@pytest.mark.parametrize(
    "settings_module", ["config.settings.production", "config.settings.portal"]
)
def test_it_answers_the_compose_health_check_under_production_settings(
    settings_module: str,
) -> None:
    # The compose health check is urllib from inside the container: Host 127.0.0.1:8000, plain HTTP.
    result = subprocess.run(
        [sys.executable, "-c", _HEALTH_PROBE],
        check=False,
        cwd=BASE_DIR,
        env=_production_env(settings_module, ALLOWED_HOSTS="desk.example"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "200"


_COOKIE_PROBE = """
import django
django.setup()
from django.conf import settings
print(settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, settings.SESSION_COOKIE_SECURE,
      settings.CSRF_COOKIE_SECURE, settings.SESSION_COOKIE_DOMAIN, settings.CSRF_COOKIE_DOMAIN,
      settings.LANGUAGE_COOKIE_SECURE, settings.LANGUAGE_COOKIE_SAMESITE)
"""


def test_it_names_the_session_and_csrf_cookies_host_prefixed_in_production() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _COOKIE_PROBE],
        check=False,
        cwd=BASE_DIR,
        env=_production_env("config.settings.production"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "True",
        "None",
        "None",
        "True",
        "Lax",
    ]


_PORTAL_STATIC_PROBE = """
import django
django.setup()
from django.conf import settings
from django.templatetags.static import static
from django.test import Client
client = Client()
for path in ("/static/admin/css/base.css", "/static/staticfiles.json",
             "/static/rest_framework/css/default.css", static("css/desk.css")):
    response = client.get(path, HTTP_HOST="portal.example", secure=True)
    print(path.split("/")[2], response.status_code)
"""


def test_it_serves_only_the_portals_own_static_files_on_the_portal(tmp_path: Path) -> None:
    env = _production_env(
        "config.settings.portal", STATIC_ROOT=str(tmp_path), ALLOWED_HOSTS="portal.example"
    )
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        check=False,
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr[-2000:]
    result = subprocess.run(
        [sys.executable, "-c", _PORTAL_STATIC_PROBE],
        check=False,
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:4] == [
        "admin 404",
        "staticfiles.json 404",
        "rest_framework 404",
        "css 200",
    ]
