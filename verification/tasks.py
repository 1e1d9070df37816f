"""Celery tasks: thin, ids in, a service call out.

The periodic sweep runs through scheduling.run_job (scheduling/jobs.py); the one
task here runs an officer's "Check now". Running it twice does nothing the second
time: the service skips an item checked since the check was asked for.
"""

from __future__ import annotations

from celery import shared_task

from verification import services


@shared_task(name="verification.check_item", ignore_result=True)
def check_item(item_id: int, requested_at: str) -> int | None:
    check = services.item_check_run(item_id=item_id, requested_at=requested_at)
    return check.pk if check is not None else None
