"""The system health page: a failed or late job is visible at once, and the page never 500s."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from core.errors import DomainError, PermissionRefused
from core.models import AuditEvent
from notifications.models import OutboundEmailState
from scheduling import selectors
from scheduling.jobs import JOBS, job_run
from scheduling.models import JobOutcome, JobRun, TaskFailure
from scheduling.queues import broker_queue_length
from scheduling.services import job_run_request
from tests.factories import OutboundEmailFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("scheduling:health")


def run(job: str, *, ago: timedelta, outcome: str = JobOutcome.SUCCEEDED, **fields: Any) -> JobRun:
    started = timezone.now() - ago
    return JobRun.objects.create(
        job=job,
        period_start=started.replace(microsecond=0),
        started_at=started,
        finished_at=None if outcome == JobOutcome.RUNNING else started + timedelta(seconds=2),
        outcome=outcome,
        **fields,
    )


def status_of(job: str) -> selectors.JobStatus:
    (status,) = [s for s in selectors.job_statuses(now=timezone.now()) if s.job.name == job]
    return status


def test_it_is_open_to_supervisors(client, bob):
    client.force_login(bob)

    assert client.get(URL).status_code == 200


def test_it_is_open_to_admins(client):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))

    assert client.get(URL).status_code == 200


@pytest.mark.parametrize("persona", ["alice", "dave"])
def test_it_refuses_officers_and_analysts(client, persona, request):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(URL).status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_lists_every_periodic_job(client, bob):
    client.force_login(bob)

    page = client.get(URL).content.decode()

    for job in JOBS.values():
        assert f'id="job-{job.name}"' in page
        assert job.label in page


def test_it_shows_the_last_run_with_its_counts(client, bob):
    run("outbound_email_sweep", ago=timedelta(seconds=30), summary={"enqueued": 4})
    client.force_login(bob)

    page = client.get(URL).content.decode()

    assert "enqueued: 4" in page
    assert status_of("outbound_email_sweep").health == selectors.JobHealth.OK


def test_it_shows_a_failed_job_prominently_with_its_error(client, bob):
    run("outbound_email_sweep", ago=timedelta(minutes=3))
    run("outbound_email_sweep", ago=timedelta(minutes=1), outcome=JobOutcome.FAILED,
        error="OperationalError: connection refused")  # fmt: skip
    client.force_login(bob)

    page = client.get(URL).content.decode()

    assert status_of("outbound_email_sweep").health == selectors.JobHealth.FAILED
    assert 'id="health-problems"' in page
    assert "OperationalError: connection refused" in page


def test_it_calls_a_job_late_when_it_has_not_succeeded_within_its_expected_interval():
    job = JOBS["verification_sweep"]
    run(job.name, ago=job.expected_every + timedelta(minutes=1))

    assert status_of(job.name).health == selectors.JobHealth.LATE


def test_it_calls_a_run_that_never_finished_late_once_the_interval_passes():
    job = JOBS["outbound_email_sweep"]
    run(job.name, ago=job.expected_every + timedelta(minutes=1), outcome=JobOutcome.RUNNING)

    assert status_of(job.name).health == selectors.JobHealth.LATE


def test_it_says_when_a_job_never_ran():
    assert status_of("metrics_snapshot").health == selectors.JobHealth.NEVER


def test_it_lists_recent_task_failures_with_their_errors(client, bob):
    TaskFailure.objects.create(
        task_name="notifications.deliver_outbound_email",
        task_id="4f1c",
        exception_type="OperationalError",
        message="server closed the connection unexpectedly",
        occurred_at=timezone.now(),
    )
    client.force_login(bob)

    page = client.get(URL).content.decode()

    assert "notifications.deliver_outbound_email" in page
    assert "server closed the connection unexpectedly" in page


def test_it_shows_failed_emails_and_the_waiting_backlog_with_its_age(client, bob):
    failed = OutboundEmailFactory(
        state=OutboundEmailState.FAILED, last_error="550 5.1.1 no such user"
    )
    waiting = OutboundEmailFactory()
    waiting_since = timezone.now() - timedelta(hours=3)
    type(waiting).objects.filter(pk=waiting.pk).update(created_at=waiting_since)
    client.force_login(bob)

    response = client.get(URL)

    mail = response.context["health"].mail
    assert (mail.backlog, mail.failed_count) == (1, 1)
    assert mail.oldest_waiting_since == waiting_since
    page = response.content.decode()
    assert "550 5.1.1 no such user" in page
    assert failed.request.reference in page
    assert "3\xa0hours" in page


def test_it_shows_the_verification_backlog(client, bob, monkeypatch):
    monkeypatch.setattr(selectors, "verification_backlog", lambda *, now: 7)
    client.force_login(bob)

    response = client.get(URL)

    assert response.context["health"].verification_backlog == 7


def test_it_shows_a_dash_when_the_verification_backlog_is_unknown(client, bob, monkeypatch):
    def missing(name: str) -> Any:
        raise ImportError(name)

    monkeypatch.setattr(selectors, "import_module", missing)
    client.force_login(bob)

    response = client.get(URL)

    assert response.context["health"].verification_backlog is None
    assert response.status_code == 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_it_reads_the_queue_length_from_redis(settings):
    import redis

    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        pytest.skip("this session has no Redis broker")
    client = redis.Redis.from_url(url)
    before = broker_queue_length()
    client.lpush("celery", b"{}", b"{}")
    try:
        after = broker_queue_length()
    finally:
        client.lrem("celery", 2, b"{}")
    assert after.queued == before.queued + 2


def test_it_says_the_queue_length_is_unavailable_when_redis_is_down(client, bob, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens
    client.force_login(bob)

    response = client.get(URL)

    assert response.status_code == 200
    assert "Queue length unavailable" in response.content.decode()


def test_it_counts_the_message_files_of_the_filesystem_broker(settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path)}
    for name in ("1_a.celery.msg", "2_b.celery.msg", "3_c.other.msg", "notes.txt"):
        (tmp_path / name).write_text("{}")

    assert broker_queue_length().queued == 2


def test_it_reads_a_fixed_number_of_queries_however_much_history(
    client, bob, django_assert_max_num_queries, settings
):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": "/nonexistent"}
    client.force_login(bob)
    client.get(URL)  # warm the session and permission caches alike for both runs

    def page_queries() -> int:
        with django_assert_max_num_queries(100) as captured:
            assert client.get(URL).status_code == 200
        return len(captured.captured_queries)

    few = page_queries()
    now = timezone.now()
    for name in JOBS:
        for minutes in range(1, 6):
            run(name, ago=timedelta(minutes=minutes, seconds=len(name)))
        run(name, ago=timedelta(seconds=5), outcome=JobOutcome.FAILED, error="boom")
    for n in range(5):
        TaskFailure.objects.create(task_name=f"t{n}", exception_type="E", occurred_at=now)
        OutboundEmailFactory(state=OutboundEmailState.FAILED, last_error="550")
        OutboundEmailFactory()

    assert page_queries() == few


# --- run now ------------------------------------------------------------------------------


def run_now_url(job: str) -> str:
    return reverse("scheduling:run_now", args=[job])


def test_it_lets_a_supervisor_run_a_job_now_after_commit(
    client, bob, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued: list[str] = []
    monkeypatch.setattr("scheduling.tasks.run_job_now.delay", enqueued.append)
    client.force_login(bob)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(run_now_url("outbound_email_sweep"))
        assert enqueued == []  # nothing is sent before the commit

    assert response.status_code == 302
    for callback in callbacks:
        callback()
    assert enqueued == ["outbound_email_sweep"]
    event = AuditEvent.objects.get(action="scheduling.job_run_requested")
    assert (event.actor, event.new) == (bob, {"job": "outbound_email_sweep"})


def test_it_runs_a_manual_run_as_a_period_of_its_own():
    now = timezone.now()
    job_run(name="prune_job_runs", now=now - timedelta(seconds=1), manual=True)

    result = job_run(name="prune_job_runs", now=now, manual=True)

    assert result.status == "succeeded"
    assert JobRun.objects.filter(job="prune_job_runs").count() == 2


def test_it_refuses_run_now_to_an_analyst(client, dave):
    client.force_login(dave)

    assert client.post(run_now_url("outbound_email_sweep")).status_code == 403


def test_it_refuses_run_now_on_get(client, bob):
    client.force_login(bob)

    assert client.get(run_now_url("outbound_email_sweep")).status_code == 405


def test_it_refuses_to_run_a_job_that_does_not_exist(bob):
    with pytest.raises(DomainError, match="no periodic job"):
        job_run_request(name="mine_bitcoin", by=bob)


def test_it_refuses_run_now_to_an_officer_calling_the_service(alice):
    with pytest.raises(PermissionRefused):
        job_run_request(name="outbound_email_sweep", by=alice)
