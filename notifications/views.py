"""Staff actions that send email, and the demo's mail outbox.

The send action lives here, not in cases, because it crosses into email
(notifications → cases is the allowed direction). It renders the request page
from ``cases.views.requests`` when the service refuses.
"""

from __future__ import annotations

import mailbox
import re
from dataclasses import dataclass, replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from cases.models import RemovalRequest
from cases.selectors.requests import request_for_detail
from cases.views.requests import render_request_detail
from core.decorators import staff_view
from core.errors import DomainError, PermissionRefused
from notifications.emails import build_request_email
from notifications.models import OutboundEmail
from notifications.services import (
    outbound_email_retry,
    request_approve_and_send,
    request_web_form_record_submission,
)
from platforms.models import Contact, ContactChannel

# --- sending ----------------------------------------------------------------------


def _status_for(error: DomainError) -> int:
    return 403 if isinstance(error, PermissionRefused) else 409


@require_POST
@staff_view("cases.approve_request")
def request_send(http_request: HttpRequest, pk: int) -> HttpResponse:
    """Approve and send: four-eyes, then one email per contact through the ledger."""
    removal_request = request_for_detail(pk)
    try:
        result = request_approve_and_send(request=removal_request, approver=http_request.user)
    except DomainError as refused:
        return render_request_detail(
            http_request,
            removal_request,
            errors={"send": refused.message},
            status=_status_for(refused),
        )
    messages.success(
        http_request,
        ngettext(
            "%(reference)s approved and sent: %(count)d email queued.",
            "%(reference)s approved and sent: %(count)d emails queued.",
            len(result.emails),
        )
        % {"reference": result.request.reference, "count": len(result.emails)},
    )
    if result.web_form_contacts:
        messages.warning(
            http_request,
            _("Submit it by hand through the web form: %(urls)s")
            % {"urls": ", ".join(c.web_form_url for c in result.web_form_contacts)},
        )
    return redirect("requests:detail", pk=removal_request.pk)


@require_POST
@staff_view("cases.approve_request")
def email_retry(http_request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(OutboundEmail, pk=pk)
    try:
        outbound_email_retry(email=email, by=http_request.user)
    except DomainError as refused:
        return render_request_detail(
            http_request,
            request_for_detail(email.request_id),
            errors={"deliveries": refused.message},
            status=_status_for(refused),
        )
    messages.success(
        http_request,
        _("The email to %(address)s will be sent again.") % {"address": email.to_address},
    )
    return redirect("requests:detail", pk=email.request_id)


class WebFormSubmittedForm(forms.Form):
    contact = forms.ModelChoiceField(
        label=gettext_lazy("Web form"), queryset=Contact.objects.none()
    )
    note = forms.CharField(
        label=gettext_lazy("Ticket number or note"), max_length=2000, required=False
    )

    def __init__(self, *args: Any, request: RemovalRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contact_field = self.fields["contact"]
        assert isinstance(contact_field, forms.ModelChoiceField)
        contact_field.queryset = Contact.objects.filter(
            platform=request.platform_id, channel=ContactChannel.WEB_FORM
        )


@require_POST
@staff_view("cases.add_correspondence")
def web_form_submitted(http_request: HttpRequest, pk: int) -> HttpResponse:
    """An officer records that they submitted the request through the platform's web form."""
    removal_request = request_for_detail(pk)
    form = WebFormSubmittedForm(http_request.POST, request=removal_request)
    if not form.is_valid():
        return render_request_detail(
            http_request,
            removal_request,
            errors={"web_form": " ".join(str(e) for errs in form.errors.values() for e in errs)},
            status=400,
        )
    try:
        request_web_form_record_submission(
            request=removal_request,
            contact=form.cleaned_data["contact"],
            by=http_request.user,
            note=form.cleaned_data["note"],
        )
    except DomainError as refused:
        return render_request_detail(
            http_request,
            removal_request,
            errors={"web_form": refused.message},
            status=_status_for(refused),
        )
    messages.success(http_request, _("Web-form submission recorded."))
    return redirect("requests:detail", pk=removal_request.pk)


@require_GET
@staff_view("cases.view_removalrequest")
def request_email_preview(http_request: HttpRequest, pk: int) -> HttpResponse:
    """The email each contact would receive, built by the same function that sends it."""
    removal_request = request_for_detail(pk)
    contacts = removal_request.contacts.filter(
        is_active=True, channel=ContactChannel.EMAIL
    ).select_related("platform")
    previews = []
    for contact in contacts:
        # The preview shows the text: no order document is rendered for it.
        message = build_request_email(removal_request, contact, attach_order=False)
        previews.append({"contact": contact, "subject": message.subject, "text": message.body})
    return render(
        http_request,
        "notifications/request_preview.html",
        {"rr": removal_request, "previews": previews},
    )


# --- the demo's mail outbox ---------------------------------------------------------

OUTBOX_PAGE_SIZE = 50
SHOWN_HEADERS = (
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "Content-Language",
    "X-TKD-Reference",
    "X-TKD-Request-Type",
)


def _outbox() -> mailbox.Maildir:
    """The mail sink's Maildir; a 404 wherever no sink runs (production, EMAIL_URL set)."""
    directory = getattr(settings, "MAILSINK_DIR", None)
    if not directory or not Path(directory).is_dir():
        raise Http404("No mail outbox here.")
    return mailbox.Maildir(directory, factory=None, create=False)


# Maildir names begin "<seconds>.M<microseconds>P<pid>Q<count>." (mailbox.Maildir._create_tmp).
_MAILDIR_NAME = re.compile(r"^(\d+)\.M(\d+)P\d+Q(\d+)\.")


def _delivery_order(key: str) -> tuple[int, int, int, str]:
    """Sort key: when the sink stored the message, without opening it."""
    match = _MAILDIR_NAME.match(key)
    if match is None:
        return (0, 0, 0, key)
    seconds, micros, count = (int(part) for part in match.groups())
    return (seconds, micros, count, key)


@dataclass(frozen=True)
class OutboxEntry:
    key: str
    subject: str
    to: str
    sender: str
    date: Any
    reference: str
    request_id: int | None = None


def _parse_headers(maildir: mailbox.Maildir, key: str) -> EmailMessage:
    # Only the header block is read: a list page must not load whole messages.
    lines = []
    with maildir.get_file(key) as handle:
        for line in iter(handle.readline, b""):
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line)
    message = BytesParser(policy=policy.default).parsebytes(b"".join(lines), headersonly=True)
    assert isinstance(message, EmailMessage)  # policy.default parses to EmailMessage
    return message


def _date_of(message: EmailMessage) -> Any:
    try:
        return parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        return None


@require_GET
@staff_view("cases.view_correspondence")
def outbox(http_request: HttpRequest) -> HttpResponse:
    """Messages the embedded mail sink caught, newest first (demo only)."""
    maildir = _outbox()
    keys = sorted(maildir.keys(), key=_delivery_order, reverse=True)
    after = http_request.GET.get("after", "")
    start = keys.index(after) + 1 if after in keys else 0
    shown = keys[start : start + OUTBOX_PAGE_SIZE]
    entries = []
    for key in shown:
        headers = _parse_headers(maildir, key)
        entries.append(
            OutboxEntry(
                key=key,
                subject=str(headers["Subject"] or ""),
                to=str(headers["To"] or ""),
                sender=str(headers["From"] or ""),
                date=_date_of(headers),
                reference=str(headers["X-TKD-Reference"] or ""),
            )
        )
    request_ids = dict(
        RemovalRequest.objects.filter(
            reference__in={e.reference for e in entries if e.reference}
        ).values_list("reference", "pk")
    )
    entries = [replace(e, request_id=request_ids.get(e.reference)) for e in entries]
    return render(
        http_request,
        "notifications/outbox.html",
        {
            "entries": entries,
            "next_key": shown[-1] if start + OUTBOX_PAGE_SIZE < len(keys) else "",
            "is_first_page": start == 0,
        },
    )


class _LinkCollector(HTMLParser):
    """The targets of <a href> in an HTML part, so the page can list them as text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)


def _part_text(part: Any) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


@require_GET
@staff_view("cases.view_correspondence")
def outbox_message(http_request: HttpRequest, key: str) -> HttpResponse:
    """One caught message: headers, text part, and the HTML part as escaped source (never run)."""
    maildir = _outbox()
    try:
        with maildir.get_file(key) as handle:
            raw = handle.read()
    except KeyError as missing:
        raise Http404("No such message.") from missing
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    html = _part_text(html_part) if html_part is not None else ""
    links = _LinkCollector()
    if html:
        links.feed(html)
    reference = str(message["X-TKD-Reference"] or "")
    request_id = (
        RemovalRequest.objects.filter(reference=reference).values_list("pk", flat=True).first()
        if reference
        else None
    )
    return render(
        http_request,
        "notifications/outbox_message.html",
        {
            "key": key,
            "headers": [(name, str(message[name])) for name in SHOWN_HEADERS if message[name]],
            "text": _part_text(text_part) if text_part is not None else "",
            "html": html,
            # Only web links are clickable; anything else (javascript:, data:) stays text.
            "links": [
                (link, link.lower().startswith(("https://", "http://"))) for link in links.links
            ],
            "size": len(raw),
            "request_id": request_id,
            "reference": reference,
        },
    )


# --- received mail: the unmatched queue, attaching, turning a reply into outcomes -------

INBOUND_OUTCOME_ALL = "all"


def _inbound_email_rows() -> Any:
    from cases.models import Correspondence, CorrespondenceChannel, CorrespondenceDirection

    return (
        Correspondence.objects.filter(
            direction=CorrespondenceDirection.INBOUND, channel=CorrespondenceChannel.EMAIL
        )
        # The raw bytes can be megabytes; a list never needs them.
        .defer("raw", "body_text")
        .select_related("inbound_mail")
        .prefetch_related("inbound_attachments")
    )


class AttachMailForm(forms.Form):
    reference = forms.RegexField(
        label=gettext_lazy("Request reference"),
        regex=r"^\s*[Tt][Kk][Dd]-\d{4}-\d{6}\s*$",
        max_length=40,
        error_messages={"invalid": gettext_lazy("A reference looks like TKD-2026-000123.")},
    )


def _render_unmatched(
    http_request: HttpRequest, *, errors: dict[int, str] | None = None, status: int = 200
) -> HttpResponse:
    from core.pagination import keyset_page

    page = keyset_page(
        _inbound_email_rows().filter(request__isnull=True),
        ordering=("-created_at", "-id"),
        params=http_request.GET,
    )
    return render(
        http_request,
        "notifications/inbound/unmatched.html",
        {
            "page": page,
            "errors": errors or {},
            "can_attach": http_request.user.has_perm("cases.add_correspondence"),
        },
        status=status,
    )


@require_GET
@staff_view("cases.view_correspondence")
def inbound_unmatched(http_request: HttpRequest) -> HttpResponse:
    """Received mail no request claimed: newest first, each attachable by reference."""
    return _render_unmatched(http_request)


@require_POST
@staff_view("cases.add_correspondence")
def inbound_attach_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    from notifications.inbound.outcomes import inbound_attach

    row = get_object_or_404(_inbound_email_rows(), pk=pk)
    form = AttachMailForm(http_request.POST)
    if not form.is_valid():
        message = " ".join(str(e) for errs in form.errors.values() for e in errs)
        return _render_unmatched(http_request, errors={row.pk: message}, status=400)
    try:
        attached = inbound_attach(
            correspondence=row, reference=form.cleaned_data["reference"], by=http_request.user
        )
    except DomainError as refused:
        return _render_unmatched(
            http_request, errors={row.pk: refused.message}, status=_status_for(refused)
        )
    assert attached.request is not None
    messages.success(
        http_request,
        _("The email is now on %(reference)s.") % {"reference": attached.request.reference},
    )
    return redirect("requests:detail", pk=attached.request_id)


@require_POST
@staff_view("cases.record_outcome")
def reply_apply(http_request: HttpRequest, pk: int) -> HttpResponse:
    """One click: ``action`` is ``<line id>:<outcome>`` or ``all:<outcome>`` for every URL."""
    from cases.forms.requests import OFFICER_OUTCOMES
    from notifications.inbound.outcomes import inbound_reply_apply

    row = get_object_or_404(_inbound_email_rows().filter(request__isnull=False), pk=pk)
    removal_request = request_for_detail(row.request_id)
    target, _sep, outcome = http_request.POST.get("action", "").partition(":")
    reason = http_request.POST.get("reason", "")[:10000]
    valid_outcomes = {value for value, _label in OFFICER_OUTCOMES}
    if outcome not in valid_outcomes or not (target == INBOUND_OUTCOME_ALL or target.isdigit()):
        return render_request_detail(
            http_request,
            removal_request,
            errors={f"inbound_reply_{row.pk}": _("Choose an outcome for a URL, or for all.")},
            status=400,
        )
    line_ids = (
        list(removal_request.lines.values_list("pk", flat=True))
        if target == INBOUND_OUTCOME_ALL
        else [int(target)]
    )
    try:
        records = inbound_reply_apply(
            correspondence=row,
            line_ids=line_ids,
            outcome=outcome,
            by=http_request.user,
            reason=reason,
            vouch_for_sender=http_request.POST.get("vouch_for_sender") == "1",
        )
    except DomainError as refused:
        return render_request_detail(
            http_request,
            removal_request,
            errors={f"inbound_reply_{row.pk}": refused.message},
            status=_status_for(refused),
        )
    messages.success(
        http_request,
        ngettext(
            "Recorded from the email for %(count)d URL.",
            "Recorded from the email for %(count)d URLs.",
            len(records),
        )
        % {"count": len(records)},
    )
    return redirect("requests:detail", pk=removal_request.pk)


@require_GET
@staff_view("cases.view_correspondence")
def inbound_attachment_download(http_request: HttpRequest, pk: int) -> HttpResponse:
    """An attachment as a download, never displayed: octet-stream, no sniffing, sandboxed."""
    from notifications.models import InboundAttachment

    attachment = get_object_or_404(InboundAttachment, pk=pk, content__isnull=False)
    assert attachment.content is not None  # filtered above
    response = HttpResponse(bytes(attachment.content), content_type="application/octet-stream")
    response["Content-Disposition"] = _attachment_disposition(attachment.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def _attachment_disposition(filename: str) -> str:
    from urllib.parse import quote

    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "attachment.bin"
    return f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(filename or safe)}"
