"""What officers do with received mail: turn a reply into outcomes, attach unmatched mail.

A reply never changes an outcome by itself. An officer reads it and records
what it says, per URL or for all of them; the record says "from the
operator's email, by officer X" and links the message. Auto-replies are
refused outright (an out-of-office is not an answer), and a sender who is not
a contact of the platform needs the officer to confirm they vouch for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

from django.db import transaction

from cases.models import (
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    OutcomeRecord,
    OutcomeSource,
    RemovalRequest,
)
from cases.services.outcomes import request_item_record_outcome
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError
from notifications.inbound.matching import sender_contact
from notifications.models import InboundMail, MatchedBy


def _inbound_email(correspondence: Correspondence) -> None:
    if (
        correspondence.direction != CorrespondenceDirection.INBOUND
        or correspondence.channel != CorrespondenceChannel.EMAIL
    ):
        raise DomainError("Only a received email can be used here.")


def inbound_reply_apply(
    *,
    correspondence: Correspondence,
    line_ids: Sequence[int],
    outcome: str,
    by: Any,
    reason: str = "",
    vouch_for_sender: bool = False,
) -> list[OutcomeRecord]:
    """Record ``outcome`` for the given lines of the reply's request, from this email, by ``by``."""
    require_permission(by, "cases.record_outcome", "record outcomes from an operator's email")
    _inbound_email(correspondence)
    if correspondence.request_id is None:
        raise DomainError("Attach this email to its request first.")
    mail = InboundMail.objects.filter(correspondence=correspondence).first()
    if mail is not None and mail.is_auto_reply:
        raise DomainError("This is an automatic reply; it is never counted as an answer.")
    if (mail is None or not mail.sender_is_contact) and not vouch_for_sender:
        raise DomainError(
            "The sender is not a known contact of this platform. Confirm that you vouch "
            "for this reply before recording outcomes from it."
        )
    if not line_ids:
        raise DomainError("Choose at least one URL.")
    with transaction.atomic(durable=True):
        request = correspondence.request
        assert request is not None
        lines = list(request.lines.filter(pk__in=list(line_ids)).order_by("id"))
        if len(lines) != len(set(line_ids)):
            raise DomainError("Some of those URLs are not in this request.")
        return [
            request_item_record_outcome(
                line=line,
                outcome=outcome,
                source=OutcomeSource.OPERATOR_EMAIL,
                recorded_by=by,
                contact=correspondence.contact,
                reason=reason,
                detail={"email_message_id": correspondence.message_id},
                correspondence=correspondence,
            )
            for line in lines
        ]


def inbound_attach(*, correspondence: Correspondence, reference: str, by: Any) -> Correspondence:
    """Attach an unmatched email to the request with ``reference`` (the officer's call)."""
    require_permission(by, "cases.add_correspondence", "attach received mail to requests")
    _inbound_email(correspondence)
    reference = reference.strip().upper()
    with transaction.atomic(durable=True):
        row = Correspondence.objects.select_for_update().get(pk=correspondence.pk)
        if row.request_id is not None:
            raise DomainError("This email is already attached to a request.")
        request = RemovalRequest.objects.filter(reference=reference).first()
        if request is None:
            raise DomainError(f"No request has the reference {reference!r}.")
        mail, _ = InboundMail.objects.get_or_create(
            correspondence=row, defaults={"received_via": "unknown"}
        )
        sender = _address_of(row.from_address)
        contact = sender_contact(request, sender)
        row.request = request
        row.contact = contact
        row.save(update_fields=["request", "contact"])
        mail.matched_by = MatchedBy.MANUAL
        # Attaching says which request the mail belongs to, not that its forged From is
        # genuine: a sender that failed DMARC/SPF still needs the officer's vouching.
        mail.sender_is_contact = contact is not None and not mail.sender_auth_failure
        mail.save(update_fields=["matched_by", "sender_is_contact"])
        audit_record(
            actor=by,
            action="inbound_mail.attached",
            target=request,
            new={"correspondence": row.pk, "from": row.from_address, "subject": row.subject},
        )
    return row


def _address_of(from_header: str) -> str:
    return parseaddr(from_header)[1].lower()
