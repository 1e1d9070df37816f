"""Reliability with real processes: a private Redis, real Celery workers and beats, an SMTP sink.

- a worker killed with SIGKILL in the middle of 500 request emails: after a
  restart and a sweep every email has arrived at least once and at most twice;
- Redis stopped: staff pages, portal answers and approving a request keep
  working, nothing is lost, and the queued mail goes out once Redis is back;
- two beats ticking the same job: it runs once per period.

Each test starts its own ``redis-server`` on a free loopback port (the shared
Redis on 6379 is never touched) and points the worker subprocesses at the
pytest database, so the tests are transactional. Select them with
``-m reliability``; the counts are printed (``-s``) for docs/decisions/0011.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cases.models import Correspondence, CorrespondenceChannel, RemovalRequest
from cases.services.requests import request_compose, request_submit
from config.celery_app import app as celery_app
from core.models import AuditEvent
from notifications.models import OutboundEmail, OutboundEmailState
from notifications.services import outbound_email_sweep, request_approve_and_send
from platforms.models import Platform
from portal.services import portal_link_issue
from scheduling.models import JobOutcome, JobRun, TaskFailure
from tests.factories import (
    ContactFactory,
    ItemFactory,
    PlatformDomainFactory,
    PlatformFactory,
    RequestItemFactory,
    SentRequestFactory,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[1]
REDIS_SERVER = shutil.which("redis-server")
E = OutboundEmailState


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    condition: Callable[[], Any], *, timeout: float, what: str, every: float = 0.05
) -> Any:
    """Poll ``condition`` until it is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(every)


# --- a private Redis ----------------------------------------------------------------------


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self.answers, timeout=10, what="redis-server to answer")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.fail(
            "redis-server is needed for the reliability tests: apt-get install redis-server"
        )
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def queue_length(url: str) -> int:
    import redis

    with redis.Redis.from_url(url, socket_timeout=2) as client:
        return int(client.llen("celery"))


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Point this process's Celery producer at ``url`` (the private Redis), then back.

    Celery reads the CELERY_BROKER_URL environment variable before its configuration
    (``Settings.broker_url``), and CI sets it for the lane: it is replaced too, or tasks
    would go to the lane's Redis while the workers listen on the private one."""
    before = celery_app.conf.broker_url
    before_env = os.environ.get("CELERY_BROKER_URL")
    _drop_producers()
    celery_app.conf.broker_url = url
    os.environ["CELERY_BROKER_URL"] = url
    try:
        yield
    finally:
        _drop_producers()
        if before_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = before_env
        celery_app.conf.broker_url = before


def _drop_producers() -> None:
    # Publishing goes through a producer pool bound to the broker's connection at
    # first use; app.close() drops it only if the app's own pool was ever built.
    celery_app.close()
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker(redis_server: RedisServer, settings: Any) -> Iterator[RedisServer]:
    settings.CELERY_BROKER_URL = redis_server.url  # read by the health page
    with celery_broker(redis_server.url):
        yield redis_server


# --- an SMTP sink that counts deliveries per Message-ID ------------------------------------

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


class CountingSink:
    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = MESSAGE_ID.search(envelope.original_content or envelope.content)
        with self.lock:
            self.deliveries[found.group(1).decode() if found else "(none)"] += 1
        return "250 Message accepted for delivery"

    def delivered(self) -> int:
        with self.lock:
            return sum(self.deliveries.values())

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(self.deliveries)


@pytest.fixture
def sink() -> Iterator[tuple[CountingSink, int]]:
    handler = CountingSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


# --- Celery processes against the test database ------------------------------------------


def database_url() -> str:
    """The pytest database, as a URL the subprocesses' settings read (TCP or a Unix socket)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    host = str(db["HOST"] or "")
    if host.startswith("/"):
        return f"postgres://{credentials}/{db['NAME']}?host={quote(host)}"
    return f"postgres://{credentials}{host}:{db['PORT'] or 5432}/{db['NAME']}"


class CeleryProcess:
    """``celery -A config <args>`` in its own process group, output in a log file."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill_hard(self) -> None:
        """SIGKILL to the whole group: the main process and every pool child, mid-task."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log_file.close()


@pytest.fixture
def celery_processes(
    redis_server: RedisServer, tmp_path: Path
) -> Iterator[Callable[..., CeleryProcess]]:
    started: list[CeleryProcess] = []
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "EMAIL_"))},
        "DJANGO_SETTINGS_MODULE": "tests.reliability_settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_server.url,
        "CELERY_BROKER_URL": redis_server.url,
        "DESK_VAR_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
    }

    def start(kind: str, *args: str, name: str, **extra_env: str) -> CeleryProcess:
        process = CeleryProcess(
            [kind, *args], env={**env, **extra_env}, log=tmp_path / f"{name}.log"
        )
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


def worker_args(name: str) -> list[str]:
    return ["--loglevel", "INFO", "--concurrency", "3", "--hostname", f"{name}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip


@dataclass(frozen=True)
class Rig:
    """The private Redis (also this process's broker), the SMTP sink, and a process starter."""

    broker: RedisServer
    sink: CountingSink
    smtp_port: int
    start: Callable[..., CeleryProcess]

    @property
    def mail_env(self) -> dict[str, str]:
        return {"EMAIL_URL": f"smtp://127.0.0.1:{self.smtp_port}"}


@pytest.fixture
def rig(broker: RedisServer, sink: tuple[CountingSink, int], celery_processes: Any) -> Rig:
    return Rig(broker=broker, sink=sink[0], smtp_port=sink[1], start=celery_processes)


# --- data ------------------------------------------------------------------------------------


def platform_with_contacts(count: int) -> Platform:
    platform = PlatformFactory(name="BulkHost", response_target_days=7)
    PlatformDomainFactory(platform=platform, domain="bulkhost.example.net")
    for n in range(count):
        ContactFactory(platform=platform, email=f"abuse{n}@bulkhost.example.net", primary=n == 0)
    return platform


def request_awaiting_approval(platform: Platform, composer: Any) -> RemovalRequest:
    for _ in range(2):
        ItemFactory(platform=platform, host="bulkhost.example.net", approved=True)
    request = request_compose(platform=platform, composed_by=composer)
    return request_submit(request=request, by=composer)


def ledger() -> Counter[str]:
    return Counter(OutboundEmail.objects.values_list("state", flat=True))


def report(record_property: Callable[[str, Any], None], title: str, **counts: int) -> None:
    for key, value in counts.items():
        record_property(key, value)
    print(f"\n[reliability] {title}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


# --- 1. SIGKILL in the middle of sending ----------------------------------------------------

EMAILS = 500


def test_it_delivers_every_email_at_least_once_and_at_most_twice_after_kill_9(
    alice, bob, rig, settings, record_property
):
    broker, handler, celery_processes = rig.broker, rig.sink, rig.start
    mail_env = rig.mail_env
    started = time.monotonic()
    request = request_awaiting_approval(platform_with_contacts(EMAILS), alice)
    request_approve_and_send(request=request, approver=bob)  # 500 tasks, enqueued on commit
    message_ids = set(OutboundEmail.objects.values_list("message_id", flat=True))
    assert len(message_ids) == EMAILS

    first = celery_processes("worker", *worker_args("first"), name="worker-1", **mail_env)
    wait_for(lambda: handler.delivered() >= 100, timeout=60, what="100 deliveries",
             every=0.005)  # fmt: skip
    first.kill_hard()
    delivered_at_kill = handler.delivered()
    at_kill = ledger()
    assert delivered_at_kill < EMAILS, "the worker finished before it could be killed"

    # The sweeper, as it runs every minute once its thresholds have passed. First
    # the rows the dead worker held in "sending" are handed back (no worker is alive,
    # so every such row is the dead one's) ...
    settings.OUTBOUND_EMAIL_STUCK_MINUTES = 0
    handed_back = outbound_email_sweep()
    settings.OUTBOUND_EMAIL_STUCK_MINUTES = 10
    second = celery_processes("worker", *worker_args("second"), name="worker-2", **mail_env)
    # ... then, whenever the queue has run dry, pending rows are enqueued again: the
    # dead worker's prefetched tasks sit unacknowledged in Redis until the 900 s
    # visibility timeout, and only the database knows they are still owed.
    settings.OUTBOUND_EMAIL_REQUEUE_AFTER_SECONDS = 0
    re_enqueued: list[int] = []

    def all_sent() -> bool:
        if ledger()[E.SENT] == EMAILS:
            return True
        if queue_length(broker.url) == 0:
            re_enqueued.extend(outbound_email_sweep().enqueued)
        return False

    wait_for(all_sent, timeout=90, what="every row to be sent", every=0.5)
    second.stop()

    deliveries = handler.counts()
    ours = {mid: deliveries[mid] for mid in message_ids}
    duplicates = sum(n - 1 for n in ours.values() if n > 1)
    lost = sum(1 for n in ours.values() if n == 0)
    report(
        record_property,
        "kill -9 mid-send",
        emails=EMAILS,
        delivered_before_kill=delivered_at_kill,
        sending_at_kill=at_kill[E.SENDING],
        handed_back=handed_back.released,
        re_enqueued=len(re_enqueued),
        sent=ledger()[E.SENT],
        delivered=sum(ours.values()),
        duplicates=duplicates,
        lost=lost,
        seconds=int(time.monotonic() - started),
    )
    assert lost == 0, first.output()[-3000:]
    assert max(ours.values()) <= 2
    assert set(deliveries) == message_ids  # nothing else was sent
    assert ledger() == Counter({E.SENT: EMAILS})


# --- 2. Redis stopped -------------------------------------------------------------------------

QUICK_SECONDS = 5.0


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_it_keeps_working_while_redis_is_down_and_catches_up_after(  # noqa: PLR0917
    alice, bob, rig, client, settings, record_property
):
    broker, handler, celery_processes = rig.broker, rig.sink, rig.start
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": broker.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    platform = platform_with_contacts(3)
    request = request_awaiting_approval(platform, alice)
    answered = SentRequestFactory(platform=platform, contacts=[platform.contacts.first()])
    RequestItemFactory(request=answered)
    _link, token = portal_link_issue(request=answered, contact=platform.contacts.first())
    client.force_login(bob)

    broker.stop()

    timings: dict[str, float] = {}
    for name, path in [
        ("dashboard", reverse("dashboard")),
        ("items", reverse("items:list")),
        ("request", reverse("requests:detail", args=[request.pk])),
        ("system", reverse("scheduling:health")),
    ]:
        response, timings[name] = timed(lambda path=path: client.get(path))
        assert response.status_code == 200, name
    assert "Queue length unavailable" in client.get(reverse("scheduling:health")).content.decode()

    portal = client_for_operator()
    response, timings["portal"] = timed(lambda: portal.post(f"/r/{token}/", {"all_removed": "1"}))
    assert response.status_code == 302
    assert Correspondence.objects.filter(
        request=answered, channel=CorrespondenceChannel.PORTAL
    ).exists()

    send = reverse("notifications:request_send", args=[request.pk])
    response, timings["send"] = timed(lambda: client.post(send))
    assert response.status_code == 302
    assert ledger() == Counter({E.PENDING: 3})
    assert max(timings.values()) < QUICK_SECONDS, timings

    broker.start()
    celery_processes("worker", *worker_args("after"), name="worker", **rig.mail_env)
    # The sweeper's next run after the requeue delay: the lost hints are re-sent.
    later = timezone.now() + timedelta(seconds=settings.OUTBOUND_EMAIL_REQUEUE_AFTER_SECONDS + 1)
    swept = outbound_email_sweep(now=later)
    wait_for(lambda: ledger()[E.SENT] == 3, timeout=60, what="the queued emails", every=0.2)

    deliveries = handler.counts()
    report(
        record_property,
        "redis down",
        queued_while_down=3,
        re_enqueued=len(swept.enqueued),
        delivered=sum(deliveries.values()),
        duplicates=sum(n - 1 for n in deliveries.values()),
        **{f"{name}_ms": int(seconds * 1000) for name, seconds in timings.items()},
    )
    assert sorted(deliveries.values()) == [1, 1, 1]


def client_for_operator() -> Any:
    from django.test import Client

    return Client(REMOTE_ADDR="203.0.113.9")


# --- 3. two beats -----------------------------------------------------------------------------

# tests/reliability_jobs.py, loaded by the worker only (it adds the probe to JOBS).
PROBE = "reliability_probe"
PROBE_ACTION = "reliability.probe_ran"


def test_it_runs_a_periodic_job_once_per_period_under_two_beats(
    broker, celery_processes, tmp_path, record_property
):
    worker = celery_processes("worker", *worker_args("beats"), name="worker")
    beats = [
        celery_processes("beat", "--loglevel", "INFO", "--schedule", str(tmp_path / f"beat{n}"),
                         "--pidfile", str(tmp_path / f"beat{n}.pid"), name=f"beat-{n}")
        for n in (1, 2)
    ]  # fmt: skip
    wait_for(lambda: JobRun.objects.filter(job=PROBE).count() >= 4, timeout=60,
             what="four periods of the probe", every=0.2)  # fmt: skip
    for beat in beats:
        beat.stop()
    # Let the worker drain the ticks already queued, then stop it.
    wait_for(lambda: not JobRun.objects.filter(job=PROBE, outcome=JobOutcome.RUNNING).exists(),
             timeout=20, what="the last run to finish")  # fmt: skip
    # The same worker records a failing task for the health page (task_failure signal).
    celery_app.send_task("tests.reliability.fail", args=("abuse@secret.example",))
    failure = wait_for(TaskFailure.objects.first, timeout=20, what="a TaskFailure row")
    worker.stop()

    runs = list(JobRun.objects.filter(job=PROBE).order_by("period_start"))
    ticks = [beat.output().count("Sending due task tick reliability_probe") for beat in beats]
    work_rows = AuditEvent.objects.filter(action=PROBE_ACTION).count()
    periods = [run.period_start for run in runs]
    steps = {(b - a).total_seconds() for a, b in itertools.pairwise(periods)}
    report(
        record_property,
        "two beats",
        ticks_beat_1=ticks[0],
        ticks_beat_2=ticks[1],
        periods=len(runs),
        runs=len(runs),
        work_rows=work_rows,
    )
    assert all(t >= 3 for t in ticks), (ticks, worker.output()[-2000:])
    assert sum(ticks) > len(runs)  # many ticks per period...
    assert work_rows == len(runs)  # ...but the work ran once per period
    assert len(set(periods)) == len(periods)
    assert {run.outcome for run in runs} == {JobOutcome.SUCCEEDED}
    assert steps == {3.0}, periods  # and no period was skipped
    assert (failure.task_name, failure.exception_type, failure.message) == (
        "tests.reliability.fail",
        "RuntimeError",
        "the relay refused us",
    )


# --- the portal's rate limit without its cache -------------------------------------------------


def test_it_answers_a_bad_portal_token_when_the_cache_is_down(client, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nobody listens
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }

    response = client.get("/r/not-a-real-token-at-all-0123456789abcdefghijkl/")

    assert response.status_code == 404  # the usual "invalid link" page, not a 500
    assert "the cache is unavailable" in caplog.text
