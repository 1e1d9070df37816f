"""Writes of the scheduling app: failed Celery tasks for the health page, and "run now"."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError
from portal.logfilters import redact_portal_tokens
from scheduling.jobs import JOBS
from scheduling.models import JobRun, TaskFailure

logger = logging.getLogger(__name__)

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


def job_run_request(*, name: str, by: Any) -> None:
    """A supervisor asks for a job to run now (e.g. after fixing what made it fail).

    The job runs in a worker, enqueued after commit; if the broker is down the
    request is lost, but the job still runs at its next scheduled period.
    """
    require_permission(by, "scheduling.run_job_now", "run periodic jobs by hand")
    if name not in JOBS:
        raise DomainError(f"There is no periodic job called {name!r}.")
    with transaction.atomic(durable=True):
        # The run itself does not exist yet (the worker claims it): the audit row
        # names the job, and the run appears on /system/ a moment later.
        audit_record(
            actor=by, action="scheduling.job_run_requested", target=JobRun(job=name),
            new={"job": name},
        )  # fmt: skip
        transaction.on_commit(partial(_enqueue_run_now, name), robust=True)


def _enqueue_run_now(name: str) -> None:
    from scheduling.tasks import run_job_now

    try:
        run_job_now.delay(name)
    except Exception:  # the broker is down: say so in the log; the schedule still runs it
        logger.warning("Could not enqueue a manual run of %s.", name, exc_info=True)
