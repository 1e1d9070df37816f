"""The tasks beat and the health page enqueue: run a periodic job (see scheduling.jobs)."""

from __future__ import annotations

from celery import shared_task

from scheduling.jobs import job_run


@shared_task(name="scheduling.run_job", ignore_result=True)
def run_job(name: str) -> str:
    return job_run(name=name).status


@shared_task(name="scheduling.run_job_now", ignore_result=True)
def run_job_now(name: str) -> str:
    """A supervisor's "run now": a period of its own, outside the schedule."""
    return job_run(name=name, manual=True).status
