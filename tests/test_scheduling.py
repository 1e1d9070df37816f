"""Periodic jobs: a period is claimed once, whatever ticks it; failures are recorded, not lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from celery import shared_task
from django.conf import settings

from config.celery_app import app as celery_app
from core.management.commands import run_embedded
from scheduling.jobs import JOBS, PeriodicJob, every_minutes, job_run, job_runs_prune
from scheduling.models import JobOutcome, JobRun, TaskFailure
from scheduling.signals import record_task_failure

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 7, 30, tzinfo=UTC)
CALLS: list[datetime] = []


def probe_work(*, now: datetime) -> dict[str, int]:
    CALLS.append(now)
    return {"touched": 3}


def broken_work(*, now: datetime) -> dict[str, int]:
    raise RuntimeError("relay said no")


def nothing_due(now: datetime) -> None:
    return None


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> str:
    CALLS.clear()
    job = PeriodicJob(
        name="probe", label="Probe", work="tests.test_scheduling.probe_work",
        period=every_minutes(5),
    )  # fmt: skip
    monkeypatch.setitem(JOBS, job.name, job)
    return job.name


def add_job(monkeypatch: pytest.MonkeyPatch, name: str, **fields: Any) -> str:
    fields = {
        "label": name, "work": "tests.test_scheduling.probe_work", "period": every_minutes(5),
        **fields,
    }  # fmt: skip
    monkeypatch.setitem(JOBS, name, PeriodicJob(name=name, **fields))
    return name


def test_it_runs_a_due_job_and_records_its_counts(probe):
    result = job_run(name=probe, now=NOW)

    assert result.status == "succeeded"
    run = JobRun.objects.get()
    assert (run.job, run.period_start, run.outcome) == (probe, NOW.replace(minute=5, second=0),
                                                        JobOutcome.SUCCEEDED)  # fmt: skip
    assert run.summary == {"touched": 3}
    assert run.finished_at is not None
    assert CALLS == [NOW]


def test_it_runs_a_job_once_per_period_however_often_it_is_ticked(probe):
    job_run(name=probe, now=NOW)

    second = job_run(name=probe, now=NOW + timedelta(minutes=1))

    assert second.status == "already_claimed"
    assert len(CALLS) == 1
    assert JobRun.objects.count() == 1


def test_it_runs_again_in_the_next_period(probe):
    job_run(name=probe, now=NOW)

    later = job_run(name=probe, now=NOW + timedelta(minutes=5))

    assert later.status == "succeeded"
    assert JobRun.objects.count() == 2


def test_it_records_a_failure_with_its_error_and_reraises(monkeypatch):
    name = add_job(monkeypatch, "broken", work="tests.test_scheduling.broken_work")

    with pytest.raises(RuntimeError, match="relay said no"):
        job_run(name=name, now=NOW)

    run = JobRun.objects.get()
    assert run.outcome == JobOutcome.FAILED
    assert run.error == "RuntimeError: relay said no"
    assert run.finished_at is not None


def test_it_does_not_retry_a_failed_period_on_the_next_tick(monkeypatch):
    name = add_job(monkeypatch, "broken", work="tests.test_scheduling.broken_work")
    with pytest.raises(RuntimeError):
        job_run(name=name, now=NOW)

    assert job_run(name=name, now=NOW + timedelta(seconds=30)).status == "already_claimed"


def claimed_by_a_dead_worker(job: str, *, minutes_ago: int) -> JobRun:
    return JobRun.objects.create(
        job=job,
        period_start=NOW.replace(minute=5, second=0),
        started_at=NOW - timedelta(minutes=minutes_ago),
        hostname="worker-that-died",
    )


def test_it_takes_over_a_period_whose_run_never_finished(probe):
    stale = claimed_by_a_dead_worker(probe, minutes_ago=31)

    result = job_run(name=probe, now=NOW)

    assert result.status == "succeeded"
    stale.refresh_from_db()
    assert (stale.outcome, stale.started_at) == (JobOutcome.SUCCEEDED, NOW)
    assert "worker-that-died never finished" in stale.error
    assert len(CALLS) == 1


def test_it_leaves_a_run_that_may_still_be_going_alone(probe):
    claimed_by_a_dead_worker(probe, minutes_ago=29)

    assert job_run(name=probe, now=NOW).status == "already_claimed"
    assert CALLS == []


def test_it_does_nothing_when_no_period_is_due(monkeypatch):
    name = add_job(monkeypatch, "idle", period="tests.test_scheduling.nothing_due")

    result = job_run(name=name, now=NOW)

    assert (result.status, result.period_start) == ("not_due", None)
    assert not JobRun.objects.exists()


def test_it_runs_the_nightly_job_only_after_its_hour_in_unit_time(monkeypatch):
    # Europe/London is UTC in November: 02:59 is too early for metrics (02:00 local is due).
    job = JOBS["prune_job_runs"]  # due from 03:00 local

    assert job.due_period(datetime(2026, 11, 23, 2, 59, tzinfo=UTC)) is None
    assert job.due_period(datetime(2026, 11, 23, 3, 0, tzinfo=UTC)) is not None


def make_run(job: str, started_at: datetime, outcome: str = JobOutcome.SUCCEEDED) -> JobRun:
    return JobRun.objects.create(
        job=job, period_start=started_at, started_at=started_at, outcome=outcome
    )


def test_it_prunes_runs_older_than_two_weeks_but_keeps_failures_longer():
    make_run("a", NOW - timedelta(days=15))
    kept = make_run("a", NOW - timedelta(days=13))
    failed = make_run("b", NOW - timedelta(days=30), JobOutcome.FAILED)
    make_run("b", NOW - timedelta(days=91), JobOutcome.FAILED)

    summary = job_runs_prune(now=NOW)

    assert set(JobRun.objects.values_list("pk", flat=True)) == {kept.pk, failed.pk}
    assert summary["deleted"] == 2


def test_it_prunes_task_failures_after_ninety_days():
    old = TaskFailure.objects.create(
        task_name="t", exception_type="E", occurred_at=NOW - timedelta(days=91)
    )
    recent = TaskFailure.objects.create(
        task_name="t", exception_type="E", occurred_at=NOW - timedelta(days=89)
    )

    summary = job_runs_prune(now=NOW)

    assert list(TaskFailure.objects.values_list("pk", flat=True)) == [recent.pk]
    assert summary["task_failures_deleted"] == 1
    assert not TaskFailure.objects.filter(pk=old.pk).exists()


# --- task failures ----------------------------------------------------------------------


@shared_task(name="tests.scheduling.explode")
def explode(address: str) -> None:
    raise ValueError(f"cannot reach the relay (see /r/SECRETTOKEN123 for {address[:0]}details)")


@pytest.fixture
def eager() -> Any:
    before = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, False
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


def test_it_records_a_failed_task_without_its_arguments(eager):
    with time_machine.travel(NOW, tick=False):
        explode.delay("abuse@pastebay.example.net")

    failure = TaskFailure.objects.get()
    assert failure.task_name == "tests.scheduling.explode"
    assert failure.exception_type == "ValueError"
    assert failure.occurred_at == NOW
    assert failure.task_id
    assert "abuse@pastebay.example.net" not in str(vars(failure))
    # Portal tokens are capabilities: never stored, even inside an error message.
    assert "SECRETTOKEN123" not in failure.message
    assert "/r/[redacted]" in failure.message


def test_it_truncates_a_long_error_message():
    record_task_failure(sender=explode, task_id="abc", exception=RuntimeError("x" * 5000))

    assert len(TaskFailure.objects.get().message) == 1000


def test_it_never_lets_recording_a_failure_break_the_worker(monkeypatch, caplog):
    def database_down(**_: Any) -> None:
        raise RuntimeError("database is down")

    monkeypatch.setattr("scheduling.services.task_failure_record", database_down)

    record_task_failure(sender=explode, task_id="abc", exception=ValueError("boom"))

    assert "Could not record the failure" in caplog.text


# --- the schedule -------------------------------------------------------------------------


def test_it_ticks_every_job_in_the_list_and_nothing_else():
    ticked = {entry["args"][0] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert ticked == set(JOBS)
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} == {
        "scheduling.run_job"
    }


def test_it_ticks_each_job_at_least_as_often_as_it_is_expected():
    for name, seconds in settings.BEAT_TICKS.items():
        assert timedelta(seconds=seconds) < JOBS[name].expected_every, name


def test_it_gives_the_embedded_beat_the_same_schedule_as_production():
    # ./desk run starts `celery -A config worker --beat`: the beat inside reads
    # beat_schedule from the same Django settings, with no schedule of its own.
    assert celery_app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE
    text = Path(run_embedded.__file__).read_text(encoding="utf-8")
    assert '"--beat"' in text
    assert "beat_schedule" not in text and "CELERY_BEAT_SCHEDULE" not in text
