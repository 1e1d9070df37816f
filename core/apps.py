from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_role_groups(sender: AppConfig, **kwargs: Any) -> None:
    """After ``migrate``, give every role group exactly its permissions (core.roles).

    Django creates each app's permissions in its own post_migrate handler, app by
    app; waiting for the last installed app means every permission exists.
    """
    from django.apps import apps

    if sender.label != list(apps.get_app_configs())[-1].label:
        return
    from core.roles import ensure_role_groups

    ensure_role_groups()


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        post_migrate.connect(_sync_role_groups, dispatch_uid="core.sync_role_groups")
        # The row-level audit trigger on every domain table (core.audit_triggers).
        from core.audit_triggers import attach_after_migrate

        post_migrate.connect(attach_after_migrate, dispatch_uid="core.attach_audit_triggers")
        # Celery tasks name themselves to the audit trigger (core.audit_context).
        from core.audit_context import connect_task_signals

        connect_task_signals()
        from django.contrib.auth.signals import user_logged_in

        from core.middleware import session_clock_start

        user_logged_in.connect(session_clock_start, dispatch_uid="core.session_clock_start")
        # Sign-in ok / failed / locked out: one audit row each (core.signin).
        from core.signin import connect_signals

        connect_signals()
