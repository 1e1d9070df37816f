"""Sending removal requests by email, through a ledger that survives a lost broker or worker.

The flow (see notifications.models.OutboundEmail):

1. ``request_approve_and_send`` marks the request sent (cases), freezes one
   message per recipient to bytes in a Correspondence row, writes one ledger
   row each, and only after commit asks Celery to deliver them.
2. ``outbound_email_deliver`` claims a row (pending → sending), sends the
   stored bytes, and records sent / pending-with-backoff / failed.
3. ``outbound_email_sweep`` (every minute) re-enqueues pending rows whose
   hint to the broker was lost and hands back rows a dead worker left in
   "sending", so nothing depends on the broker keeping a message.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from cases.models import (
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    RemovalRequest,
)
from cases.services.requests import request_mark_sent, request_resume_clock
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError, IllegalTransition
from notifications.emails import (
    StoredEmailMessage,
    build_clarification_email,
    build_request_email,
    email_as_bytes,
)
from notifications.models import OutboundEmail, OutboundEmailState
from notifications.portal_links import fill_portal_link
from platforms.models import Contact, ContactChannel
from portal.services import portal_link_issue, portal_url_withheld

logger = logging.getLogger(__name__)

E = OutboundEmailState
ERROR_MAX_LENGTH = 2000
SWEEP_BATCH = 500


@dataclass(frozen=True)
class SendResult:
    request: RemovalRequest
    emails: list[OutboundEmail]
    # Contacts reached only through a web form: an officer must submit it by hand.
    web_form_contacts: list[Contact] = field(default_factory=list)


# --- approving and sending ---------------------------------------------------------


def request_approve_and_send(*, request: RemovalRequest, approver: Any) -> SendResult:
    """Approve ``request`` (four-eyes) and queue one email per active email contact.

    Everything is written in one transaction: the request is sent if and only if
    its ledger rows exist. The broker is told only after commit; if that fails,
    the sweeper finds the pending rows.
    """
    with transaction.atomic(durable=True):
        request = request_mark_sent(request=request, approver=approver)
        contacts = list(
            request.contacts.filter(is_active=True)
            .select_related("platform")
            .order_by("-is_primary", "id")
        )
        emails: list[OutboundEmail] = []
        web_forms: list[Contact] = []
        for contact in contacts:
            if contact.channel == ContactChannel.EMAIL:
                # The link row exists from now on (staff see it); its token is issued
                # by the worker at delivery and only the email carries it (0017).
                portal_link_issue(request=request, contact=contact)
                message = build_request_email(request, contact, portal_url=portal_url_withheld())
                emails.append(
                    email_queue(request=request, message=message, contact=contact, author=approver)
                )
            else:
                web_forms.append(contact)
                _note_web_form_needed(request, contact, author=approver)
        audit_record(
            actor=approver,
            action="request.emails_queued",
            target=request,
            new={
                "emails": [email.to_address for email in emails],
                "web_forms": [contact.web_form_url for contact in web_forms],
            },
        )
        for email in emails:
            email_deliver_after_commit(email)
    return SendResult(request=request, emails=emails, web_form_contacts=web_forms)


def email_queue(
    *,
    request: RemovalRequest,
    message: Any,
    contact: Contact | None = None,
    author: Any = None,
    direction: CorrespondenceDirection = CorrespondenceDirection.OUTBOUND,
) -> OutboundEmail:
    """Freeze ``message`` to bytes on the request's timeline and write its ledger row.

    Every email the system sends goes through here: to an operator's contact
    (outbound), or to the unit's own staff (``direction=INTERNAL``, no contact).
    Call ``email_deliver_after_commit`` on the row in the same transaction.
    """
    raw = email_as_bytes(message)
    message_id = message.extra_headers["Message-ID"]
    correspondence = Correspondence.objects.create(
        request=request,
        direction=direction,
        channel=CorrespondenceChannel.EMAIL,
        contact=contact,
        author=author,
        from_address=message.from_email,
        to_addresses=list(message.to),
        subject=str(message.subject),
        body_text=str(message.body),
        raw=raw,
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        message_id=message_id,
    )
    return OutboundEmail.objects.create(
        request=request,
        correspondence=correspondence,
        contact=contact,
        to_address=message.to[0],
        message_id=message_id,
        subject=str(message.subject),
        next_attempt_at=timezone.now(),
        # The on-commit hint counts as an enqueue: the sweeper leaves the row
        # alone for a while before deciding that hint was lost.
        enqueued_at=timezone.now(),
    )


def email_deliver_after_commit(email: OutboundEmail) -> None:
    """Hint the broker once the transaction commits; the sweeper covers a lost hint."""
    transaction.on_commit(partial(_enqueue_delivery, email.pk), robust=True)


def request_clarification_answer(
    *, request: RemovalRequest, contact: Contact, by: Any, question: str, answer: str
) -> OutboundEmail:
    """The unit answers an operator's question: email it, and restart a paused clock."""
    require_permission(by, "cases.record_outcome", "answer the operator's questions")
    answer = answer.strip()
    if not answer:
        raise DomainError("The answer is empty.")
    if contact.platform_id != request.platform_id or contact.channel != ContactChannel.EMAIL:
        raise DomainError(f"{contact} is not an email contact of {request.platform.name}.")
    with transaction.atomic(durable=True):
        message = build_clarification_email(request, contact, question=question, answer=answer)
        email = email_queue(request=request, message=message, contact=contact, author=by)
        if request.clock_paused_at is not None:
            request_resume_clock(request=request, by=by)
        audit_record(
            actor=by,
            action="request.clarification_answered",
            target=request,
            new={"contact": contact.pk, "email": email.pk},
        )
        email_deliver_after_commit(email)
    return email


def _note_web_form_needed(request: RemovalRequest, contact: Contact, *, author: Any) -> None:
    Correspondence.objects.create(
        request=request,
        direction=CorrespondenceDirection.INTERNAL,
        channel=CorrespondenceChannel.WEB_FORM,
        contact=contact,
        author=author,
        subject=f"[{request.reference}] Manual web-form submission needed",
        body_text=f"Submit via web form {contact.web_form_url}",
    )


def request_web_form_record_submission(
    *, request: RemovalRequest, contact: Contact, by: Any, note: str = ""
) -> Correspondence:
    """An officer submitted the request through the platform's web form by hand."""
    require_permission(by, "cases.add_correspondence", "record web-form submissions")
    if contact.platform_id != request.platform_id or contact.channel != ContactChannel.WEB_FORM:
        raise DomainError(f"{contact} is not a web-form contact of {request.platform.name}.")
    if request.sent_at is None:
        raise IllegalTransition(
            f"Request {request.reference} has not been approved and sent yet; "
            "submit it through the web form after that."
        )
    with transaction.atomic(durable=True):
        row = Correspondence.objects.create(
            request=request,
            direction=CorrespondenceDirection.OUTBOUND,
            channel=CorrespondenceChannel.WEB_FORM,
            contact=contact,
            author=by,
            to_addresses=[contact.web_form_url],
            subject=f"[{request.reference}] Submitted via web form",
            body_text=note or f"Submitted via web form {contact.web_form_url}",
        )
        audit_record(
            actor=by,
            action="request.web_form_submitted",
            target=request,
            new={"contact": contact.pk, "url": contact.web_form_url},
        )
    return row


def _enqueue_delivery(email_id: int) -> None:
    """A hint to the broker; losing it delays the email by a sweep, never loses it."""
    from notifications.tasks import deliver_outbound_email

    try:
        deliver_outbound_email.delay(email_id)
    except Exception:  # the broker is down: the ledger row stays pending
        logger.warning(
            "Could not enqueue outbound email %s; the sweeper will deliver it.",
            email_id,
            exc_info=True,
        )


# --- delivering one row ------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    email_id: int
    claimed_at: datetime
    attempts: int
    to_address: str
    request_id: int
    correspondence_id: int
    contact_id: int | None


def outbound_email_deliver(*, email_id: int, now: datetime | None = None) -> str | None:
    """Send one ledger row if it is pending and due. Returns its new state, or None if skipped.

    Idempotent: a row already sent (or being sent by another worker, or not due
    yet) is left alone, so a duplicated task never sends a message twice.
    """
    claim = _claim(email_id, now=now or timezone.now())
    if claim is None:
        return None
    from_address, raw = Correspondence.objects.values_list("from_address", "raw").get(
        pk=claim.correspondence_id
    )
    if raw is None:  # only a bug could lose the bytes; never send something else instead
        return _record_failure(claim, ValueError("The stored message has no raw MIME bytes."))
    message = StoredEmailMessage(
        # The stored bytes hold a withheld link; the token exists only in what is sent.
        fill_portal_link(raw=bytes(raw), request_id=claim.request_id, contact_id=claim.contact_id),
        from_email=from_address or settings.DEFAULT_FROM_EMAIL,
        to=[claim.to_address],
    )
    try:
        # The SMTP conversation happens outside any transaction: no row lock is
        # held while a remote server takes its time.
        connection = _mail_connection()
        connection.send_messages([message])
    except Exception as error:  # recorded on the row, never swallowed
        _mail_connection_drop()
        return _record_failure(claim, error)
    return _record_sent(claim)


# One mail connection per worker thread, reused from one email to the next (issue 11, P7):
# a new SMTP session per email (TCP, EHLO, STARTTLS, AUTH) cost more than the email.
# Before reuse it is checked with NOOP, and dropped after a while idle (relays close idle
# sessions): an email is never handed to a session already known dead, and any error
# drops the session, so the next email opens a fresh one. Retrying is the ledger's job
# (the row is recorded failed or pending), never done here: nothing is sent twice.
MAIL_CONNECTION_IDLE_SECONDS = 30.0
_mail = threading.local()


def _mail_settings() -> tuple[Any, ...]:
    return tuple(
        getattr(settings, name, None)
        for name in ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER",
                     "EMAIL_USE_TLS", "EMAIL_USE_SSL")
    )  # fmt: skip


def _mail_connection() -> Any:
    backend = getattr(_mail, "backend", None)
    if backend is not None and (
        _mail.settings != _mail_settings()
        or time.monotonic() - _mail.used_at > MAIL_CONNECTION_IDLE_SECONDS
        or not _mail_connection_alive(backend)
    ):
        _mail_connection_drop()
        backend = None
    if backend is None:
        backend = get_connection(fail_silently=False)
        # Opened here, so send_messages sees it open and leaves it open afterwards.
        backend.open()
        _mail.backend = backend
        _mail.settings = _mail_settings()
    _mail.used_at = time.monotonic()
    return backend


def _mail_connection_alive(backend: Any) -> bool:
    session = getattr(backend, "connection", None)
    if session is None:
        return not hasattr(backend, "connection")  # not an SMTP backend: nothing to check
    try:
        return bool(session.noop()[0] == 250)
    except (smtplib.SMTPException, OSError):
        return False


def _mail_connection_drop() -> None:
    backend = getattr(_mail, "backend", None)
    _mail.backend = None
    if backend is not None:
        try:
            backend.close()
        except Exception:
            logger.debug("Closing a broken mail connection failed.", exc_info=True)


def _claim(email_id: int, *, now: datetime) -> _Claim | None:
    with transaction.atomic(durable=True):
        row = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, state=E.PENDING)
            .first()
        )
        if row is None:
            return None  # sent, failed, claimed by another worker, or locked right now
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return None  # backing off; the sweeper enqueues it when it is due
        # Compare-and-swap on the state as well as the lock: only one claim can win.
        claimed = OutboundEmail.objects.filter(pk=row.pk, state=E.PENDING).update(
            state=E.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
        if not claimed:
            return None
    return _Claim(
        email_id=row.pk,
        claimed_at=now,
        attempts=row.attempts + 1,
        to_address=row.to_address,
        request_id=row.request_id,
        correspondence_id=row.correspondence_id,
        contact_id=row.contact_id,
    )


def _record_sent(claim: _Claim) -> str:
    sent_at = timezone.now()
    with transaction.atomic(durable=True):
        # Even if the sweeper handed the row back meanwhile, it *was* sent: say so,
        # so that nobody sends it again.
        updated = (
            OutboundEmail.objects.filter(pk=claim.email_id)
            .exclude(state=E.SENT)
            .update(
                state=E.SENT,
                sent_at=sent_at,
                last_error="",
                next_attempt_at=None,
                claimed_at=None,
            )
        )
        if updated:
            audit_record(
                actor=None,
                actor_label="system",
                action="outbound_email.sent",
                target=RemovalRequest(pk=claim.request_id),
                new={"email": claim.email_id, "to": claim.to_address, "attempt": claim.attempts},
            )
    return E.SENT


def smtp_error_is_permanent(error: BaseException) -> bool:
    """5xx answers are permanent; 4xx answers, lost connections and timeouts are transient."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPConnectError):
        return False  # a server that refuses us now may take us in a minute
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    # SMTPServerDisconnected, timeouts, refused connections (OSError) and anything
    # unexpected: retried, within the attempt limit.
    return False


def describe_error(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        parts = [
            f"{address}: {code} {_decode(reply)}"
            for address, (code, reply) in error.recipients.items()
        ]
        return "Recipient refused: " + "; ".join(parts)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: {error.smtp_code} {_decode(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"


def _decode(reply: bytes | str) -> str:
    return reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else reply


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failed try: base, 2x base, 4x base, ... up to the cap."""
    base = settings.OUTBOUND_EMAIL_RETRY_BASE_SECONDS
    seconds = min(base * 2 ** max(attempts - 1, 0), settings.OUTBOUND_EMAIL_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds)


def _record_failure(claim: _Claim, error: BaseException) -> str:
    now = timezone.now()
    description = describe_error(error)[:ERROR_MAX_LENGTH]
    permanent = smtp_error_is_permanent(error)
    max_attempts = settings.OUTBOUND_EMAIL_MAX_ATTEMPTS
    if permanent:
        state, next_attempt_at = E.FAILED, None
    elif claim.attempts >= max_attempts:
        state, next_attempt_at = E.FAILED, None
        description = f"Gave up after {claim.attempts} attempts. {description}"[:ERROR_MAX_LENGTH]
    else:
        state, next_attempt_at = E.PENDING, now + retry_delay(claim.attempts)
    with transaction.atomic(durable=True):
        # Only our own claim is ours to settle; the sweeper may have handed it back.
        updated = OutboundEmail.objects.filter(
            pk=claim.email_id, state=E.SENDING, claimed_at=claim.claimed_at
        ).update(
            state=state,
            last_error=description,
            next_attempt_at=next_attempt_at,
            enqueued_at=None,
            claimed_at=None,
        )
        if updated:
            audit_record(
                actor=None,
                actor_label="system",
                action="outbound_email.failed" if state == E.FAILED else "outbound_email.retrying",
                target=RemovalRequest(pk=claim.request_id),
                new={"email": claim.email_id, "to": claim.to_address, "state": state},
                extra={"error": description, "attempt": claim.attempts},
            )
    logger.warning(
        "Outbound email %s to %s: attempt %s %s: %s",
        claim.email_id,
        claim.to_address,
        claim.attempts,
        "failed" if state == E.FAILED else "will be retried",
        description,
    )
    return state


# --- the sweeper and manual retry ------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    enqueued: list[int]
    released: int
    given_up: int


def outbound_email_sweep(*, now: datetime | None = None) -> SweepResult:
    """Re-find work a lost broker message or a dead worker left behind. Runs every minute."""
    now = now or timezone.now()
    stuck_before = now - timedelta(minutes=settings.OUTBOUND_EMAIL_STUCK_MINUTES)
    requeue_before = now - timedelta(seconds=settings.OUTBOUND_EMAIL_REQUEUE_AFTER_SECONDS)
    stuck_note = (
        "A worker claimed this message and never reported back (it may have died "
        "mid-send); handed back by the sweeper."
    )
    with transaction.atomic(durable=True):
        stuck = OutboundEmail.objects.filter(state=E.SENDING, claimed_at__lt=stuck_before)
        # A message that kills its worker every time must not loop forever.
        given_up = stuck.filter(attempts__gte=settings.OUTBOUND_EMAIL_MAX_ATTEMPTS).update(
            state=E.FAILED, claimed_at=None, next_attempt_at=None, last_error=stuck_note
        )
        released = stuck.update(
            state=E.PENDING, claimed_at=None, next_attempt_at=now, enqueued_at=None,
            last_error=stuck_note,
        )  # fmt: skip
        due = list(
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(state=E.PENDING, next_attempt_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=requeue_before))
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:SWEEP_BATCH]
        )
        OutboundEmail.objects.filter(pk__in=due).update(enqueued_at=now)
        for email_id in due:
            transaction.on_commit(partial(_enqueue_delivery, email_id), robust=True)
    if due or released or given_up:
        logger.info(
            "Outbound email sweep: %s enqueued, %s handed back, %s given up",
            len(due),
            released,
            given_up,
        )
    return SweepResult(enqueued=due, released=released, given_up=given_up)


def outbound_email_sweep_job(*, now: datetime) -> dict[str, int]:
    """The sweeper as a periodic job (scheduling.jobs): its counts go on the health page."""
    result = outbound_email_sweep(now=now)
    return {"enqueued": len(result.enqueued), "handed_back": result.released,
            "given_up": result.given_up}  # fmt: skip


def imap_poll_job(*, now: datetime) -> dict[str, int]:
    """Ingest unseen replies from the unit mailbox in IMAP_URL; nothing when it is unset."""
    from notifications.inbound.imap import imap_poll, imap_settings_from_url

    if not settings.IMAP_URL:
        return {"ingested": 0}
    imap = imap_settings_from_url(settings.IMAP_URL)
    result = imap_poll(
        host=imap.host,
        port=imap.port,
        user=imap.user,
        password=imap.password,
        mailbox=imap.mailbox,
        ssl=imap.ssl,
    )
    return {"ingested": len(result.ingested)}


def outbound_email_retry(*, email: OutboundEmail, by: Any) -> OutboundEmail:
    """A supervisor asks for one more try of a failed message (e.g. after fixing the relay)."""
    require_permission(by, "cases.approve_request", "retry failed emails")
    with transaction.atomic(durable=True):
        email = OutboundEmail.objects.select_for_update().get(pk=email.pk)
        if email.state != E.FAILED:
            raise IllegalTransition(
                f"The email to {email.to_address} is "
                f"{OutboundEmailState(email.state).label.lower()}; "
                "only a failed one can be retried."
            )
        audit_record(
            actor=by,
            action="outbound_email.retry_requested",
            target=RemovalRequest(pk=email.request_id),
            old={"email": email.pk, "state": email.state, "attempts": email.attempts},
            extra={"error": email.last_error},
        )
        email.state = E.PENDING
        email.attempts = 0  # the audit row keeps the earlier count
        email.next_attempt_at = timezone.now()
        email.enqueued_at = timezone.now()
        email.save(update_fields=["state", "attempts", "next_attempt_at", "enqueued_at"])
        email_deliver_after_commit(email)
    return email
