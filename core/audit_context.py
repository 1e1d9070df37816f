"""Tell the row-level audit trigger who is acting (core.RowChange, migrations 0004, 0006).

The trigger reads three session settings: ``tkd.actor_id``, ``tkd.actor_label`` and
``tkd.context``. A request or a Celery task installs an execute wrapper that sets
them right before each writing statement and clears them afterwards, so:

* reads cost nothing: a GET page runs exactly the queries it ran before;
* the setting is issued on the driver's own cursor, outside Django's query log,
  so ``django_assert_num_queries`` counts stay as they were;
* it is set before every write, not once: PostgreSQL undoes ``set_config`` when the
  transaction that ran it rolls back, and a stale "already set" flag would then let
  the statement after a rollback go unnamed;
* the actor is decided at write time, so a sign-in POST names the user who just
  signed in, and a portal POST is "operator via portal".

Contexts never hold a portal token: ``/r/<token>/...`` becomes ``/r/…/...``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

_WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "WITH", "MERGE"})
# Session churn is not audited (AUDIT_EXCLUDED_TABLES): no round trip for it.
_UNAUDITED_MARKERS = ('"django_session"',)
# /r/<token>/ and /r/<token>/receipt/N/; /r/language/ and /r/-/... hold no token.
_PORTAL_TOKEN = re.compile(r"^/r/(?!-/|language/)[^/]+")

PORTAL_LABEL = "operator via portal"
ANONYMOUS_LABEL = "anonymous web request"
SYSTEM_LABEL = "system"

_SET_SQL = (
    "SELECT set_config('tkd.actor_id', %s, false), set_config('tkd.actor_label', %s, false), "
    "set_config('tkd.context', %s, false)"
)


def mask_path(path: str) -> str:
    return _PORTAL_TOKEN.sub("/r/…", path)


def _is_write(sql: str) -> bool:
    head = sql.lstrip()[:80]
    verb = head.split(None, 1)[0].upper() if head else ""
    return verb in _WRITE_VERBS and not any(marker in head for marker in _UNAUDITED_MARKERS)


def _raw_set(actor_id: str, label: str, context: str) -> None:
    # The driver's cursor: not in Django's query log, and not through the wrappers.
    raw = connection.connection
    if raw is None:
        return
    with raw.cursor() as cursor:
        cursor.execute(_SET_SQL, [actor_id, label, context])


class AuditActorWrapper:
    """``connection.execute_wrapper`` that names the actor before each write."""

    def __init__(self, actor: Callable[[], tuple[str, str, str]]) -> None:
        self._actor = actor
        self.dirty = False

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if _is_write(sql):
            _raw_set(*self._actor())
            self.dirty = True
        return execute(sql, params, many, context)

    def reset(self) -> None:
        """Clear the settings, so the next request on this connection names nobody."""
        if not self.dirty or connection.connection is None or connection.needs_rollback:
            return
        # A broken connection is closed by Django anyway; nothing to clear then.
        with contextlib.suppress(DatabaseError):
            _raw_set("", "", "")
        self.dirty = False


def request_actor(request: HttpRequest) -> tuple[str, str, str]:
    context = f"{request.method} {mask_path(request.path)}"
    user = request.__dict__.get("user")
    # Only a user already loaded: looking it up here would add a query to the page.
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is not empty and wrapped is not None and getattr(wrapped, "is_authenticated", False):
        return str(wrapped.pk), wrapped.get_username(), context
    if request.path.startswith("/r/"):
        return "", PORTAL_LABEL, context
    return "", ANONYMOUS_LABEL, context


class AuditActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        wrapper = AuditActorWrapper(lambda: request_actor(request))
        try:
            with connection.execute_wrapper(wrapper):
                return self.get_response(request)
        finally:
            wrapper.reset()


# Celery: one wrapper per running task on this worker thread.
_task_wrappers: dict[str, AuditActorWrapper] = {}


def _task_prerun(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    name = getattr(task, "name", "") or "task"
    wrapper = AuditActorWrapper(lambda: ("", SYSTEM_LABEL, f"task {name}"))
    connection.execute_wrappers.append(wrapper)
    _task_wrappers[task_id or name] = wrapper


def _task_postrun(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    wrapper = _task_wrappers.pop(task_id or getattr(task, "name", "") or "task", None)
    if wrapper is None:
        return
    if wrapper in connection.execute_wrappers:
        connection.execute_wrappers.remove(wrapper)
    wrapper.reset()


def connect_task_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_prerun, dispatch_uid="core.audit_task_prerun", weak=False)
    task_postrun.connect(_task_postrun, dispatch_uid="core.audit_task_postrun", weak=False)
