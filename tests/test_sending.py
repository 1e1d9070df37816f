"""Approving and sending requests by email through the ledger, against a real SMTP server."""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    RemovalRequest,
    RequestState,
    RequestType,
)
from cases.selectors.requests import request_list_queryset, requests_needing_web_form
from cases.services.requests import request_compose, request_submit
from config.celery_app import app as celery_app
from core.errors import FourEyesViolation, PermissionRefused
from notifications.emails import build_request_email, email_as_bytes
from notifications.inbound.matching import reply_address_for
from notifications.models import OutboundEmail, OutboundEmailState
from notifications.services import (
    outbound_email_deliver,
    outbound_email_retry,
    outbound_email_sweep,
    request_approve_and_send,
    request_web_form_record_submission,
)
from platforms.models import Platform
from tests.factories import ContactFactory, ItemFactory

pytestmark = pytest.mark.django_db

E = OutboundEmailState


# --- a real SMTP server -----------------------------------------------------------------


class SinkHandler:
    """Accepts mail like a relay would, or answers with the reply a test sets."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.rcpt_reply = ""
        self.data_reply = ""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(envelope.original_content, policy=policy.default)  # type: ignore[misc]
            for envelope in self.received
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[SinkHandler]:
    """An aiosmtpd server on a free local port, with Django's SMTP backend pointed at it."""
    handler = SinkHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks run in-process when enqueued (the worker end-to-end test is another issue's)."""
    before = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


@dataclass
class Mailer:
    """The SMTP sink, with tasks run eagerly and on-commit callbacks under the test's control."""

    sink: SinkHandler
    capture: Callable[..., Any]


@pytest.fixture
def mailer(
    smtp: SinkHandler, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> Mailer:
    return Mailer(sink=smtp, capture=django_capture_on_commit_callbacks)


# --- helpers ----------------------------------------------------------------------------


def ready_item(platform: Platform, **fields: Any) -> Any:
    return ItemFactory(platform=platform, host="pastebay.example.net", approved=True, **fields)


def awaiting_request(platform: Platform, composer: Any, *, items: int = 3, **kwargs: Any) -> Any:
    for _ in range(items):
        ready_item(platform)
    request = request_compose(platform=platform, composed_by=composer, **kwargs)
    return request_submit(request=request, by=composer)


def sent_request(platform: Platform, composer: Any, approver: Any, **kwargs: Any) -> Any:
    """A request approved and sent; its on-commit enqueues are dropped (a lost broker message)."""
    request = awaiting_request(platform, composer, **kwargs)
    result = request_approve_and_send(request=request, approver=approver)
    return result.request


def only_email(request: RemovalRequest) -> OutboundEmail:
    (email,) = OutboundEmail.objects.filter(request=request)
    return email


def urls_of(request: RemovalRequest) -> list[str]:
    return [line.item.url_normalised for line in request.lines.select_related("item")]


# --- building and delivering ---------------------------------------------------------------


def test_it_delivers_the_request_by_smtp_with_every_url(alice, bob, platform, smtp, settings):
    request = sent_request(platform, alice, bob, items=3)
    email = only_email(request)

    assert outbound_email_deliver(email_id=email.pk) == E.SENT

    (message,) = smtp.messages()
    # A translated (non-ASCII) subject is RFC 2047-encoded and folded, which can leave
    # folding whitespace in front once decoded; the reference still comes first.
    assert message["Subject"].lstrip().startswith(f"[{request.reference}] ")
    assert message["Message-ID"].strip() == email.message_id == email.correspondence.message_id
    # Replies find their request by the per-request, per-contact reply address.
    assert message["Reply-To"] == reply_address_for(request, request.contacts.get())
    assert message["X-TKD-Reference"] == request.reference
    assert message["To"] == "abuse@pastebay.example.net"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for url in urls_of(request):
        assert url in text
        assert f'href="{url}"' in html
    email.refresh_from_db()
    assert (email.state, email.attempts, email.last_error) == (E.SENT, 1, "")
    assert email.sent_at is not None


def test_it_delivers_exactly_the_bytes_on_record(alice, bob, platform, smtp):
    request = sent_request(platform, alice, bob)
    email = only_email(request)

    outbound_email_deliver(email_id=email.pk)

    stored = bytes(email.correspondence.raw)
    (envelope,) = smtp.received
    # The stored copy withholds the portal token; the worker fills it in (decision 0017).
    token = re.search(rb"/r/([A-Za-z0-9_-]{43})/", envelope.original_content).group(1)
    assert envelope.original_content == stored.replace(b"TKD-portal-link-withheld", token)
    assert hashlib.sha256(stored).hexdigest() == email.correspondence.raw_sha256


def test_it_states_type_legal_basis_and_deadline_in_utc_and_unit_time(
    alice, bob, platform, settings
):
    settings.TIME_ZONE = "Europe/London"
    platform.preferred_language = "en"  # the English wording (other languages: test_translations)
    with time_machine.travel("2026-07-01 09:00:00+00:00", tick=False):
        platform.tco_advance_notice_at = timezone.now() - timedelta(days=1)
        platform.save()
        request = sent_request(
            platform, alice, bob, items=1, request_type=RequestType.REMOVAL_ORDER
        )
    body = only_email(request).correspondence.body_text

    assert "Removal order (binding)" in body
    assert "within 1 hour of receipt" in body
    assert "Regulation (EU) 2021/784 (TCO), Art. 3" in body
    assert "2026-07-01 10:00 UTC" in body
    assert "2026-07-01 10:00 UTC (2026-07-01 11:00 BST, Europe/London)" in body
    assert settings.UNIT_NAME in body


def test_it_builds_the_email_in_the_contacts_language(alice, platform):
    contact = platform.contacts.get()
    request = awaiting_request(platform, alice, items=1)

    message = build_request_email(request, contact)

    assert message.extra_headers["Content-Language"] == "pl"  # the platform's preference
    assert message.extra_headers["Message-ID"].endswith("@iru.example>")


def test_it_sends_one_message_per_active_email_contact(alice, bob, platform, smtp):
    ContactFactory(platform=platform, email="legal@pastebay.example.net")
    ContactFactory(platform=platform, email="old@pastebay.example.net", is_active=False)
    request = sent_request(platform, alice, bob)

    for email in OutboundEmail.objects.filter(request=request):
        outbound_email_deliver(email_id=email.pk)

    assert sorted(m["To"] for m in smtp.messages()) == [
        "abuse@pastebay.example.net",
        "legal@pastebay.example.net",
    ]
    assert len({m["Message-ID"] for m in smtp.messages()}) == 2


def test_it_never_sends_a_message_twice(alice, bob, platform, smtp):
    email = only_email(sent_request(platform, alice, bob))

    assert outbound_email_deliver(email_id=email.pk) == E.SENT
    assert outbound_email_deliver(email_id=email.pk) is None

    assert len(smtp.received) == 1
    email.refresh_from_db()
    assert email.attempts == 1


def test_it_leaves_a_row_being_sent_by_another_worker_alone(alice, bob, platform, smtp):
    email = only_email(sent_request(platform, alice, bob))
    OutboundEmail.objects.filter(pk=email.pk).update(state=E.SENDING, claimed_at=timezone.now())

    assert outbound_email_deliver(email_id=email.pk) is None
    assert smtp.received == []


# --- the transaction and the broker ------------------------------------------------------


def test_it_enqueues_delivery_only_after_commit(alice, bob, platform, mailer):
    smtp = mailer.sink
    request = awaiting_request(platform, alice)

    with mailer.capture(execute=False) as callbacks:
        request_approve_and_send(request=request, approver=bob)
        # Inside the transaction: the request is sent and the ledger written, nothing delivered.
        assert only_email(request).state == E.PENDING
        assert smtp.received == []

    assert len(callbacks) == 1
    assert smtp.received == []
    for callback in callbacks:
        callback()  # the commit happened: the task runs (eagerly here) and delivers
    assert only_email(request).state == E.SENT
    assert len(smtp.received) == 1


def test_it_queues_nothing_when_the_composer_tries_to_send(
    bob, platform, django_capture_on_commit_callbacks
):
    request = awaiting_request(platform, bob)

    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(FourEyesViolation),
    ):
        request_approve_and_send(request=request, approver=bob)

    assert callbacks == []
    assert not OutboundEmail.objects.filter(request=request).exists()
    request.refresh_from_db()
    assert request.state == RequestState.AWAITING_APPROVAL


def test_it_refuses_an_officer_as_approver(alice, charlie, platform):
    request = awaiting_request(platform, charlie)

    with pytest.raises(PermissionRefused):
        request_approve_and_send(request=request, approver=alice)


# --- failures and retries ----------------------------------------------------------------


def test_it_retries_a_transient_failure_with_backoff(alice, bob, platform, smtp):
    email = only_email(sent_request(platform, alice, bob))
    smtp.data_reply = "451 4.3.0 Mail server temporarily rejected message"

    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert outbound_email_deliver(email_id=email.pk) == E.PENDING
        email.refresh_from_db()
        assert (email.state, email.attempts) == (E.PENDING, 1)
        assert email.next_attempt_at == timezone.now() + timedelta(seconds=60)
        assert "451" in email.last_error

        # Not due yet: a duplicate task does not jump the backoff.
        assert outbound_email_deliver(email_id=email.pk) is None

        clock.shift(timedelta(seconds=61))
        smtp.data_reply = ""
        assert outbound_email_deliver(email_id=email.pk) == E.SENT

    email.refresh_from_db()
    assert (email.state, email.attempts, email.last_error) == (E.SENT, 2, "")
    (message,) = smtp.messages()
    assert message["Message-ID"].strip() == email.message_id  # the retry sent the same message


def test_it_doubles_the_backoff_and_gives_up_after_the_last_attempt(
    alice, bob, platform, smtp, settings
):
    settings.OUTBOUND_EMAIL_MAX_ATTEMPTS = 3
    email = only_email(sent_request(platform, alice, bob))
    smtp.data_reply = "421 4.7.0 Try again later, closing connection"

    with time_machine.travel(timezone.now(), tick=False) as clock:
        delays = []
        for _ in range(2):
            outbound_email_deliver(email_id=email.pk)
            email.refresh_from_db()
            delays.append(email.next_attempt_at - timezone.now())
            clock.shift(delays[-1])
        assert delays == [timedelta(seconds=60), timedelta(seconds=120)]
        assert outbound_email_deliver(email_id=email.pk) == E.FAILED

    email.refresh_from_db()
    assert (email.state, email.attempts, email.next_attempt_at) == (E.FAILED, 3, None)
    assert email.last_error.startswith("Gave up after 3 attempts.")


def test_it_retries_when_the_server_cannot_be_reached(alice, bob, platform, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    email = only_email(sent_request(platform, alice, bob))

    assert outbound_email_deliver(email_id=email.pk) == E.PENDING

    email.refresh_from_db()
    assert email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error


def test_it_fails_a_permanent_rejection_and_shows_it_on_the_request(
    client, alice, bob, platform, smtp
):
    request = sent_request(platform, alice, bob)
    email = only_email(request)
    smtp.data_reply = "550 5.7.1 Message rejected by policy"

    assert outbound_email_deliver(email_id=email.pk) == E.FAILED

    email.refresh_from_db()
    assert (email.state, email.attempts, email.next_attempt_at) == (E.FAILED, 1, None)
    assert "550 5.7.1 Message rejected by policy" in email.last_error
    client.force_login(bob)
    page = client.get(reverse("requests:detail", args=[request.pk])).content.decode()
    assert "550 5.7.1 Message rejected by policy" in page
    assert "Failed" in page


def test_it_fails_a_refused_recipient(alice, bob, platform, smtp):
    email = only_email(sent_request(platform, alice, bob))
    smtp.rcpt_reply = "550 5.1.1 No such user here"

    assert outbound_email_deliver(email_id=email.pk) == E.FAILED

    email.refresh_from_db()
    assert "abuse@pastebay.example.net: 550 5.1.1 No such user here" in email.last_error


def test_it_lets_a_supervisor_retry_a_failed_email(alice, bob, platform, mailer):
    smtp = mailer.sink
    email = only_email(sent_request(platform, alice, bob))
    smtp.data_reply = "554 5.0.0 Relay misconfigured"
    outbound_email_deliver(email_id=email.pk)
    smtp.data_reply = ""

    with mailer.capture(execute=True):
        outbound_email_retry(email=email, by=bob)

    email.refresh_from_db()
    assert (email.state, email.attempts) == (E.SENT, 1)
    assert len(smtp.received) == 1


# --- the sweeper -----------------------------------------------------------------------------


def test_it_sweeps_up_a_pending_row_whose_task_was_lost(alice, bob, platform, mailer, settings):
    email = only_email(sent_request(platform, alice, bob))  # its enqueue never happened

    later = timezone.now() + timedelta(seconds=settings.OUTBOUND_EMAIL_REQUEUE_AFTER_SECONDS + 1)
    with (
        time_machine.travel(later, tick=False),
        mailer.capture(execute=True),
    ):
        result = outbound_email_sweep()

    assert result.enqueued == [email.pk]
    email.refresh_from_db()
    assert email.state == E.SENT
    assert len(mailer.sink.received) == 1


def test_it_does_not_requeue_a_row_whose_task_is_still_fresh(alice, bob, platform):
    only_email(sent_request(platform, alice, bob))

    assert outbound_email_sweep().enqueued == []


def test_it_enqueues_a_retry_once_its_backoff_has_passed(alice, bob, platform, smtp):
    email = only_email(sent_request(platform, alice, bob))
    smtp.data_reply = "450 4.2.0 Mailbox busy"
    outbound_email_deliver(email_id=email.pk)
    email.refresh_from_db()

    assert outbound_email_sweep().enqueued == []
    assert outbound_email_sweep(now=email.next_attempt_at).enqueued == [email.pk]
    # ... and not again on the next sweep: the task it sent is still fresh.
    assert outbound_email_sweep(now=email.next_attempt_at).enqueued == []


def test_it_hands_back_a_row_a_dead_worker_left_sending(alice, bob, platform, settings):
    email = only_email(sent_request(platform, alice, bob))
    stuck_since = timezone.now() - timedelta(minutes=settings.OUTBOUND_EMAIL_STUCK_MINUTES + 1)
    OutboundEmail.objects.filter(pk=email.pk).update(
        state=E.SENDING, claimed_at=stuck_since, attempts=1
    )

    result = outbound_email_sweep()

    assert (result.released, result.enqueued) == (1, [email.pk])
    email.refresh_from_db()
    assert (email.state, email.claimed_at) == (E.PENDING, None)
    assert "never reported back" in email.last_error


def test_it_leaves_a_row_that_is_being_sent_right_now(alice, bob, platform):
    email = only_email(sent_request(platform, alice, bob))
    OutboundEmail.objects.filter(pk=email.pk).update(state=E.SENDING, claimed_at=timezone.now())

    result = outbound_email_sweep()

    assert (result.released, result.enqueued) == (0, [])


def test_it_registers_the_tasks_and_the_sweep_schedule(settings):
    celery_app.loader.import_default_modules()

    assert "notifications.deliver_outbound_email" in celery_app.tasks
    assert "scheduling.run_job" in celery_app.tasks
    schedule = settings.CELERY_BEAT_SCHEDULE["tick outbound_email_sweep"]
    assert (schedule["task"], schedule["args"], schedule["schedule"]) == (
        "scheduling.run_job",
        ("outbound_email_sweep",),
        60.0,
    )


# --- web-form contacts ----------------------------------------------------------------------


def test_it_asks_for_a_manual_submission_for_web_form_contacts(alice, bob, charlie, platform):
    form = ContactFactory(platform=platform, web_form=True)
    request = sent_request(platform, alice, bob)

    assert OutboundEmail.objects.filter(request=request).count() == 1  # the email contact only
    note = Correspondence.objects.get(request=request, channel=CorrespondenceChannel.WEB_FORM)
    assert note.direction == CorrespondenceDirection.INTERNAL
    assert note.body_text == f"Submit via web form {form.web_form_url}"
    assert list(requests_needing_web_form(request_list_queryset())) == [request]

    request_web_form_record_submission(request=request, contact=form, by=charlie, note="#4711")

    assert list(requests_needing_web_form(request_list_queryset())) == []


def test_it_builds_the_email_when_a_stored_platform_name_has_a_line_break(alice, platform):
    # Stored before the forms refused it: the builder replaces the break, never a 500.
    contact = platform.contacts.get()
    request = awaiting_request(platform, alice, items=1)
    type(platform).objects.filter(pk=platform.pk).update(name="Evil\r\nBcc: x@y.example")
    request.platform.refresh_from_db()

    message = build_request_email(request, contact)

    parsed = message_from_bytes(email_as_bytes(message), policy=policy.default)
    assert "Evil Bcc: x@y.example" in parsed["Subject"]
    assert parsed["Bcc"] is None


def test_it_reuses_one_smtp_session_for_consecutive_emails(alice, bob, platform, smtp):
    """Issue 11, P7: no new SMTP session per email; a session the server closed is replaced."""
    from notifications import services as sending

    sending._mail_connection_drop()
    first = sending._mail_connection()
    assert sending._mail_connection() is first
    first.connection.close()  # the relay hung up while we were idle
    second = sending._mail_connection()
    assert second is not first and second.connection is not None
    sending._mail_connection_drop()
