"""The one task beat ticks: run a periodic job if its period is due (see scheduling.jobs)."""

from __future__ import annotations

from celery import shared_task

from scheduling.jobs import job_run


@shared_task(name="scheduling.run_job", ignore_result=True)
def run_job(name: str) -> str:
    return job_run(name=name).status
