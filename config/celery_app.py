from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("takedown_desk")
# All Celery settings live in Django settings under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(weak=False, dispatch_uid="config.close_old_connections_prerun")
@task_postrun.connect(weak=False, dispatch_uid="config.close_old_connections_postrun")
def close_old_database_connections(task: Any = None, **kwargs: Any) -> None:
    """Around each task, what Django does around each request: close the database
    connections that are past CONN_MAX_AGE or broken, keep the others (health-checked
    before their next use when CONN_HEALTH_CHECKS is on).

    Celery's own closing is spaced out by CELERY_DB_REUSE_MAX (config.settings.base); an
    eager task runs inside its caller's transaction and is left alone, as Celery does.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
