"""``mail_ingest``: the one way a received email enters the desk.

Order matters, and is the point of this module:

1. The raw bytes and their SHA-256 are committed first, before any parsing,
   as an unmatched inbound Correspondence. Whatever happens next (a parser
   bug, a crash, a killed process) the message is on record and listed in
   the unmatched queue.
2. The message is parsed (never raising; problems become ``parse_defects``),
   matched to a request, and flagged (auto-reply, sender not a contact).
3. The same Message-ID already on record means a second delivery: the copy
   from step 1 is removed and the existing row returned, so a redelivery by
   a relay or a second poll stores the message once.

Nothing here changes an outcome: a reply only becomes an answer when an
officer records it (``notifications.inbound.outcomes``).
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from cases.models import Correspondence, CorrespondenceChannel, CorrespondenceDirection
from notifications.inbound.matching import match_reply, sender_contact
from notifications.inbound.parsing import ParsedMessage, parse_message, sanitise_html
from notifications.models import InboundAttachment, InboundMail

logger = logging.getLogger(__name__)

SUBJECT_MAX = 1000
ADDRESS_MAX = 400
MESSAGE_ID_MAX = 998


def _store_raw(raw: bytes) -> Correspondence:
    # Durable: the bytes must really be committed before anything else is tried, so
    # mail_ingest refuses to run inside a caller's transaction.
    with transaction.atomic(durable=True):
        return Correspondence.objects.create(
            direction=CorrespondenceDirection.INBOUND,
            channel=CorrespondenceChannel.EMAIL,
            raw=raw,
            raw_sha256=hashlib.sha256(raw).hexdigest(),
        )


def _existing_copy(row: Correspondence, parsed: ParsedMessage) -> Correspondence | None:
    inbound = Correspondence.objects.filter(
        direction=CorrespondenceDirection.INBOUND, channel=CorrespondenceChannel.EMAIL
    ).exclude(pk=row.pk)
    if parsed.message_id:
        return (
            Correspondence.objects.exclude(pk=row.pk)
            .filter(message_id=parsed.message_id[:MESSAGE_ID_MAX])
            .first()
        )
    # No Message-ID: only byte-identical bytes are the same message.
    return inbound.filter(message_id="", raw_sha256=row.raw_sha256).order_by("id").first()


def mail_ingest(
    raw: bytes, *, received_via: str, envelope_recipients: list[str] | None = None
) -> Correspondence:
    """Store ``raw`` unchanged, then read, match and flag it. Returns the stored message.

    ``envelope_recipients`` are the SMTP RCPT TO addresses when the receiver
    knows them: the reply address token is found there even if a client
    rewrote the To header.
    """
    raw = bytes(raw)
    row = _store_raw(raw)
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
    contact = sender_contact(match.request, parsed.from_address) if match.request else None
    sanitised = sanitise_html(parsed.html) if parsed.html else None
    try:
        with transaction.atomic():
            existing = _existing_copy(row, parsed)
            if existing is not None:
                Correspondence.objects.filter(pk=row.pk).delete()
                return existing
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
                parse_defects="\n".join(parsed.defects),
                reply_text=parsed.reply_text,
                signature=parsed.signature,
                html=sanitised if sanitised is not None else parsed.html,
                html_is_sanitised=sanitised is not None,
                envelope_recipients=envelope,
            )
            _store_attachments(row, parsed)
    except IntegrityError:
        # Another delivery of the same Message-ID committed between our check and save.
        existing = (
            Correspondence.objects.exclude(pk=row.pk).filter(message_id=row.message_id).first()
        )
        if existing is None:
            raise
        Correspondence.objects.filter(pk=row.pk).delete()
        return existing
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
