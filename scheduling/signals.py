"""Celery's ``task_failure`` signal → a TaskFailure row, so a failing task shows on /system/.

Connected in SchedulingConfig.ready(), in every process that loads Django
(worker, beat, web). The task's arguments are never read: they may carry
addresses or message text, and the health page needs only what failed and why.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from celery.signals import task_failure

logger = logging.getLogger(__name__)


def record_task_failure(
    sender: Any = None, task_id: str | None = None, exception: BaseException | None = None,
    **_: Any,
) -> None:  # fmt: skip
    from scheduling.services import task_failure_record

    if exception is None:
        return
    name = getattr(sender, "name", None) or str(sender)
    try:
        task_failure_record(
            task_name=name,
            task_id=task_id or "",
            exception=exception,
            hostname=socket.gethostname(),
        )
    except Exception:  # the database may be what failed; the worker log still has it
        logger.warning("Could not record the failure of task %s (%s)", name, task_id, exc_info=True)


def connect() -> None:
    # weak=False: the receiver is a module function, but be explicit that it must stay.
    task_failure.connect(record_task_failure, weak=False, dispatch_uid="scheduling.task_failure")
