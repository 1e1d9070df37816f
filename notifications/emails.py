"""The one place that builds outgoing email: subject, text and HTML bodies, headers.

Every message to an operator goes through ``build_request_email`` so that the
subject format, the Message-ID domain, Reply-To and the tracking headers are
the same everywhere. Bodies come from templates rendered in the contact's
language, so translating them is adding catalogues, not changing code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formataddr, make_msgid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext, ngettext

from cases.documents import removal_order_filename, removal_order_pdf
from cases.models import ItemCategory, LegalBasis, RemovalRequest, RequestType
from core.validators import header_safe
from notifications.inbound.matching import reply_address_for
from platforms.models import Contact

TEXT_TEMPLATE = "notifications/email/request.txt"
HTML_TEMPLATE = "notifications/email/request.html"


@dataclass(frozen=True)
class EmailLine:
    number: int
    url: str
    category: str
    # Only http(s) URLs become links in the HTML part; anything else stays text.
    is_web: bool


def message_id_for(request: RemovalRequest) -> str:
    """A fresh, globally unique Message-ID on the unit's domain.

    No reference in it (that is in the subject and X-TKD-Reference): a short ID
    fits on one header line, so no relay or client has to unfold it to match replies.
    """
    return make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN)


def format_deadline(deadline: datetime | None) -> tuple[str, str]:
    """The deadline in UTC and in the unit's time zone (operators may be anywhere)."""
    if deadline is None:
        return "", ""
    utc = deadline.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    zone = ZoneInfo(settings.TIME_ZONE)
    local = deadline.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    return utc, f"{local}, {settings.TIME_ZONE}"


def request_subject(request: RemovalRequest, *, url_count: int) -> str:
    """``[TKD-2026-000123] …`` — the reference first, so replies can be matched by subject too."""
    if request.request_type == RequestType.REMOVAL_ORDER:
        hours = settings.REMOVAL_ORDER_DEADLINE_HOURS
        what = ngettext(
            "Removal order for %(count)d URL on %(platform)s",
            "Removal order for %(count)d URLs on %(platform)s",
            url_count,
        ) % {"count": url_count, "platform": request.platform.name}
        what += " " + ngettext(
            "(act within %(hours)d hour)", "(act within %(hours)d hours)", hours
        ) % {"hours": hours}
    else:
        what = ngettext(
            "Referral of %(count)d URL on %(platform)s",
            "Referral of %(count)d URLs on %(platform)s",
            url_count,
        ) % {"count": url_count, "platform": request.platform.name}
    if request.threat_to_life:
        what = gettext("URGENT, threat to life: %(what)s") % {"what": what}
    return f"[{request.reference}] {what}"


def _lines(request: RemovalRequest) -> list[EmailLine]:
    lines = request.lines.select_related("item").order_by("id")
    return [
        EmailLine(
            number=number,
            url=line.item.url_normalised,
            category=str(ItemCategory(line.item.category).label),
            is_web=line.item.url_normalised.startswith(("https://", "http://")),
        )
        for number, line in enumerate(lines, start=1)
    ]


def build_request_email(
    request: RemovalRequest, contact: Contact, *, portal_url: str = "", attach_order: bool = True
) -> EmailMultiAlternatives:
    """The email that sends ``request`` to ``contact``, in the contact's language.

    Called once per recipient when the request is sent; the result is frozen to
    bytes and stored, and retries send those bytes (never a rebuilt message).
    """
    language = contact.effective_language
    with translation.override(language):
        lines = _lines(request)
        deadline_utc, deadline_local = format_deadline(request.deadline)
        context = {
            "unit_name": settings.UNIT_NAME,
            "unit_email": settings.UNIT_EMAIL,
            "reference": request.reference,
            "platform_name": request.platform.name,
            "contact_name": contact.name,
            "is_removal_order": request.request_type == RequestType.REMOVAL_ORDER,
            "request_type": str(RequestType(request.request_type).label),
            "legal_basis": str(LegalBasis(request.legal_basis).label),
            "deadline_utc": deadline_utc,
            "deadline_local": deadline_local,
            "deadline_hours": settings.REMOVAL_ORDER_DEADLINE_HOURS,
            "response_target_days": request.platform.response_target_days,
            "threat_to_life": request.threat_to_life,
            "is_emergency": request.is_emergency,
            "lines": lines,
            # The capability link to the portal (a secret: never logged).
            "portal_url": portal_url,
            # Per request and contact, so a reply finds its request (notifications.inbound).
            "reply_to": reply_address_for(request, contact),
        }
        subject = request_subject(request, url_count=len(lines))
        text = render_to_string(TEXT_TEMPLATE, context)
        html = render_to_string(HTML_TEMPLATE, context)
        # A removal order travels with its Annex I document, in the contact's language.
        is_order = request.request_type == RequestType.REMOVAL_ORDER
        order_pdf = removal_order_pdf(request) if is_order and attach_order else None

    message = EmailMultiAlternatives(
        subject=header_safe(subject),
        body=text,
        from_email=formataddr((header_safe(settings.UNIT_NAME), settings.DEFAULT_FROM_EMAIL)),
        to=[contact.email],
        reply_to=[context["reply_to"]],
        headers={
            "Message-ID": message_id_for(request),
            "Content-Language": language,
            "X-TKD-Reference": request.reference,
            "X-TKD-Request-Type": request.request_type,
        },
    )
    message.attach_alternative(html, "text/html")
    if order_pdf is not None:
        message.attach(removal_order_filename(request), order_pdf, "application/pdf")
    return message


CLARIFICATION_TEMPLATE = "notifications/email/clarification.txt"


def build_clarification_email(
    request: RemovalRequest, contact: Contact, *, question: str, answer: str
) -> EmailMultiAlternatives:
    """The unit's answer to an operator's clarification question (plain text, their language)."""
    language = contact.effective_language
    with translation.override(language):
        deadline_utc, deadline_local = format_deadline(request.deadline)
        context = {
            "unit_name": settings.UNIT_NAME,
            "reference": request.reference,
            "contact_name": contact.name,
            "question": question,
            "answer": answer,
            "deadline_utc": deadline_utc,
            "deadline_local": deadline_local,
        }
        subject = "[{}] {}".format(
            request.reference, gettext("Answer to your question about our request")
        )
        text = render_to_string(CLARIFICATION_TEMPLATE, context)
    return EmailMultiAlternatives(
        subject=header_safe(subject),
        body=text,
        from_email=formataddr((header_safe(settings.UNIT_NAME), settings.DEFAULT_FROM_EMAIL)),
        to=[contact.email],
        reply_to=[reply_address_for(request, contact)],
        headers={
            "Message-ID": message_id_for(request),
            "Content-Language": language,
            "X-TKD-Reference": request.reference,
        },
    )


def email_as_bytes(message: EmailMessage) -> bytes:
    """The message exactly as it goes on the wire (CRLF line endings, as SMTP wants)."""
    return message.message().as_bytes(linesep="\r\n")


class _FrozenMIME:
    """Stands in for Django's MIME object: always yields the stored bytes, unchanged."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        # Stored with CRLF; a backend that asks for another line ending (console,
        # file) gets the same message with that ending, and SMTP gets the exact bytes.
        if linesep == "\r\n":
            return self.raw
        return self.raw.replace(b"\r\n", linesep.encode("ascii"))

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(unixfrom, linesep).decode("utf-8", errors="replace")

    def get_charset(self) -> None:
        return None


class StoredEmailMessage(EmailMessage):
    """An already-built message, sent as its stored bytes through any Django email backend.

    Why not rebuild the EmailMessage or call ``connection.connection.sendmail``:
    rebuilding gives a new Date and body encoding on each retry, so the bytes on
    record would not be the bytes delivered; reaching into the SMTP socket ties
    us to one backend. Overriding ``message()`` keeps Django's backends (SMTP with
    its TLS/auth settings, locmem in tests, console) and sends the ledger's bytes
    exactly, so every retry is identical and carries the same Message-ID.
    """

    def __init__(self, raw: bytes, *, from_email: str, to: list[str]) -> None:
        super().__init__(from_email=from_email, to=to)
        self.raw = raw

    def message(self) -> _FrozenMIME:
        return _FrozenMIME(self.raw)


REMINDER_TEXT_TEMPLATE = "notifications/email/reminder.txt"
REMINDER_HTML_TEMPLATE = "notifications/email/reminder.html"


def build_reminder_email(
    request: RemovalRequest,
    contact: Contact,
    *,
    open_urls: list[str],
    number: int,
    portal_url: str = "",
) -> EmailMultiAlternatives:
    """Reminder ``number`` (1 or 2) of the follow-up ladder, in the contact's language.

    Same reference in the subject and the same reply address as the request, so an
    answer to it lands on the request; lists only the URLs still without an answer.
    """
    language = contact.effective_language
    with translation.override(language):
        deadline_utc, deadline_local = format_deadline(request.deadline)
        lines = [
            EmailLine(
                number=position,
                url=url,
                category="",
                is_web=url.startswith(("https://", "http://")),
            )
            for position, url in enumerate(open_urls, start=1)
        ]
        context = {
            "unit_name": settings.UNIT_NAME,
            "unit_email": settings.UNIT_EMAIL,
            "reference": request.reference,
            "platform_name": request.platform.name,
            "contact_name": contact.name,
            "is_removal_order": request.request_type == RequestType.REMOVAL_ORDER,
            "is_second": number >= 2,
            "sent_at": request.sent_at.strftime("%Y-%m-%d %H:%M UTC") if request.sent_at else "",
            "deadline_utc": deadline_utc,
            "deadline_local": deadline_local,
            "lines": lines,
            "portal_url": portal_url,
            "reply_to": reply_address_for(request, contact),
        }
        if number >= 2:
            what = ngettext(
                "Second reminder: %(count)d URL still without an answer",
                "Second reminder: %(count)d URLs still without an answer",
                len(lines),
            ) % {"count": len(lines)}
        else:
            what = ngettext(
                "Reminder: %(count)d URL still without an answer",
                "Reminder: %(count)d URLs still without an answer",
                len(lines),
            ) % {"count": len(lines)}
        if request.threat_to_life:
            what = gettext("URGENT, threat to life: %(what)s") % {"what": what}
        subject = f"[{request.reference}] {what}"
        text = render_to_string(REMINDER_TEXT_TEMPLATE, context)
        html = render_to_string(REMINDER_HTML_TEMPLATE, context)
    message = EmailMultiAlternatives(
        subject=header_safe(subject),
        body=text,
        from_email=formataddr((header_safe(settings.UNIT_NAME), settings.DEFAULT_FROM_EMAIL)),
        to=[contact.email],
        reply_to=[context["reply_to"]],
        headers={
            "Message-ID": message_id_for(request),
            "Content-Language": language,
            "X-TKD-Reference": request.reference,
            "X-TKD-Request-Type": request.request_type,
            "X-TKD-Reminder": str(number),
        },
    )
    message.attach_alternative(html, "text/html")
    return message


ESCALATION_TEMPLATE = "notifications/email/escalation.txt"


def build_escalation_email(
    request: RemovalRequest,
    *,
    to_address: str,
    recipient_name: str,
    open_urls: list[str],
    upstream_references: list[str],
    request_path: str,
) -> EmailMultiAlternatives:
    """Tells a supervisor that ``request`` was escalated (unit language, plain text).

    Internal mail: no reply address for the operator, and no portal link.
    """
    with translation.override(settings.LANGUAGE_CODE):
        deadline_utc, deadline_local = format_deadline(request.deadline)
        context = {
            "unit_name": settings.UNIT_NAME,
            "reference": request.reference,
            "platform_name": request.platform.name,
            "recipient_name": recipient_name,
            "request_type": str(RequestType(request.request_type).label),
            "deadline_utc": deadline_utc,
            "deadline_local": deadline_local,
            "open_urls": open_urls,
            "upstream_references": upstream_references,
            "request_path": request_path,
        }
        # Staff mail stays English like the staff UI: not marked for translation, so it
        # stays out of the operators' catalogue (escalation.txt is on its ignore list).
        subject = f"[{request.reference}] Escalated: no answer from {request.platform.name}"
        text = render_to_string(ESCALATION_TEMPLATE, context)
    return EmailMultiAlternatives(
        subject=header_safe(subject),
        body=text,
        from_email=formataddr((header_safe(settings.UNIT_NAME), settings.DEFAULT_FROM_EMAIL)),
        to=[to_address],
        headers={
            "Message-ID": message_id_for(request),
            "Content-Language": settings.LANGUAGE_CODE,
            "X-TKD-Reference": request.reference,
            "Auto-Submitted": "auto-generated",
        },
    )
