"""Reads for the system health page: a fixed number of queries, whatever the history holds."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

from django.db.models import Count, Min, Q
from django.utils import timezone

from notifications.models import OutboundEmail, OutboundEmailState
from scheduling.jobs import JOBS, PeriodicJob
from scheduling.models import JobOutcome, JobRun, TaskFailure
from scheduling.queues import QueueLength, broker_queue_length

logger = logging.getLogger(__name__)

RECENT_LIMIT = 20


class JobHealth:
    OK = "ok"
    FAILED = "failed"
    LATE = "late"
    RUNNING = "running"
    NEVER = "never"


@dataclass(frozen=True)
class JobStatus:
    job: PeriodicJob
    last_run: JobRun | None
    last_success: JobRun | None
    # One of JobHealth: what the page shows first.
    health: str

    @property
    def duration_seconds(self) -> float | None:
        run = self.last_run
        if run is None or run.finished_at is None:
            return None
        return (run.finished_at - run.started_at).total_seconds()

    @property
    def summary_items(self) -> list[tuple[str, Any]]:
        return sorted((self.last_run.summary or {}).items()) if self.last_run else []


@dataclass(frozen=True)
class MailHealth:
    failed: list[OutboundEmail]
    failed_count: int
    backlog: int
    oldest_waiting_since: datetime | None


@dataclass(frozen=True)
class SystemHealth:
    now: datetime
    jobs: list[JobStatus]
    queue: QueueLength
    task_failures: list[TaskFailure]
    mail: MailHealth
    # None when the verification app cannot tell (not installed yet, or it failed).
    verification_backlog: int | None

    @property
    def problems(self) -> int:
        bad = {JobHealth.FAILED, JobHealth.LATE}
        return sum(1 for status in self.jobs if status.health in bad)


def _latest_per_job(runs: Any) -> dict[str, JobRun]:
    # PostgreSQL's DISTINCT ON: one row per job, the newest; one query for all jobs.
    latest = runs.order_by("job", "-started_at", "-id").distinct("job")
    return {run.job: run for run in latest}


def _health(job: PeriodicJob, last: JobRun | None, success: JobRun | None, now: datetime) -> str:
    if last is None:
        return JobHealth.NEVER
    if last.outcome == JobOutcome.FAILED:
        return JobHealth.FAILED
    if success is None or success.started_at < now - job.expected_every:
        # No success within the interval: beat or every worker is down, or a run
        # hangs (a run still "running" this long counts as late, not as running).
        return JobHealth.LATE
    if last.outcome == JobOutcome.RUNNING:
        return JobHealth.RUNNING
    return JobHealth.OK


def job_statuses(*, now: datetime) -> list[JobStatus]:
    """Each job in JOBS with its last run and last success. Two queries."""
    names = list(JOBS)
    runs = JobRun.objects.filter(job__in=names)
    last_runs = _latest_per_job(runs)
    last_successes = _latest_per_job(runs.filter(outcome=JobOutcome.SUCCEEDED))
    statuses = []
    for name, job in JOBS.items():
        last, success = last_runs.get(name), last_successes.get(name)
        statuses.append(JobStatus(job, last, success, _health(job, last, success, now)))
    return statuses


def mail_health() -> MailHealth:
    """Failed outgoing emails (newest first) and the waiting backlog. Two queries."""
    waiting = Q(state__in=[OutboundEmailState.PENDING, OutboundEmailState.SENDING])
    counts = OutboundEmail.objects.aggregate(
        failed_count=Count("id", filter=Q(state=OutboundEmailState.FAILED)),
        backlog=Count("id", filter=waiting),
        oldest=Min("created_at", filter=waiting),
    )
    failed = list(
        OutboundEmail.objects.filter(state=OutboundEmailState.FAILED)
        .select_related("request")
        .only(
            "id",
            "to_address",
            "subject",
            "last_error",
            "attempts",
            "created_at",
            "request__id",
            "request__reference",
        )
        .order_by("-created_at", "-id")[:RECENT_LIMIT]
    )
    return MailHealth(
        failed=failed,
        failed_count=counts["failed_count"],
        backlog=counts["backlog"],
        oldest_waiting_since=counts["oldest"],
    )


def verification_backlog(*, now: datetime) -> int | None:
    """Imported lazily: the verification app is a lower layer, but may not offer this yet."""
    try:
        selectors = import_module("verification.selectors")
        count = selectors.verification_backlog_count
    except (ImportError, AttributeError):
        return None
    try:
        return int(count(now=now))
    except Exception:  # the page must render even when one panel cannot
        logger.exception("Health page: the verification backlog could not be read")
        return None


def system_health(*, now: datetime | None = None) -> SystemHealth:
    now = now or timezone.now()
    return SystemHealth(
        now=now,
        jobs=job_statuses(now=now),
        queue=broker_queue_length(),
        task_failures=list(TaskFailure.objects.all()[:RECENT_LIMIT]),
        mail=mail_health(),
        verification_backlog=verification_backlog(now=now),
    )
