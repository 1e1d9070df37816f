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
