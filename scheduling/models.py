"""Runs of the periodic jobs: one row per job and period, so two beats never double a job.

A job claims its period by inserting ``(job, period_start)``; the unique key
makes the second claim fail, whichever beat, worker or host it comes from.
The same rows feed the system health page (last run, outcome, error).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.choices import CachedChoiceLabels


class JobOutcome(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class JobRun(CachedChoiceLabels, models.Model):
    job = models.CharField(max_length=100)
    # The start of the period this run is for (a minute, a night, an ISO week).
    period_start = models.DateTimeField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=16, choices=JobOutcome.choices, default=JobOutcome.RUNNING
    )
    # What the job did, in its own words (counts), for the health page.
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    hostname = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [("run_job_now", "Can run a periodic job now, outside its schedule")]
        constraints = [
            models.UniqueConstraint(fields=["job", "period_start"], name="job_run_once_per_period"),
        ]
        indexes = [
            # Health page: the latest runs of each job.
            models.Index(fields=["job", "-started_at"], name="job_run_latest_idx"),
            # Health page: recent failures.
            models.Index(
                fields=["-started_at"],
                condition=Q(outcome=JobOutcome.FAILED),
                name="job_run_failed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job} for {self.period_start:%Y-%m-%d %H:%M}: {self.outcome}"


class TaskFailure(models.Model):
    """A Celery task that raised, recorded from the ``task_failure`` signal for the health page.

    Only what identifies the failure is kept: the task's name and id and the
    exception. Never its arguments, which may carry addresses or message text.
    """

    task_name = models.CharField(max_length=200)
    task_id = models.CharField(max_length=200, blank=True)
    exception_type = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    hostname = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # Health page: the latest failures; pruning: the oldest.
            models.Index(fields=["-occurred_at"], name="task_failure_latest_idx"),
        ]

    def __str__(self) -> str:
        when = f"{self.occurred_at:%Y-%m-%d %H:%M}"
        return f"{self.task_name} failed at {when}: {self.exception_type}"
