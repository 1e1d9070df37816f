"""The demo's mail outbox: what the embedded mail sink caught, shown safely."""

from __future__ import annotations

import importlib
import mailbox
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.urls import NoReverseMatch, clear_url_caches, reverse

from cases.services.requests import request_compose, request_submit
from notifications.mailsink import start_mailsink
from notifications.models import OutboundEmail
from notifications.services import outbound_email_deliver, request_approve_and_send
from tests.factories import ItemFactory, UserFactory
from tests.test_sending import free_port

pytestmark = pytest.mark.django_db


def _remount_urls() -> None:
    import config.urls
    import notifications.urls

    importlib.reload(notifications.urls)
    importlib.reload(config.urls)
    clear_url_caches()


@pytest.fixture
def maildir(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """An empty sink Maildir, with the outbox mounted (it is only where a sink runs)."""
    missing = object()
    before = getattr(settings, "MAILSINK_DIR", missing)
    directory = tmp_path / "mail"
    mailbox.Maildir(directory, create=True)
    settings.MAILSINK_DIR = directory
    try:
        reverse("notifications:outbox")
        remounted = False
    except NoReverseMatch:  # EMAIL_URL is set in this environment: mount it for the test
        _remount_urls()
        remounted = True
    yield directory
    if remounted:
        if before is missing:
            del settings.MAILSINK_DIR
        else:
            settings.MAILSINK_DIR = before
        _remount_urls()


def drop(directory: Path, *, subject: str, html: str = "", reference: str = "") -> str:
    message = EmailMessage()
    message["From"] = "referrals@iru.example"
    message["To"] = "abuse@pastebay.example.net"
    message["Subject"] = subject
    message["Date"] = "Mon, 02 Mar 2026 06:00:00 +0000"
    if reference:
        message["X-TKD-Reference"] = reference
    message.set_content("The text part.\nhttps://pastebay.example.net/p/1\n")
    if html:
        message.add_alternative(html, subtype="html")
    return mailbox.Maildir(directory).add(message)


def outbox_subjects(response: Any) -> list[str]:
    return re.findall(r'/mail/outbox/[^"]+/">([^<]+)</a>', response.content.decode())


@pytest.fixture
def mail_sink(maildir: Path, settings: Any) -> Iterator[Path]:
    """The embedded mail sink itself, storing into ``maildir``, with Django sending to it."""
    sink = start_mailsink(directory=maildir, port=free_port())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.hostname, sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield maildir
    finally:
        sink.stop()


def test_it_lists_the_mail_the_sink_caught_newest_first(client, alice, bob, platform, mail_sink):
    references = []
    for _ in range(2):
        ItemFactory(platform=platform, host="pastebay.example.net", approved=True)
        request = request_submit(
            request=request_compose(platform=platform, composed_by=alice), by=alice
        )
        request_approve_and_send(request=request, approver=bob)
        outbound_email_deliver(email_id=OutboundEmail.objects.get(request=request).pk)
        references.append(request.reference)
    client.force_login(alice)

    response = client.get(reverse("notifications:outbox"))

    subjects = outbox_subjects(response)
    # The platform reads Polish: its (non-ASCII) subjects are RFC 2047-encoded and folded,
    # so the decoded subject may start with folding whitespace.
    assert [s.split("]")[0].strip().strip("[") for s in subjects] == list(reversed(references))
    assert f'href="/requests/{request.pk}/">{request.reference}</a>' in response.content.decode()


def test_it_shows_headers_text_and_the_html_as_escaped_source(client, dave, maildir):
    key = drop(
        maildir,
        subject="[TKD-2026-000001] Referral",
        html=(
            '<p>Hi</p><script>alert("x")</script><img src=x onerror="alert(1)">'
            '<a href="javascript:alert(2)">bad</a><a href="https://portal.example/r/abc">answer</a>'
        ),
    )
    client.force_login(dave)

    page = client.get(reverse("notifications:outbox_message", args=[key])).content.decode()

    assert "referrals@iru.example" in page
    assert "The text part." in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert 'href="javascript:' not in page
    assert "javascript:alert(2)" in page  # shown as text
    assert 'href="https://portal.example/r/abc"' in page  # web links stay usable


def test_it_pages_older_messages(client, dave, maildir):
    for number in range(55):
        drop(maildir, subject=f"Message {number:02d}")
    client.force_login(dave)

    first = client.get(reverse("notifications:outbox"))
    after = re.search(r'href="\?after=([^"]+)"', first.content.decode())
    assert after is not None
    second = client.get(reverse("notifications:outbox") + "?after=" + after.group(1))

    assert len(outbox_subjects(first)) == 50
    assert outbox_subjects(second) == [f"Message {n:02d}" for n in range(4, -1, -1)]


def test_it_404s_without_a_mail_sink(client, dave, maildir, settings):
    settings.MAILSINK_DIR = None
    client.force_login(dave)

    assert client.get(reverse("notifications:outbox")).status_code == 404


def test_it_404s_for_an_unknown_message(client, dave, maildir):
    client.force_login(dave)

    assert client.get(reverse("notifications:outbox_message", args=["nope"])).status_code == 404
    assert client.get("/mail/outbox/..%2F..%2Fetc%2Fpasswd/").status_code == 404


def test_it_forbids_a_user_without_the_permission(client, maildir):
    client.force_login(UserFactory(username="mallory"))

    assert client.get(reverse("notifications:outbox")).status_code == 403
