"""Which request a received email answers: reply address, then Message-IDs, then the subject.

The reply address is derived, not stored: ``reply+<reference>-<contact id>-<hmac>@REPLY_DOMAIN``.
The HMAC (SECRET_KEY over reference and contact) makes it unforgeable without
a new column anywhere, so the same address can be rebuilt when the email is
built and checked when a reply comes back. It identifies the request and the
contact it was sent to; it is not a capability (it grants nothing by itself:
an officer still decides what a reply means).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, When

from cases.models import Correspondence, CorrespondenceDirection, RemovalRequest
from notifications.models import MatchedBy, OutboundEmail
from platforms.models import Contact

REFERENCE = re.compile(r"\bTKD-(\d{4})-(\d{6})\b", re.IGNORECASE)
_TOKEN = re.compile(r"^reply\+(tkd-\d{4}-\d{6})-(\d{1,18})-([0-9a-f]{16})@(.+)$")


def _token_hmac(reference: str, contact_id: int) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{reference}:{contact_id}".encode(), hashlib.sha256
    )
    return digest.hexdigest()[:16]


def reply_address_for(request: RemovalRequest, contact: Contact) -> str:
    """The Reply-To of ``request`` sent to ``contact``; replies to it find their way back."""
    token = _token_hmac(request.reference, contact.pk)
    return f"reply+{request.reference.lower()}-{contact.pk}-{token}@{settings.REPLY_DOMAIN}"


@dataclass(frozen=True)
class Match:
    request: RemovalRequest | None
    matched_by: MatchedBy
    # The contact the request was sent to, when the reply address says so.
    addressed_contact: Contact | None = None


NO_MATCH = Match(request=None, matched_by=MatchedBy.NONE)


def _by_reply_address(recipients: Iterable[str]) -> Match | None:
    for address in recipients:
        found = _TOKEN.match(address.strip().lower())
        if found is None:
            continue
        reference, contact_id, token, domain = found.groups()
        if domain != settings.REPLY_DOMAIN.lower():
            continue
        reference = reference.upper()
        if not hmac.compare_digest(token, _token_hmac(reference, int(contact_id))):
            continue
        request = RemovalRequest.objects.filter(reference=reference).first()
        if request is None:
            continue
        contact = Contact.objects.filter(pk=int(contact_id), platform=request.platform_id).first()
        return Match(request=request, matched_by=MatchedBy.REPLY_TOKEN, addressed_contact=contact)
    return None


def _by_message_ids(message_ids: list[str], *, exclude_pk: int | None) -> Match | None:
    if not message_ids:
        return None
    # The newest reference is last in References; In-Reply-To comes first in the list.
    stored = Correspondence.objects.filter(message_id__in=message_ids, request__isnull=False)
    if exclude_pk is not None:
        stored = stored.exclude(pk=exclude_pk)
    # Received Message-IDs are not unique (a sender may reuse one, decision 0019): the
    # ones we minted win, then outbound rows, then the earliest received row, so a
    # later message reusing an ID cannot redirect the thread.
    known: dict[str, int] = dict(
        OutboundEmail.objects.filter(message_id__in=message_ids).values_list(
            "message_id", "request_id"
        )
    )
    ours_first = Case(When(direction=CorrespondenceDirection.OUTBOUND, then=0), default=1)
    for message_id, request_id in stored.order_by(ours_first, "id").values_list(
        "message_id", "request_id"
    ):
        if request_id is not None:
            known.setdefault(message_id, request_id)
    for message_id in message_ids:
        if message_id in known:
            request = RemovalRequest.objects.get(pk=known[message_id])
            return Match(request=request, matched_by=MatchedBy.IN_REPLY_TO)
    return None


def _by_subject(subject: str) -> Match | None:
    for year, number in REFERENCE.findall(subject):
        request = RemovalRequest.objects.filter(reference=f"TKD-{year}-{number}").first()
        if request is not None:
            return Match(request=request, matched_by=MatchedBy.SUBJECT_REFERENCE)
    return None


def match_reply(
    *,
    recipients: Iterable[str],
    in_reply_to: str,
    references: list[str],
    subject: str,
    exclude_pk: int | None = None,
) -> Match:
    """The request a reply answers, trying the strongest evidence first."""
    message_ids = ([in_reply_to] if in_reply_to else []) + list(reversed(references))
    return (
        _by_reply_address(recipients)
        or _by_message_ids(message_ids, exclude_pk=exclude_pk)
        or _by_subject(subject)
        or NO_MATCH
    )


def sender_contact(request: RemovalRequest, from_address: str) -> Contact | None:
    """The active contact of the request's platform who sent this, if the sender is one."""
    if not from_address:
        return None
    return (
        Contact.objects.filter(
            platform=request.platform_id, is_active=True, email__iexact=from_address
        )
        .order_by("-is_primary", "id")
        .first()
    )
