"""The periodic jobs, and the one function that runs a job at most once per period.

Celery beat only *ticks* (config/settings/base.py: one beat entry per job, all
calling ``scheduling.run_job``). Whether a job is due, and for which period,
is decided here from the clock and the database, so that:

- two beats started by mistake, or a tick delivered twice, run the job once
  (the period is claimed by a unique row, see ``scheduling.models.JobRun``);
- a schedule a supervisor edits in the UI (the weekly compose) takes effect
  without restarting beat;
- a beat that was down at the planned time catches up at its next tick.

Each job names its work as a dotted path to a function that takes ``now``
(keyword) and returns a dict of counts for the health page. The functions live
in the apps that own the work; they are imported lazily so that this module
does not pull every app in at start-up.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from scheduling.models import JobOutcome, JobRun, TaskFailure

logger = logging.getLogger(__name__)

ERROR_MAX_LENGTH = 4000

# period(now) -> the start of the period due now, or None when nothing is due yet.
PeriodFunction = Callable[[datetime], "datetime | None"]


def every_minutes(minutes: int) -> PeriodFunction:
    """Periods of ``minutes`` minutes, aligned on the hour (UTC)."""

    def period(now: datetime) -> datetime:
        start = now.astimezone(UTC).replace(second=0, microsecond=0)
        return start - timedelta(minutes=start.minute % minutes)

    return period


def nightly_after(hour: int) -> PeriodFunction:
    """One period per night in the unit's time zone, due from ``hour`` o'clock local time."""

    def period(now: datetime) -> datetime | None:
        local = timezone.localtime(now)
        if local.hour < hour:
            return None
        return local.replace(hour=0, minute=0, second=0, microsecond=0)

    return period


def _dotted(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    label: str
    # Dotted path to the work: ``fn(*, now) -> dict`` of counts.
    work: str
    # Dotted path to a PeriodFunction, or a PeriodFunction itself.
    period: str | PeriodFunction
    # How often beat ticks this job; also how late a run may be before the
    # health page calls the job late (twice this, or ``expected_every``).
    tick_seconds: float = 60.0
    expected_every: timedelta = timedelta(minutes=2)

    def due_period(self, now: datetime) -> datetime | None:
        period = _dotted(self.period) if isinstance(self.period, str) else self.period
        return period(now)


JOBS: dict[str, PeriodicJob] = {
    job.name: job
    for job in [
        PeriodicJob(
            name="outbound_email_sweep",
            label="Outgoing email sweeper",
            work="notifications.services.outbound_email_sweep_job",
            period=every_minutes(1),
        ),
        PeriodicJob(
            name="alert_emails",
            label="Alert emails to supervisors (threat to life)",
            work="notifications.staff_alerts.alert_emails_job",
            period=every_minutes(1),
        ),
        PeriodicJob(
            name="poll_imap_mailbox",
            label="Replies from the unit mailbox (IMAP)",
            work="notifications.services.imap_poll_job",
            period=every_minutes(2),
            tick_seconds=120.0,
            expected_every=timedelta(minutes=5),
        ),
        PeriodicJob(
            name="followup_sweep",
            label="Follow-ups, escalations and deadlines",
            work="followups.services.followups_sweep_job",
            period=every_minutes(1),
        ),
        PeriodicJob(
            name="weekly_compose",
            label="Weekly compose of draft requests",
            work="followups.services.weekly_compose_job",
            period="followups.schedule.weekly_compose_period",
            expected_every=timedelta(days=8),
        ),
        PeriodicJob(
            name="verification_sweep",
            label="Verification of removals",
            work="verification.services.verification_sweep_job",
            period=every_minutes(5),
            tick_seconds=300.0,
            expected_every=timedelta(minutes=15),
        ),
        PeriodicJob(
            name="evidence_capture",
            label="Evidence capture of new URLs",
            work="evidence.services.evidence_capture_pending_job",
            period=every_minutes(1),
        ),
        PeriodicJob(
            name="evidence_retention",
            label="Purge of evidence past its retention period",
            work="evidence.services.evidence_retention_job",
            period=nightly_after(4),
            tick_seconds=600.0,
            expected_every=timedelta(hours=26),
        ),
        PeriodicJob(
            name="metrics_snapshot",
            label="Nightly compliance metrics",
            work="metrics.services.snapshot_refresh_job",
            period=nightly_after(2),
            tick_seconds=600.0,
            expected_every=timedelta(hours=26),
        ),
        PeriodicJob(
            name="prune_job_runs",
            label="Pruning of old job runs",
            work="scheduling.jobs.job_runs_prune",
            period=nightly_after(3),
            tick_seconds=600.0,
            expected_every=timedelta(hours=26),
        ),
    ]
}


@dataclass(frozen=True)
class JobResult:
    job: str
    period_start: datetime | None
    # "not_due", "already_claimed", "succeeded" or "failed".
    status: str
    run: JobRun | None = None


def job_run(*, name: str, now: datetime | None = None, manual: bool = False) -> JobResult:
    """Run job ``name`` if its current period is due and nobody has claimed it yet.

    ``manual`` (a supervisor's "run now") runs it at once as a period of its own,
    starting at ``now``: the scheduled period is neither used up nor doubled.
    """
    job = JOBS[name]
    now = now or timezone.now()
    period_start = now if manual else job.due_period(now)
    if period_start is None:
        return JobResult(job=name, period_start=None, status="not_due")
    run = _claim(name, period_start, now)
    if run is None:
        return JobResult(job=name, period_start=period_start, status="already_claimed")
    try:
        summary = _dotted(job.work)(now=now) or {}
    except Exception as error:  # recorded on the run, shown on the health page, re-raised
        _finish(run, JobOutcome.FAILED, error=f"{type(error).__name__}: {error}")
        logger.exception("Periodic job %s failed for period %s", name, period_start)
        raise
    _finish(run, JobOutcome.SUCCEEDED, summary=summary, error=run.error)
    return JobResult(job=name, period_start=period_start, status="succeeded", run=run)


# A run still "running" after this long belonged to a worker that died (SIGKILL,
# OOM, power): the next tick takes the period over rather than losing it (a lost
# weekly compose would wait a whole week). Longer than any job may take, and than
# the broker's visibility timeout (900 s), after which Redis redelivers the tick.
STALE_RUN_AFTER = timedelta(minutes=30)


def _claim(name: str, period_start: datetime, now: datetime) -> JobRun | None:
    try:
        with transaction.atomic(durable=True):
            return JobRun.objects.create(
                job=name,
                period_start=period_start,
                started_at=now,
                hostname=socket.gethostname(),
            )
    except IntegrityError:
        # Another beat or a redelivered tick claimed this period first.
        return _take_over_stale(name, period_start, now)


def _take_over_stale(name: str, period_start: datetime, now: datetime) -> JobRun | None:
    stale = JobRun.objects.filter(
        job=name,
        period_start=period_start,
        outcome=JobOutcome.RUNNING,
        started_at__lt=now - STALE_RUN_AFTER,
    ).first()
    if stale is None:
        return None
    note = (
        f"Taken over: the run started at {stale.started_at:%Y-%m-%d %H:%M:%S} "
        f"on {stale.hostname or 'an unknown host'} never finished."
    )
    # Compare-and-swap on the old start time: of two ticks, only one takes it over.
    taken = JobRun.objects.filter(
        pk=stale.pk, outcome=JobOutcome.RUNNING, started_at=stale.started_at
    ).update(started_at=now, hostname=socket.gethostname(), error=note)
    if not taken:
        return None
    logger.warning("Periodic job %s for %s: %s", name, period_start, note)
    stale.refresh_from_db()
    return stale


def _finish(
    run: JobRun,
    outcome: JobOutcome,
    *,
    summary: dict[str, Any] | None = None,
    error: str = "",
) -> None:
    run.outcome = outcome
    run.finished_at = timezone.now()
    run.summary = _jsonable(summary or {})
    run.error = error[:ERROR_MAX_LENGTH]
    run.save(update_fields=["outcome", "finished_at", "summary", "error"])


def _jsonable(summary: dict[str, Any]) -> dict[str, Any]:
    return {str(key): value if isinstance(value, int | float | str | bool) else str(value)
            for key, value in summary.items()}  # fmt: skip


JOB_RUNS_KEEP_DAYS = 14
# Failures are kept longer: a failure is what someone comes looking for.
FAILED_JOB_RUNS_KEEP_DAYS = 90


def job_runs_prune(*, now: datetime) -> dict[str, int]:
    """Every minute's sweep leaves a row; keep two weeks of them (failures: 90 days).

    Recorded task failures are kept as long as failed runs.
    """
    ok_deleted, _ = (
        JobRun.objects.filter(started_at__lt=now - timedelta(days=JOB_RUNS_KEEP_DAYS))
        .exclude(outcome=JobOutcome.FAILED)
        .delete()
    )
    failed_deleted, _ = JobRun.objects.filter(
        started_at__lt=now - timedelta(days=FAILED_JOB_RUNS_KEEP_DAYS),
        outcome=JobOutcome.FAILED,
    ).delete()
    task_failures_deleted, _ = TaskFailure.objects.filter(
        occurred_at__lt=now - timedelta(days=FAILED_JOB_RUNS_KEEP_DAYS)
    ).delete()
    return {"deleted": ok_deleted + failed_deleted, "task_failures_deleted": task_failures_deleted}
