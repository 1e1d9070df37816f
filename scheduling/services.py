"""Writes of the scheduling app: recording a failed Celery task for the health page."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from portal.logfilters import redact_portal_tokens
from scheduling.models import TaskFailure

TASK_FAILURE_MESSAGE_MAX_LENGTH = 1000


def task_failure_record(
    *,
    task_name: str,
    task_id: str,
    exception: BaseException,
    hostname: str = "",
    now: datetime | None = None,
) -> TaskFailure:
    """Store that a task raised. The message is cut short and portal tokens are redacted."""
    message = redact_portal_tokens(str(exception))[:TASK_FAILURE_MESSAGE_MAX_LENGTH]
    return TaskFailure.objects.create(
        task_name=task_name[:200],
        task_id=(task_id or "")[:200],
        exception_type=type(exception).__name__[:200],
        message=message,
        hostname=hostname[:200],
        occurred_at=now or timezone.now(),
    )
