"""Correspondence rows for the demo's timelines: emails out and in, portal answers, notes.

The real messages will be built and sent by ``notifications``; the demo only records what
such an exchange leaves behind, with raw MIME for emails as the real ones will have.
``created_at`` is the time of writing; the loader back-dates the rows.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from django.conf import settings

from cases.models import (
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    RemovalRequest,
)
from platforms.models import Contact


def unit_domain() -> str:
    return settings.UNIT_EMAIL.rpartition("@")[2]


def email_record(
    *,
    request: RemovalRequest,
    inbound: bool,
    contact: Contact | None,
    author: Any,
    sender: str,
    recipients: list[str],
    subject: str,
    body: str,
    when: datetime,
    message_id: str,
    in_reply_to: str = "",
) -> Correspondence:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    message.set_content(body)
    raw = message.as_bytes()
    row = Correspondence.objects.create(
        request=request,
        direction=CorrespondenceDirection.INBOUND if inbound else CorrespondenceDirection.OUTBOUND,
        channel=CorrespondenceChannel.EMAIL,
        contact=contact,
        author=author,
        from_address=sender,
        to_addresses=recipients,
        subject=subject,
        body_text=body,
        raw=raw,
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        message_id=message_id,
        in_reply_to=in_reply_to,
    )
    return row


def request_message_id(request: RemovalRequest, suffix: str) -> str:
    return f"<{request.reference.lower()}.{suffix}@{unit_domain()}>"


def request_subject(request: RemovalRequest) -> str:
    count = request.lines.count()
    kind = "Removal order" if request.request_type == "removal_order" else "Referral"
    urls = "1 URL" if count == 1 else f"{count} URLs"
    return f"[{request.reference}] {kind}: {urls} on {request.platform}"


def request_body(request: RemovalRequest) -> str:
    lines = [
        f"{settings.UNIT_NAME} asks {request.platform} to review the content below.",
        f"Reference: {request.reference}",
        f"Answer by: {request.deadline:%Y-%m-%d %H:%M %Z}" if request.deadline else "",
        "",
    ]
    for number, line in enumerate(request.lines.select_related("item"), start=1):
        item = line.item
        lines.append(f"{number}. {item.url_normalised}")
        lines.append(f"   {item.get_category_display()}: {item.assessment_note}")
    lines += ["", "Answer per URL with the link in this email, or reply to this message."]
    return "\n".join(lines)


def portal_record(
    *, request: RemovalRequest, payload: dict[str, Any], summary: str
) -> Correspondence:
    row = Correspondence.objects.create(
        request=request,
        direction=CorrespondenceDirection.INBOUND,
        channel=CorrespondenceChannel.PORTAL,
        subject=f"Portal answer to {request.reference}",
        body_text=summary,
        payload=payload,
    )
    return row


def note_record(*, request: RemovalRequest, author: Any, text: str) -> Correspondence:
    row = Correspondence.objects.create(
        request=request,
        direction=CorrespondenceDirection.INTERNAL,
        channel=CorrespondenceChannel.NOTE,
        author=author,
        subject="Staff note",
        body_text=text,
    )
    return row


def web_form_record(*, request: RemovalRequest, contact: Contact, author: Any) -> Correspondence:
    row = Correspondence.objects.create(
        request=request,
        direction=CorrespondenceDirection.OUTBOUND,
        channel=CorrespondenceChannel.WEB_FORM,
        contact=contact,
        author=author,
        to_addresses=[contact.web_form_url],
        subject=request_subject(request),
        body_text=f"Submitted through {contact.web_form_url}\n\n{request_body(request)}",
    )
    return row
