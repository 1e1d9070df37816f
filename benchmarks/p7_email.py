"""P7: request emails through the real Celery worker to a local SMTP sink (issue 11:
>= 100 emails/s, with SMTP connection reuse).

Queues its own emails (notifications.services.email_queue on one bench request, committed
so that the worker sees them), starts an aiosmtpd sink on 127.0.0.1 in this process and a
real ``celery worker`` (2 processes) on the configured broker with EMAIL_URL pointed at the
sink, enqueues one delivery task per email as the approve-and-send path does, and waits
until the ledger says every row is sent. Met only if every email reached the sink exactly
once (no Message-ID twice, none missing) and no row failed. The bench rows are deleted at
the end (the audit trail keeps its events).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from benchmarks.figures import BenchContext, Figure

RATE_TARGET = 100.0
PREFIX = "bench-p7"
WORKER_PROCESSES = 2


class _Sink:
    """aiosmtpd handler: counts messages by Message-ID and SMTP sessions (EHLO/HELO)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.message_ids: list[str] = []
        self.sessions = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        with self.lock:
            self.message_ids.append(str(message.get("Message-ID", "")))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _build(count: int) -> tuple[list[int], int]:
    from cases.models import RemovalRequest, RequestType
    from notifications.services import email_queue
    from platforms.models import Contact, Platform

    supervisor, _ = get_user_model().objects.get_or_create(username=f"{PREFIX}-supervisor")
    now = timezone.now()
    with transaction.atomic():
        platform = Platform.objects.create(name=f"{PREFIX} platform", kind="social_network")
        contact = Contact.objects.create(
            platform=platform, name="Abuse desk", email="abuse@bench-p7.example", is_primary=True
        )
        request = RemovalRequest.objects.create(
            reference="TKD-1998-000001",
            platform=platform,
            request_type=RequestType.REFERRAL,
            legal_basis="terms_of_service",
            state="sent",
            sent_at=now,
            deadline=now + timedelta(days=7),
            approved_by=supervisor,
            approved_at=now,
        )
        ids = []
        domain = settings.EMAIL_MESSAGE_ID_DOMAIN
        for n in range(count):
            message = EmailMessage(
                subject=f"[{request.reference}] bench email {n}",
                body="Bench email body.\n" * 20,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[contact.email],
                headers={"Message-ID": f"<{PREFIX}-{now.timestamp():.0f}-{n}@{domain}>"},
            )
            ids.append(email_queue(request=request, message=message, contact=contact).pk)
    return ids, platform.pk


def _cleanup(platform_id: int) -> None:
    from cases.models import Correspondence, RemovalRequest
    from notifications.models import OutboundEmail
    from platforms.models import Platform

    with transaction.atomic():
        requests = RemovalRequest.objects.filter(platform_id=platform_id)
        OutboundEmail.objects.filter(request__in=requests).delete()
        Correspondence.objects.filter(request__in=requests).delete()
        requests.delete()
        Platform.objects.filter(pk=platform_id).delete()


def _start_worker(smtp_port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
        "DJANGO_DEBUG": "false",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
    }
    celery = Path(sys.executable).with_name("celery")
    return subprocess.Popen(
        [str(celery), "-A", "config.celery_app", "worker", "--concurrency",
         str(WORKER_PROCESSES), "--loglevel", "WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        cwd=settings.BASE_DIR, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def measure(context: BenchContext) -> list[Figure]:
    from aiosmtpd.controller import Controller

    from notifications.models import OutboundEmail
    from notifications.tasks import deliver_outbound_email

    count = 1_000
    name = f"request emails, {count:,} through a Celery worker ({WORKER_PROCESSES} processes)"
    target = f">= {RATE_TARGET:g}/s"
    context.work_dir.mkdir(parents=True, exist_ok=True)
    # aiosmtpd logs every SMTP command at INFO (six lines an email): in this process, next
    # to the sink, that cost the worker's cores more than the sink itself.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    platform_id = None
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    try:
        controller.start()
        ids, platform_id = _build(count)
        worker = _start_worker(controller.port, context.work_dir / "p7-worker.log")
        try:
            time.sleep(3)  # the worker connects to the broker before the clock starts
            started = time.perf_counter()
            for email_id in ids:
                deliver_outbound_email.delay(email_id)
            deadline = time.monotonic() + 120
            pending = count
            while time.monotonic() < deadline:
                pending = OutboundEmail.objects.filter(pk__in=ids).exclude(state="sent").count()
                if pending == 0:
                    break
                time.sleep(0.2)
            seconds = time.perf_counter() - started
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        failed = OutboundEmail.objects.filter(pk__in=ids, state="failed").count()
    except Exception as failure:
        return [Figure(section="P7", name=name, value=None, unit="/s", target=target, met=None,
                       note=f"could not run: {failure!r}")]  # fmt: skip
    finally:
        controller.stop()
        if platform_id is not None:
            _cleanup(platform_id)
    received = len(sink.message_ids)
    unique = len(set(sink.message_ids))
    rate = (count - pending) / seconds if seconds else 0.0
    exact = pending == 0 and failed == 0 and received == unique == count
    return [
        Figure(
            section="P7",
            name=name,
            value=round(rate, 1),
            unit="/s",
            target=target,
            met=rate >= RATE_TARGET and exact,
            note=(
                f"{count - pending:,} sent in {seconds:.1f} s; the sink got {received:,} "
                f"messages ({unique:,} distinct Message-IDs) over {sink.sessions} SMTP "
                f"sessions; {pending:,} not sent, {failed:,} failed"
            ),
        )
    ]
