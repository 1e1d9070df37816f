"""``mail_ingest``: the one way a received email enters the desk.

Order matters, and is the point of this module:

1. The raw bytes and their SHA-256 are committed first, before any parsing,
   as an unmatched inbound Correspondence. Whatever happens next (a parser
   bug, a crash, a killed process) the message is on record and listed in
   the unmatched queue.
2. The message is parsed (never raising; problems become ``parse_defects``),
   matched to a request, and flagged (auto-reply, sender not a contact).
3. The same raw bytes already on record (same SHA-256) mean a second delivery:
   step 1 finds the existing row instead of storing a copy, so a redelivery
   by a relay or a second poll stores the message once. Two *different*
   messages that share a Message-ID are both stored (decision 0019, 7b).

Nothing here changes an outcome: a reply only becomes an answer when an
officer records it (``notifications.inbound.outcomes``).
"""

from __future__ import annotations

import email.policy
import hashlib
import logging
from email.parser import BytesHeaderParser

from django.conf import settings
from django.db import IntegrityError, transaction

from cases.models import Correspondence, CorrespondenceChannel, CorrespondenceDirection
from notifications.inbound.authresults import authentication_failure
from notifications.inbound.matching import Match, match_reply, sender_contact
from notifications.inbound.parsing import ParsedMessage, parse_message, sanitise_html
from notifications.models import InboundAttachment, InboundMail, MatchedBy

logger = logging.getLogger(__name__)

SUBJECT_MAX = 1000
ADDRESS_MAX = 400
MESSAGE_ID_MAX = 998


def _store_raw(raw: bytes) -> tuple[Correspondence, bool]:
    """The stored row for these bytes, and whether this call stored it."""
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        # Durable: the bytes must really be committed before anything else is tried, so
        # mail_ingest refuses to run inside a caller's transaction.
        with transaction.atomic(durable=True):
            row = Correspondence.objects.create(
                direction=CorrespondenceDirection.INBOUND,
                channel=CorrespondenceChannel.EMAIL,
                raw=raw,
                raw_sha256=sha256,
            )
    except IntegrityError:
        # correspondence_inbound_email_raw_unique: these exact bytes are on record.
        existing = _existing_copy(sha256)
        if existing is None:
            raise
        return existing, False
    return row, True


def _existing_copy(sha256: str) -> Correspondence | None:
    # The same bytes are the same message (a relay's redelivery, a second poll). The
    # Message-ID is no identity: senders reuse it for different messages (decision 0019).
    return (
        Correspondence.objects.filter(
            direction=CorrespondenceDirection.INBOUND,
            channel=CorrespondenceChannel.EMAIL,
            raw_sha256=sha256,
        )
        .order_by("id")
        .first()
    )


def mail_ingest(
    raw: bytes, *, received_via: str, envelope_recipients: list[str] | None = None
) -> Correspondence:
    """Store ``raw`` unchanged, then read, match and flag it. Returns the stored message.

    ``envelope_recipients`` are the SMTP RCPT TO addresses when the receiver
    knows them: the reply address token is found there even if a client
    rewrote the To header.
    """
    raw = bytes(raw)
    row, stored_now = _store_raw(raw)
    if not stored_now and InboundMail.objects.filter(correspondence=row).exists():
        return row
    # Stored now, or stored by a delivery that died before reading it: read it (again).
    try:
        return _read_into(row, raw, received_via=received_via, envelope=envelope_recipients or [])
    except Exception as error:
        # Never lose the message: it stays stored, unmatched, with what went wrong.
        logger.exception("Inbound mail %s could not be read; kept raw and unmatched.", row.pk)
        InboundMail.objects.update_or_create(
            correspondence=row,
            defaults={
                "received_via": received_via[:200],
                "parse_defects": f"ingest: {type(error).__name__}: {error}",
            },
        )
        return row


def _read_into(
    row: Correspondence, raw: bytes, *, received_via: str, envelope: list[str]
) -> Correspondence:
    parsed = parse_message(raw)
    match = match_reply(
        recipients=[*envelope, *parsed.recipients],
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        subject=parsed.subject,
        exclude_pk=row.pk,
    )
    review_reason = auth_failure = ""
    if match.request is not None and match.matched_by == MatchedBy.SUBJECT_REFERENCE:
        # Anyone can type a reference into a subject: without the reply address or
        # In-Reply-To, the From address is the only claim, and the unit's own server
        # says it is forged. Such a mail is no reply on the request: it waits in the
        # unmatched queue for an officer, and nothing it says is applied.
        forged = authentication_failure(raw, from_address=parsed.from_address)
        if forged is not None:
            auth_failure = forged[:300]
            review_reason = (
                f"Sender not trusted: {forged}. The subject names {match.request.reference}; "
                "attach it only if you know the sender."
            )[:1000]
            match = Match(request=None, matched_by=MatchedBy.NONE)
    contact = sender_contact(match.request, parsed.from_address) if match.request else None
    defects = list(parsed.defects)
    sanitised = sanitise_html(parsed.html) if parsed.html else None
    try:
        with transaction.atomic():
            row.request = match.request
            row.contact = contact
            row.from_address = (parsed.from_header or parsed.from_address)[:ADDRESS_MAX]
            row.to_addresses = [address[:ADDRESS_MAX] for address in parsed.to_addresses]
            row.subject = parsed.subject[:SUBJECT_MAX]
            row.body_text = parsed.text
            row.message_id = parsed.message_id[:MESSAGE_ID_MAX]
            row.in_reply_to = parsed.in_reply_to[:MESSAGE_ID_MAX]
            # Not the raw bytes again: they were written once, in step 1.
            row.save(
                update_fields=[
                    "request", "contact", "from_address", "to_addresses", "subject",
                    "body_text", "message_id", "in_reply_to",
                ]
            )  # fmt: skip
            InboundMail.objects.create(
                correspondence=row,
                received_via=received_via[:200],
                matched_by=match.matched_by,
                is_auto_reply=bool(parsed.auto_reply_reasons),
                auto_reply_reasons=parsed.auto_reply_reasons,
                sender_is_contact=contact is not None,
                parse_defects="\n".join(defects),
                review_reason=review_reason,
                sender_auth_failure=auth_failure,
                reply_text=parsed.reply_text,
                signature=parsed.signature,
                html=sanitised if sanitised is not None else parsed.html,
                html_is_sanitised=sanitised is not None,
                envelope_recipients=envelope,
            )
            _store_attachments(row, parsed)
    except IntegrityError:
        # A concurrent delivery of the same bytes read the row first (InboundMail is 1:1).
        if not InboundMail.objects.filter(correspondence=row).exists():
            raise
        row.refresh_from_db()
    return row


def mail_record_refused(
    *, headers: bytes, size: int, limit: int, received_via: str
) -> Correspondence:
    """Put an oversize message on record without its bytes (IMAP: it was never fetched).

    ``headers`` are whatever header lines were cheaply fetched (From, Subject,
    Message-ID). The row lands in the unmatched queue with the reason, so staff
    know a reply arrived and can ask the sender for a smaller one; the message
    itself stays in the mailbox. A second call for the same message (a poll that
    died before flagging it) returns the first record.
    """
    parsed = BytesHeaderParser(policy=email.policy.default).parsebytes(headers)
    from_header = str(parsed.get("From", "") or "")[:ADDRESS_MAX]
    subject = str(parsed.get("Subject", "") or "")[:SUBJECT_MAX]
    message_id = str(parsed.get("Message-ID", "") or "").strip()
    reason = f"Refused: too large ({size} bytes; the limit is {limit} bytes). Not fetched"
    reason += f", still in the mailbox (Message-ID {message_id})." if message_id else "."
    reason = reason[:1000]
    with transaction.atomic(durable=True):
        existing = (
            Correspondence.objects.filter(
                direction=CorrespondenceDirection.INBOUND,
                channel=CorrespondenceChannel.EMAIL,
                from_address=from_header,
                subject=subject,
                inbound_mail__received_via=received_via[:200],
                inbound_mail__review_reason=reason,
            )
            .order_by("id")
            .first()
        )
        if existing is not None:
            return existing
        # No raw bytes and no message_id: the row is a note that a message exists, not
        # the message, so it must never be taken for a stored copy of it.
        row = Correspondence.objects.create(
            direction=CorrespondenceDirection.INBOUND,
            channel=CorrespondenceChannel.EMAIL,
            from_address=from_header,
            subject=subject,
        )
        InboundMail.objects.create(
            correspondence=row,
            received_via=received_via[:200],
            review_reason=reason,
        )
    logger.warning(
        "Inbound mail of %d bytes refused (limit %d); recorded as %s.", size, limit, row.pk
    )
    return row


def _store_attachments(row: Correspondence, parsed: ParsedMessage) -> None:
    limit = settings.INBOUND_ATTACHMENT_MAX_BYTES
    InboundAttachment.objects.bulk_create(
        InboundAttachment(
            correspondence=row,
            filename=attachment.filename,
            content_type=attachment.content_type[:200],
            size=len(attachment.content),
            sha256=attachment.sha256,
            # Over the limit: hash and size only; the raw message still holds the bytes.
            content=attachment.content if len(attachment.content) <= limit else None,
        )
        for attachment in parsed.attachments
    )
