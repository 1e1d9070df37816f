"""The officer-to-operator path a person clicks through, in a real Chromium.

Officer pastes URLs → summary → supervisor approves → composes → a second
supervisor approves and sends → the email reaches a real SMTP server.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email import policy
from typing import Any

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from cases.models import Item, ItemStatus, RemovalRequest, RequestState
from config.celery_app import app as celery_app
from core.roles import Role, ensure_role_groups
from tests.browser.conftest import SmtpSink
from tests.factories import ContactFactory, ItemFactory, PlatformDomainFactory, PlatformFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
KNOWN_URL = "https://pastebay.example.net/p/known"


@pytest.fixture
def eager_celery() -> Iterator[None]:
    # No worker in this test: run the send task inline, after the commit, as a worker would.
    # (Celery may have read its settings already; change its live configuration.)
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def unit(django_user_model: Any, eager_celery: None) -> dict[str, Any]:
    groups = ensure_role_groups()

    def person(name: str, role: Role) -> Any:
        user = django_user_model.objects.create_user(name, f"{name}@iru.example", PASSWORD)
        user.groups.set([Group.objects.get(pk=groups[role].pk)])
        return user

    people = {
        "alice": person("alice", Role.OFFICER),
        "bob": person("bob", Role.SUPERVISOR),
        "charlie": person("charlie", Role.SUPERVISOR),
    }
    platform = PlatformFactory(name="PasteBay", preferred_language="en", response_target_days=7)
    PlatformDomainFactory(platform=platform, domain="pastebay.example.net")
    ContactFactory(platform=platform, email="abuse@pastebay.example.net", is_primary=True)
    ItemFactory(
        url_submitted=KNOWN_URL,
        url_normalised=KNOWN_URL,
        host="pastebay.example.net",
        platform=platform,
        created_by=people["bob"],
        status=ItemStatus.PENDING_APPROVAL,
    )
    return {**people, "platform": platform}


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="What needs you now")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Takedown Desk")).to_be_visible()


def csp_violations(page: Page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return found


def test_it_takes_pasted_urls_to_a_sent_request(
    page: Page, live_server: Any, unit: dict[str, Any], smtp_sink: SmtpSink
) -> None:
    base = live_server.url
    violations = csp_violations(page)
    page.on("dialog", lambda dialog: dialog.accept())

    # The officer pastes four URLs: one new, one known, one on an unknown domain, one invalid.
    sign_in(page, base, "alice")
    page.get_by_role("link", name="Intake").click()
    page.get_by_role("textbox", name="URLs").fill(
        "Found today:\n"
        "- https://pastebay.example.net/p/new1?utm_source=x\n"
        "<HTTPS://PasteBay.example.net/p/known#comments>\n"
        "see https://unknown-host.example.org/thread/9.\n"
        "ftp://pastebay.example.net/dump.zip\n"
    )
    page.get_by_role("button", name="Refer the URLs").click()

    summary = page.locator("main")
    expect(summary).to_contain_text("https://pastebay.example.net/p/new1")
    expect(summary).to_contain_text(re.compile("already known", re.I))
    expect(summary).to_contain_text(re.compile(r"Create platform for example\.org", re.I))
    expect(summary).to_contain_text(re.compile("ftp", re.I))
    assert Item.objects.filter(url_normalised="https://pastebay.example.net/p/new1").exists()
    assert Item.objects.filter(url_normalised=KNOWN_URL).count() == 1
    sign_out(page)

    # A supervisor approves what others referred; his own item stays for someone else.
    sign_in(page, base, "bob")
    page.get_by_role("link", name="Approvals").click()
    expect(page.locator("main")).to_contain_text("you referred this")
    page.locator("[data-select-all]").check()
    page.get_by_role("button", name="Approve selected").click()
    new_item = Item.objects.get(url_normalised="https://pastebay.example.net/p/new1")
    assert new_item.status == ItemStatus.APPROVED
    assert Item.objects.get(url_normalised=KNOWN_URL).status == ItemStatus.PENDING_APPROVAL

    # He composes the week's requests and submits PasteBay's draft.
    page.get_by_role("link", name="Requests").click()
    page.goto(f"{base}/requests/compose/")
    page.get_by_role("button", name=re.compile(r"Compose \d+ draft")).click()
    request = RemovalRequest.objects.get(platform=unit["platform"])
    page.goto(f"{base}/requests/{request.pk}/")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator("main")).to_contain_text("another supervisor must approve and send it")
    assert page.get_by_role("button", name="Approve and send").count() == 0

    # Four-eyes holds on the server too: a forged POST by the composer is refused.
    status = page.evaluate(
        """async (url) => {
            const token = document.cookie.split('; ')
                .find(c => c.startsWith('csrftoken=')).split('=')[1];
            const body = new URLSearchParams({csrfmiddlewaretoken: token});
            const response = await fetch(url, {method: 'POST', body});
            return response.status;
        }""",
        f"{base}/mail/requests/{request.pk}/send/",
    )
    assert status in (400, 403, 409)
    request.refresh_from_db()
    assert request.state == RequestState.AWAITING_APPROVAL
    sign_out(page)

    # A second supervisor approves and sends.
    sign_in(page, base, "charlie")
    page.goto(f"{base}/requests/{request.pk}/")
    page.get_by_role("button", name="Approve and send").click()
    expect(page.locator("main")).to_contain_text(re.compile("sent", re.I))
    request.refresh_from_db()
    assert request.state == RequestState.SENT
    assert request.approved_by == unit["charlie"]

    # The email reached the SMTP server, listing the URL under the reference.
    assert len(smtp_sink.messages) == 1
    message = email.message_from_bytes(smtp_sink.messages[0], policy=policy.default)
    assert request.reference in message["Subject"]
    assert message["To"] == "abuse@pastebay.example.net"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "https://pastebay.example.net/p/new1" in body
    assert violations == []
