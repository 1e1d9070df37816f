"""A periodic job with a period of seconds, for the two-beats test (tests/test_reliability.py).

Imported by the worker and beats of that test through CELERY_IMPORTS
(tests/reliability_settings.py); it adds itself to scheduling.jobs.JOBS, which
is what ``scheduling.run_job`` looks names up in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery import shared_task
from django.conf import settings

from core.models import AuditEvent
from scheduling.jobs import JOBS, PeriodicJob

PROBE = "reliability_probe"
PROBE_ACTION = "reliability.probe_ran"


def every_seconds(seconds: int):  # type: ignore[no-untyped-def]
    def period(now: datetime) -> datetime:
        start = now.astimezone(UTC).replace(microsecond=0)
        return start - timedelta(seconds=start.second % seconds)

    return period


def probe_work(*, now: datetime) -> dict[str, int]:
    """The work: one row per run, so that doubled work would show as a second row."""
    period = JOBS[PROBE].due_period(now)
    AuditEvent.objects.create(
        actor_label="reliability probe",
        action=PROBE_ACTION,
        target_type="scheduling.jobrun",
        target_id=f"{period:%H:%M:%S}",
    )
    return {"rows": 1}


JOBS[PROBE] = PeriodicJob(
    name=PROBE,
    label="Reliability probe (tests only)",
    work="tests.reliability_jobs.probe_work",
    period=every_seconds(settings.RELIABILITY_PROBE_PERIOD_SECONDS),
    tick_seconds=settings.RELIABILITY_PROBE_TICK_SECONDS,
    expected_every=timedelta(seconds=10 * settings.RELIABILITY_PROBE_PERIOD_SECONDS),
)


@shared_task(name="tests.reliability.fail")
def fail(secret: str) -> None:
    """A task that always raises, to see the worker record it for the health page."""
    raise RuntimeError("the relay refused us")
