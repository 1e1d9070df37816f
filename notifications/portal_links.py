"""Portal links in outgoing email: withheld in every stored copy, filled in at delivery.

Decision 0017. An email is frozen to bytes when it is queued (the ledger sends
those bytes, every retry the same), but the portal token must never be at rest
in clear. So the frozen message carries ``portal.services.WITHHELD_TOKEN``
where the token goes, and the worker, right before the SMTP conversation,
issues a fresh token for the link and puts it in the outgoing bytes only. The
timeline, the ledger and the database hold the masked message.

The placeholder is in the token alphabet, so it reaches the bytes literally in
an 8bit body. A body with a line over 998 bytes is quoted-printable, whose soft
line breaks (``=`` CRLF) may fall inside the placeholder; the pattern allows
them, and the token (also QP-literal) replaces the placeholder with its breaks.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from cases.models import RemovalRequest
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError, IllegalTransition
from notifications.emails import build_request_email
from notifications.models import OutboundEmail
from platforms.models import ContactChannel
from portal.models import PortalLink
from portal.services import (
    DEAD_REQUEST_STATES,
    WITHHELD_TOKEN,
    portal_link_invalidate_token,
    portal_link_token_for_delivery,
    portal_url_withheld,
)

_SOFT_BREAK = rb"(?:=\r?\n)?"
WITHHELD_IN_BYTES = re.compile(
    _SOFT_BREAK.join(re.escape(bytes([char])) for char in WITHHELD_TOKEN.encode("ascii"))
)


def carries_withheld_link(raw: bytes) -> bool:
    return WITHHELD_IN_BYTES.search(raw) is not None


def with_token(raw: bytes, token: str) -> bytes:
    """The stored bytes with the real token wherever the placeholder stands."""
    return WITHHELD_IN_BYTES.sub(token.encode("ascii"), raw)


def fill_portal_link(*, raw: bytes, request_id: int, contact_id: int | None) -> bytes:
    """The bytes to send: a fresh token in place of the placeholder, when there is a live link."""
    if contact_id is None or not carries_withheld_link(raw):
        return raw
    token = portal_link_token_for_delivery(request_id=request_id, contact_id=contact_id)
    return raw if token is None else with_token(raw, token)


def portal_link_reissue(*, link: PortalLink, by: Any) -> OutboundEmail:
    """Staff re-send a contact's portal link: the old token dies now, a new one goes by email.

    Staff never see a token (none is stored); the new link reaches the contact's
    mailbox through the normal ledger, issued by the worker at delivery.
    """
    # notifications.services imports this module for delivery: import its queue here.
    from notifications.services import email_deliver_after_commit, email_queue

    require_permission(by, "cases.approve_request", "re-issue portal links")
    with transaction.atomic(durable=True):
        link = (
            PortalLink.objects.select_for_update()
            .select_related("request__platform", "contact__platform")
            .get(pk=link.pk)
        )
        request: RemovalRequest = link.request
        contact = link.contact
        if request.state in DEAD_REQUEST_STATES:
            raise IllegalTransition(
                f"Request {request.reference} is not open for answers; no link can be re-issued."
            )
        if not contact.is_active or contact.channel != ContactChannel.EMAIL or not contact.email:
            raise DomainError(f"{contact} is not an active email contact.")
        was_revoked = link.revoked_at is not None
        portal_link_invalidate_token(link=link)
        message = build_request_email(request, contact, portal_url=portal_url_withheld())
        email = email_queue(request=request, message=message, contact=contact, author=by)
        audit_record(
            actor=by,
            action="portal.link_reissued",
            target=request,
            old={"contact": contact.pk, "revoked": was_revoked},
            new={"contact": contact.pk, "email": email.pk},
        )
        email_deliver_after_commit(email)
    return email
