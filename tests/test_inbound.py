"""Email replies read back in: storing, matching, flagging, the unmatched queue, and outcomes."""

from __future__ import annotations

import hashlib
import smtplib
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse

from cases.models import (
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    Outcome,
    OutcomeRecord,
    OutcomeSource,
    RemovalRequest,
)
from config.celery_app import app as celery_app
from core.errors import DomainError
from notifications.emails import build_request_email
from notifications.inbound.ingest import mail_ingest
from notifications.inbound.matching import reply_address_for
from notifications.inbound.outcomes import inbound_attach, inbound_reply_apply
from notifications.inbound.receiver import receiver_controller
from notifications.models import InboundAttachment, InboundMail, MatchedBy, OutboundEmail
from notifications.tasks import poll_imap_mailbox
from platforms.models import Contact, Platform
from scheduling.jobs import JOBS
from tests.factories import (
    ContactFactory,
    CorrespondenceFactory,
    RequestItemFactory,
    SentRequestFactory,
)

pytestmark = pytest.mark.django_db

OPERATOR = "abuse@pastebay.example.net"
REPLY_BODY = (
    "All three pastes are removed.\n"
    "\n"
    "Regards,\nPasteBay abuse\n"
    "\n"
    "On Mon, 5 Jan 2026 at 09:00, Demo Internet Referral Unit\n"
    "<referrals@iru.example> wrote:\n"
    "> Please remove the following URLs.\n"
    "> 1. https://pastebay.example.net/p/1\n"
)


@pytest.fixture
def request_out(platform: Platform, alice: Any, bob: Any) -> RemovalRequest:
    """A referral sent to PasteBay's abuse contact, three URLs pending."""
    request = SentRequestFactory(
        platform=platform, composed_by=alice, approved_by=bob, contacts=[contact_of(platform)]
    )
    for _ in range(3):
        RequestItemFactory(request=request, item__host="pastebay.example.net")
    return request


def contact_of(platform: Platform) -> Contact:
    return platform.contacts.get(email=OPERATOR)


def reply(
    *,
    to: str = "referrals@iru.example",
    sender: str = OPERATOR,
    subject: str = "Re: your request",
    body: str = REPLY_BODY,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    attachment: bytes | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"PasteBay abuse <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="pastebay.example.net")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(
            attachment, maintype="application", subtype="pdf", filename="takedown-log.pdf"
        )
    # CRLF, as on the wire: smtplib would convert bare LFs, and the test compares bytes.
    return message.as_bytes(policy=policy.SMTP)


def mail_of(row: Correspondence) -> InboundMail:
    return InboundMail.objects.get(correspondence=row)


# --- storing ------------------------------------------------------------------------------


def test_it_stores_the_raw_bytes_unchanged_with_their_hash(request_out):
    raw = reply(to=reply_address_for(request_out, contact_of(request_out.platform)))
    row = mail_ingest(raw, received_via="test")
    row.refresh_from_db()
    assert bytes(row.raw) == raw
    assert row.raw_sha256 == hashlib.sha256(raw).hexdigest()
    assert row.direction == CorrespondenceDirection.INBOUND
    assert row.channel == CorrespondenceChannel.EMAIL


def test_it_keeps_a_message_the_parser_cannot_read(monkeypatch, alice, client):
    def explode(raw: bytes) -> None:
        raise RuntimeError("parser bug")

    monkeypatch.setattr("notifications.inbound.ingest.parse_message", explode)
    raw = b"\xff\xfe not a message at all \x00"
    row = mail_ingest(raw, received_via="test")
    row.refresh_from_db()
    assert bytes(row.raw) == raw and row.request is None
    assert "parser bug" in mail_of(row).parse_defects
    client.force_login(alice)
    page = client.get(reverse("notifications:inbound_unmatched"))
    assert page.status_code == 200
    assert f'action="{reverse("notifications:inbound_attach", args=[row.pk])}"' in page.text


def test_it_stores_the_same_raw_bytes_once(request_out):
    raw = reply(message_id="<same-1@pastebay.example.net>")
    first = mail_ingest(raw, received_via="smtp")
    again = mail_ingest(raw, received_via="imap:INBOX")
    assert again.pk == first.pk
    assert Correspondence.objects.filter(message_id="<same-1@pastebay.example.net>").count() == 1


def test_it_stores_two_different_messages_that_share_a_message_id(request_out):
    # Some clients and ticketing systems reuse a Message-ID: the second answer must not vanish.
    first = mail_ingest(
        reply(message_id="<same-1@pastebay.example.net>", body="Removed the first two."),
        received_via="smtp",
    )
    second = mail_ingest(
        reply(message_id="<same-1@pastebay.example.net>", body="Removed the third too."),
        received_via="smtp",
    )
    assert first.pk != second.pk
    rows = Correspondence.objects.filter(message_id="<same-1@pastebay.example.net>")
    assert sorted(mail_of(row).reply_text.strip() for row in rows) == [
        "Removed the first two.",
        "Removed the third too.",
    ]


def test_it_reads_a_stored_message_whose_first_reading_died(request_out):
    raw = reply(subject=f"Re: [{request_out.reference}]")
    # What a killed process leaves behind: the raw bytes committed, nothing read.
    stored = Correspondence.objects.create(
        direction=CorrespondenceDirection.INBOUND,
        channel=CorrespondenceChannel.EMAIL,
        raw=raw,
        raw_sha256=hashlib.sha256(raw).hexdigest(),
    )

    row = mail_ingest(raw, received_via="smtp")

    assert row.pk == stored.pk and row.request == request_out
    assert mail_of(row).matched_by == MatchedBy.SUBJECT_REFERENCE


def test_it_stores_attachments_hashed_and_over_the_limit_without_content(settings):
    settings.INBOUND_ATTACHMENT_MAX_BYTES = 10
    pdf = b"%PDF-1.4 removal log"
    row = mail_ingest(reply(attachment=pdf), received_via="test")
    (attachment,) = InboundAttachment.objects.filter(correspondence=row)
    assert attachment.filename == "takedown-log.pdf"
    assert attachment.size == len(pdf)
    assert attachment.sha256 == hashlib.sha256(pdf).hexdigest()
    assert attachment.content is None


def test_it_serves_an_attachment_only_as_a_download(alice, client):
    row = mail_ingest(reply(attachment=b"%PDF-1.4"), received_via="test")
    attachment = InboundAttachment.objects.get(correspondence=row)
    client.force_login(alice)
    response = client.get(reverse("notifications:inbound_attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == b"%PDF-1.4"


# --- matching -----------------------------------------------------------------------------


def test_it_matches_a_reply_by_its_reply_address(request_out):
    address = reply_address_for(request_out, contact_of(request_out.platform))
    row = mail_ingest(reply(to=address), received_via="test")
    assert row.request == request_out
    assert row.contact == contact_of(request_out.platform)
    assert mail_of(row).matched_by == MatchedBy.REPLY_TOKEN
    assert mail_of(row).sender_is_contact


def test_it_ignores_a_forged_reply_address(request_out, settings):
    address = reply_address_for(request_out, contact_of(request_out.platform))
    forged = address.replace(address.split("-")[-1].split("@")[0], "0" * 16)
    row = mail_ingest(reply(to=forged), received_via="test")
    assert row.request is None
    assert mail_of(row).matched_by == MatchedBy.NONE


def test_it_puts_the_reply_address_in_the_request_email(request_out):
    contact = contact_of(request_out.platform)
    message = build_request_email(request_out, contact)
    assert message.reply_to == [reply_address_for(request_out, contact)]
    assert reply_address_for(request_out, contact).startswith(
        f"reply+{request_out.reference.lower()}-{contact.pk}-"
    )


def test_it_matches_a_reply_by_in_reply_to(request_out):
    CorrespondenceFactory(
        request=request_out,
        direction=CorrespondenceDirection.OUTBOUND,
        message_id="<sent-1@iru.example>",
    )
    row = mail_ingest(reply(headers={"In-Reply-To": "<sent-1@iru.example>"}), received_via="test")
    assert row.request == request_out
    assert mail_of(row).matched_by == MatchedBy.IN_REPLY_TO


def test_it_threads_on_our_own_message_when_a_received_one_reuses_its_id(request_out):
    other = SentRequestFactory(platform=request_out.platform)
    CorrespondenceFactory(
        request=request_out,
        direction=CorrespondenceDirection.OUTBOUND,
        message_id="<sent-1@iru.example>",
    )
    # A received message reusing our Message-ID, attached to another request by its subject.
    reused = mail_ingest(
        reply(subject=f"Re: [{other.reference}]", message_id="<sent-1@iru.example>"),
        received_via="test",
    )
    assert reused.request == other

    row = mail_ingest(reply(headers={"In-Reply-To": "<sent-1@iru.example>"}), received_via="test")

    assert row.request == request_out


def test_it_matches_a_reply_by_references_in_the_sending_ledger(request_out):
    sent = CorrespondenceFactory(
        request=request_out, direction=CorrespondenceDirection.OUTBOUND, message_id=""
    )
    OutboundEmail.objects.create(
        request=request_out,
        correspondence=sent,
        to_address=OPERATOR,
        message_id="<ledger-1@iru.example>",
        subject="x",
    )
    row = mail_ingest(
        reply(headers={"References": "<other@elsewhere> <ledger-1@iru.example>"}),
        received_via="test",
    )
    assert row.request == request_out
    assert mail_of(row).matched_by == MatchedBy.IN_REPLY_TO


def test_it_matches_a_reply_by_the_reference_in_its_subject(request_out):
    subject = f"RE: AW: [{request_out.reference.lower()}] Referral"
    row = mail_ingest(reply(subject=subject), received_via="test")
    assert row.request == request_out
    assert mail_of(row).matched_by == MatchedBy.SUBJECT_REFERENCE


def test_it_queues_mail_it_cannot_match(request_out, alice, client):
    row = mail_ingest(reply(subject="Question about your letter"), received_via="test")
    assert row.request is None
    client.force_login(alice)
    page = client.get(reverse("notifications:inbound_unmatched"))
    assert "Question about your letter" in page.text


def test_it_pages_the_unmatched_queue_by_keyset(alice, client):
    for number in range(55):
        mail_ingest(reply(subject=f"Unmatched {number:02d}"), received_via="test")
    client.force_login(alice)
    first = client.get(reverse("notifications:inbound_unmatched"))
    assert "Unmatched 54" in first.text and "Unmatched 04" not in first.text
    cursor = first.context["page"].next_cursor
    second = client.get(reverse("notifications:inbound_unmatched"), {"after": cursor})
    assert "Unmatched 04" in second.text and "Unmatched 54" not in second.text


def test_it_attaches_unmatched_mail_to_a_request_by_reference(request_out, alice, client):
    row = mail_ingest(reply(subject="no reference here"), received_via="test")
    client.force_login(alice)
    response = client.post(
        reverse("notifications:inbound_attach", args=[row.pk]),
        {"reference": request_out.reference.lower()},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.request == request_out
    assert mail_of(row).matched_by == MatchedBy.MANUAL
    assert mail_of(row).sender_is_contact


def test_it_refuses_to_attach_to_an_unknown_reference(alice, client):
    row = mail_ingest(reply(subject="no reference here"), received_via="test")
    client.force_login(alice)
    response = client.post(
        reverse("notifications:inbound_attach", args=[row.pk]), {"reference": "TKD-1999-000001"}
    )
    assert response.status_code == 409
    assert "No request has the reference" in response.text


def test_it_lists_the_queue_in_a_fixed_number_of_queries(
    alice, client, django_assert_max_num_queries
):
    client.force_login(alice)
    mail_ingest(reply(subject="one", attachment=b"x"), received_via="test")
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("notifications:inbound_unmatched"))
    for number in range(20):
        mail_ingest(reply(subject=f"more {number}", attachment=b"x"), received_via="test")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("notifications:inbound_unmatched"))


def test_it_shows_html_only_mail_as_text_and_never_loads_remote_images(request_out, alice, client):
    message = EmailMessage()
    message["From"] = OPERATOR
    message["To"] = reply_address_for(request_out, contact_of(request_out.platform))
    message["Subject"] = "Re: removal"
    message["Message-ID"] = make_msgid(domain="pastebay.example.net")
    message.set_content(
        "<p>Removed <b>all</b>.</p><img src='https://tracker.example/p.gif'>"
        "<script>alert(1)</script><blockquote><p>Please remove</p></blockquote>",
        subtype="html",
    )
    row = mail_ingest(message.as_bytes(policy=policy.SMTP), received_via="test")
    assert mail_of(row).reply_text == "Removed all."
    client.force_login(alice)
    page = client.get(reverse("requests:detail", args=[request_out.pk])).text
    assert "<img src='https://tracker.example" not in page
    assert "<script>alert(1)" not in page


def test_it_lets_only_staff_who_may_see_correspondence_open_the_queue(client):
    response = client.get(reverse("notifications:inbound_unmatched"))
    assert response.status_code == 302  # to the sign-in page


# --- flags --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"X-Auto-Response-Suppress": "All"},
        {"Return-Path": "<>"},
        {"List-Id": "<abuse.pastebay.example.net>"},
        {"Precedence": "bulk"},
        {"Precedence": "auto_reply"},
    ],
)
def test_it_flags_auto_replies_and_never_counts_them(request_out, alice, headers):
    row = mail_ingest(
        reply(subject=f"Out of office [{request_out.reference}]", headers=headers),
        received_via="test",
    )
    assert row.request == request_out
    assert mail_of(row).is_auto_reply
    with pytest.raises(DomainError, match="automatic reply"):
        inbound_reply_apply(
            correspondence=row,
            line_ids=list(request_out.lines.values_list("pk", flat=True)),
            outcome=Outcome.REMOVED,
            by=alice,
        )
    assert not OutcomeRecord.objects.exists()


def test_it_does_not_flag_auto_submitted_no(request_out):
    row = mail_ingest(
        reply(subject=f"[{request_out.reference}]", headers={"Auto-Submitted": "no"}),
        received_via="test",
    )
    assert not mail_of(row).is_auto_reply


def test_it_flags_a_sender_who_is_not_a_contact_of_the_platform(request_out, alice):
    address = reply_address_for(request_out, contact_of(request_out.platform))
    row = mail_ingest(reply(to=address, sender="someone@elsewhere.example"), received_via="test")
    assert row.request == request_out
    assert row.contact is None
    assert not mail_of(row).sender_is_contact
    line_ids = list(request_out.lines.values_list("pk", flat=True))
    with pytest.raises(DomainError, match="not a known contact"):
        inbound_reply_apply(
            correspondence=row, line_ids=line_ids, outcome=Outcome.REMOVED, by=alice
        )
    records = inbound_reply_apply(
        correspondence=row,
        line_ids=line_ids,
        outcome=Outcome.REMOVED,
        by=alice,
        vouch_for_sender=True,
    )
    assert len(records) == 3


def test_it_does_not_trust_an_inactive_contact(request_out):
    ContactFactory(platform=request_out.platform, email="old@pastebay.example.net", is_active=False)
    row = mail_ingest(
        reply(subject=f"[{request_out.reference}]", sender="old@pastebay.example.net"),
        received_via="test",
    )
    assert not mail_of(row).sender_is_contact


# --- turning a reply into outcomes ----------------------------------------------------------


def _matched_reply(request: RemovalRequest) -> Correspondence:
    address = reply_address_for(request, contact_of(request.platform))
    return mail_ingest(reply(to=address), received_via="test")


def test_it_shows_the_reply_beside_the_items_without_the_quoted_request(request_out, alice, client):
    _matched_reply(request_out)
    client.force_login(alice)
    page = client.get(reverse("requests:detail", args=[request_out.pk]))
    replies = page.text.split('id="inbound-replies-heading"', 1)[1]
    visible = replies.split("<details", 1)[0]
    assert "All three pastes are removed." in visible
    assert "Please remove the following URLs" not in visible
    assert 'value="all:removed"' in replies


def test_it_applies_a_reply_to_all_urls_as_from_email_by_the_officer(request_out, alice, client):
    row = _matched_reply(request_out)
    client.force_login(alice)
    response = client.post(
        reverse("notifications:reply_apply", args=[row.pk]), {"action": "all:removed"}
    )
    assert response.status_code == 302
    records = OutcomeRecord.objects.filter(line__request=request_out)
    assert records.count() == 3
    for record in records:
        assert record.outcome == Outcome.REMOVED
        assert record.source == OutcomeSource.OPERATOR_EMAIL
        assert record.recorded_by == alice
        assert record.correspondence == row
        assert record.contact == contact_of(request_out.platform)
    page = client.get(reverse("requests:detail", args=[request_out.pk]))
    assert "recorded by alice from the operator's email" in page.text


def test_it_applies_a_reply_to_one_url(request_out, alice, client):
    row = _matched_reply(request_out)
    first, second, _third = request_out.lines.order_by("id")
    client.force_login(alice)
    client.post(
        reverse("notifications:reply_apply", args=[row.pk]),
        {"action": f"{second.pk}:refused_not_violating", "reason": "Satire, they say"},
    )
    (record,) = OutcomeRecord.objects.all()
    assert record.line == second and record.outcome == Outcome.REFUSED_NOT_VIOLATING
    assert record.reason == "Satire, they say"
    first.refresh_from_db()
    assert first.outcome == Outcome.PENDING


def test_it_refuses_a_line_of_another_request(request_out, alice, client, platform):
    row = _matched_reply(request_out)
    other = RequestItemFactory(request=SentRequestFactory(platform=platform))
    client.force_login(alice)
    response = client.post(
        reverse("notifications:reply_apply", args=[row.pk]), {"action": f"{other.pk}:removed"}
    )
    assert response.status_code == 409
    assert not OutcomeRecord.objects.exists()


def test_it_needs_the_record_outcome_permission_to_apply_a_reply(request_out, dave, client):
    row = _matched_reply(request_out)
    client.force_login(dave)
    response = client.post(
        reverse("notifications:reply_apply", args=[row.pk]), {"action": "all:removed"}
    )
    assert response.status_code == 403
    assert not OutcomeRecord.objects.exists()


# --- feeds --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[int]:
    controller = receiver_controller(host="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.mark.django_db(transaction=True)
def test_it_receives_a_reply_over_real_smtp(request_out, receiver):
    address = reply_address_for(request_out, contact_of(request_out.platform))
    raw = reply(to=address)
    with smtplib.SMTP("127.0.0.1", receiver, timeout=10) as smtp:
        refused = smtp.sendmail(OPERATOR, [address], raw)
    assert refused == {}
    # 250 came back only after the commit: the row is there for any connection to see.
    row = Correspondence.objects.get(direction=CorrespondenceDirection.INBOUND)
    assert row.raw_sha256 == hashlib.sha256(raw).hexdigest()
    assert bytes(row.raw) == raw
    assert row.request == request_out
    assert mail_of(row).received_via == "smtp"
    assert mail_of(row).envelope_recipients == [address]


@pytest.mark.django_db(transaction=True)
def test_it_refuses_an_oversized_message_over_smtp(settings):
    settings.INBOUND_MESSAGE_MAX_BYTES = 1000
    controller = receiver_controller(host="127.0.0.1", port=free_port())
    controller.start()
    try:
        with (
            smtplib.SMTP("127.0.0.1", controller.port, timeout=10) as smtp,
            pytest.raises(smtplib.SMTPException),
        ):
            smtp.sendmail(OPERATOR, ["desk@iru.example"], reply(body="x" * 5000))
    finally:
        controller.stop()
    assert not Correspondence.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_answers_451_and_keeps_nothing_when_the_bytes_cannot_be_stored(monkeypatch, receiver):
    def database_down(raw: bytes) -> None:
        raise ConnectionError("database is down")

    monkeypatch.setattr("notifications.inbound.ingest._store_raw", database_down)
    with (
        smtplib.SMTP("127.0.0.1", receiver, timeout=10) as smtp,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        smtp.sendmail(OPERATOR, ["desk@iru.example"], reply())
    assert refused.value.smtp_code == 451  # the relay keeps the message and retries


class _Sink:
    """The operator's mail server: keeps what the desk sends."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.original_content)
        return "250 OK"


@pytest.mark.django_db(transaction=True)
def test_it_reads_back_a_reply_to_the_email_it_sent_over_smtp_both_ways(
    platform, alice, bob, receiver, settings
):
    """Out through SMTP to the operator, back in through SMTP to the receiver, matched."""
    from email import message_from_bytes

    from notifications.services import outbound_email_deliver, request_approve_and_send

    sink = _Sink()
    operator_server = Controller(sink, hostname="127.0.0.1", port=free_port())
    operator_server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", operator_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        draft = SentRequestFactory.build(platform=platform)  # only for a fresh reference
        request = RemovalRequest.objects.create(
            reference=draft.reference,
            platform=platform,
            legal_basis=draft.legal_basis,
            composed_by=alice,
            state="awaiting_approval",
        )
        request.contacts.set([contact_of(platform)])
        RequestItemFactory(request=request, item__host="pastebay.example.net")
        (email,) = request_approve_and_send(request=request, approver=bob).emails
        outbound_email_deliver(email_id=email.pk)
    finally:
        operator_server.stop()
    (sent_bytes,) = sink.received
    sent = message_from_bytes(sent_bytes, policy=policy.default)
    assert sent["Reply-To"] == reply_address_for(request, contact_of(platform))

    answer = EmailMessage()
    answer["From"] = OPERATOR
    answer["To"] = str(sent["Reply-To"])
    answer["Subject"] = "Re: " + str(sent["Subject"])
    answer["In-Reply-To"] = str(sent["Message-ID"])
    answer["Message-ID"] = make_msgid(domain="pastebay.example.net")
    answer.set_content("Done, removed.\n\n> " + str(sent["Subject"]) + "\n")
    with smtplib.SMTP("127.0.0.1", receiver, timeout=10) as smtp:
        smtp.send_message(answer, to_addrs=[str(sent["Reply-To"])])

    row = Correspondence.objects.get(direction=CorrespondenceDirection.INBOUND)
    assert row.request_id == request.pk
    assert row.in_reply_to == str(sent["Message-ID"]).strip()
    mail = mail_of(row)
    assert mail.matched_by == MatchedBy.REPLY_TOKEN
    assert mail.reply_text == "Done, removed."


def test_it_registers_the_imap_poll_every_two_minutes(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["tick poll_imap_mailbox"]
    assert entry == {
        "task": "scheduling.run_job",
        "schedule": 120.0,
        "args": ("poll_imap_mailbox",),
    }
    assert JOBS["poll_imap_mailbox"].work == "notifications.services.imap_poll_job"
    assert "notifications.poll_imap_mailbox" in celery_app.tasks


def test_it_does_not_poll_when_no_imap_url_is_set(settings):
    settings.IMAP_URL = ""
    assert poll_imap_mailbox() == 0


def outlook_reply(*, to: str, subject: str) -> bytes:
    """A reply as Outlook/Exchange sends it: multipart/alternative, an HTML line of 5 kB."""
    long_html = "<p class=MsoNormal>" + "Removed as requested. " * 230 + "</p>"
    assert len(long_html) > 998
    lines = [
        f"From: Trust Team <{OPERATOR}>",
        f"To: {to}",
        f"Subject: RE: {subject}",
        "Date: Thu, 3 Dec 2026 07:00:00 +0000",
        "Message-ID: <DB9PR01MB1234ABCD@DB9PR01MB1234.eurprd01.prod.outlook.com>",
        "Thread-Topic: removal request",
        "Thread-Index: AQHZtq1f2k8YhJ3aT0m9z5x7l2b4Ng==",
        "Accept-Language: en-GB, en-US",
        "Content-Language: en-GB",
        "X-MS-Has-Attach:",
        "X-MS-TNEF-Correlator:",
        "X-MS-Exchange-Organization-SCL: -1",
        "X-MS-Exchange-CrossTenant-Network-Message-Id: 0b1c2d3e-aaaa-bbbb-cccc-0123456789ab",
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="_000_DB9PR01MB1234_"',
        "",
        "--_000_DB9PR01MB1234_",
        'Content-Type: text/plain; charset="us-ascii"',
        "Content-Transfer-Encoding: 7bit",
        "",
        "Removed as requested.",
        "",
        "--_000_DB9PR01MB1234_",
        'Content-Type: text/html; charset="us-ascii"',
        "Content-Transfer-Encoding: 7bit",
        "",
        f"<html><body>{long_html}</body></html>",
        "",
        "--_000_DB9PR01MB1234_--",
        "",
    ]
    return "\r\n".join(lines).encode()


@pytest.mark.django_db(transaction=True)
def test_it_receives_an_outlook_reply_with_long_lines_over_real_smtp(request_out, receiver):
    address = reply_address_for(request_out, contact_of(request_out.platform))
    raw = outlook_reply(to=address, subject=request_out.reference)

    with smtplib.SMTP("127.0.0.1", receiver, timeout=10) as smtp:
        refused = smtp.sendmail(OPERATOR, [address], raw)

    assert refused == {}
    row = Correspondence.objects.get(direction=CorrespondenceDirection.INBOUND)
    assert bytes(row.raw) == raw
    assert row.request == request_out
    assert "Removed as requested." in mail_of(row).reply_text


# --- Authentication-Results on subject-only matches (issue 10, point 7a) -----------------

OWN_FAIL = "mx.iru.example; dmarc=fail (p=reject) header.from=pastebay.example.net; spf=fail"
OWN_PASS = "mx.iru.example; dmarc=pass header.from=pastebay.example.net; spf=pass"


def test_it_does_not_trust_a_subject_match_whose_sender_fails_dmarc(request_out):
    raw = reply(
        subject=f"Re: [{request_out.reference}]",
        headers={"Authentication-Results": OWN_FAIL},
    )

    row = mail_ingest(raw, received_via="test")

    assert row.contact is None
    assert not mail_of(row).sender_is_contact
    assert mail_of(row).sender_auth_failure == "DMARC failed for pastebay.example.net"


def test_it_sends_a_forged_subject_match_to_the_unmatched_queue(request_out):
    raw = reply(
        subject=f"Re: [{request_out.reference}]",
        headers={"Authentication-Results": OWN_FAIL},
    )

    row = mail_ingest(raw, received_via="test")

    assert row.request is None
    assert mail_of(row).matched_by == MatchedBy.NONE


def test_it_gives_a_forged_subject_match_its_own_reason_not_a_parser_defect(request_out):
    raw = reply(
        subject=f"Re: [{request_out.reference}]",
        headers={"Authentication-Results": OWN_FAIL},
    )

    mail = mail_of(mail_ingest(raw, received_via="test"))

    assert mail.review_reason.startswith(
        "Sender not trusted: DMARC failed for pastebay.example.net."
    )
    assert request_out.reference in mail.review_reason
    assert mail.parse_defects == ""


def test_it_shows_staff_why_a_forged_subject_match_waits(request_out, client, alice):
    raw = reply(
        subject=f"Re: [{request_out.reference}]",
        headers={"Authentication-Results": OWN_FAIL},
    )
    mail_ingest(raw, received_via="test")
    client.force_login(alice)

    page = client.get(reverse("notifications:inbound_unmatched"))

    assert "Sender not trusted: DMARC failed for pastebay.example.net." in page.text
    assert "Malformed message" not in page.text


def test_it_sends_a_subject_match_failing_spf_to_the_unmatched_queue(request_out):
    raw = reply(
        subject=f"Re: [{request_out.reference}]",
        headers={
            "Authentication-Results": "mx.iru.example; spf=softfail "
            "smtp.mailfrom=abuse@pastebay.example.net"
        },
    )

    row = mail_ingest(raw, received_via="test")

    assert row.request is None
    assert mail_of(row).review_reason.startswith("Sender not trusted: SPF softfail")


def test_it_applies_no_outcome_from_a_forged_subject_match(request_out, alice):
    raw = reply(
        subject=f"Re: [{request_out.reference}]",
        headers={"Authentication-Results": OWN_FAIL},
    )
    row = mail_ingest(raw, received_via="test")
    lines = list(request_out.lines.values_list("pk", flat=True))

    with pytest.raises(DomainError):
        inbound_reply_apply(correspondence=row, line_ids=lines, outcome=Outcome.REMOVED, by=alice)

    assert not OutcomeRecord.objects.filter(line__request=request_out).exists()


def test_it_still_needs_vouching_after_an_officer_attaches_a_forged_mail(request_out, alice):
    raw = reply(
        subject=f"Re: [{request_out.reference}]",
        headers={"Authentication-Results": OWN_FAIL},
    )
    row = mail_ingest(raw, received_via="test")
    attached = inbound_attach(correspondence=row, reference=request_out.reference, by=alice)
    lines = list(request_out.lines.values_list("pk", flat=True))

    with pytest.raises(DomainError, match="vouch"):
        inbound_reply_apply(
            correspondence=attached, line_ids=lines, outcome=Outcome.REMOVED, by=alice
        )


def test_it_reads_the_header_of_the_configured_authserv_id(request_out, settings):
    # The unit's server (mx.iru.example) is not the topmost: a later internal hop added one.
    settings.INBOUND_AUTHSERV_ID = "mx.iru.example"
    message = message_from_bytes(
        reply(subject=f"Re: [{request_out.reference}]"), policy=policy.SMTP
    )
    message["Authentication-Results"] = OWN_PASS.replace("mx.iru.example", "filter.iru.example")
    message["Authentication-Results"] = OWN_FAIL

    row = mail_ingest(message.as_bytes(policy=policy.SMTP), received_via="test")

    assert row.request is None


def test_it_trusts_a_subject_match_whose_sender_passes_dmarc(request_out):
    raw = reply(
        subject=f"Re: [{request_out.reference}]",
        headers={"Authentication-Results": OWN_PASS},
    )

    row = mail_ingest(raw, received_via="test")

    assert mail_of(row).sender_is_contact


def test_it_reads_only_the_topmost_authentication_results(request_out):
    # The lower header was written before the unit's server: the sender controls it.
    message = message_from_bytes(
        reply(
            subject=f"Re: [{request_out.reference}]",
            headers={"Authentication-Results": OWN_PASS},
        ),
        policy=policy.SMTP,
    )
    message["Authentication-Results"] = OWN_FAIL.replace("mx.iru.example", "evil.example")

    row = mail_ingest(message.as_bytes(policy=policy.SMTP), received_via="test")

    assert mail_of(row).sender_is_contact
