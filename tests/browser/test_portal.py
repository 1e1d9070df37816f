"""The operator on a 360 px phone: open the link, answer two URLs, get a receipt."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Browser, expect

from cases.models import Outcome, RequestItem
from cases.services.outcomes import request_item_record_outcome
from core.roles import Role, ensure_role_groups
from portal.models import PortalLink
from portal.services import portal_link_issue
from tests.browser.conftest import axe_violations
from tests.factories import ContactFactory, RequestItemFactory, SentRequestFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def portal_path() -> tuple[str, list[RequestItem]]:
    contact = ContactFactory(name="PasteBay abuse desk")
    request = SentRequestFactory(platform=contact.platform, contacts=[contact], removal_order=True)
    lines = [RequestItemFactory(request=request) for _ in range(3)]
    _, token = portal_link_issue(request=request, contact=contact)
    return f"/r/{token}/", lines


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_it_lets_an_operator_answer_two_urls_on_a_phone(
    browser: Browser, live_server: Any, portal_path: tuple[str, list[RequestItem]]
) -> None:
    path, lines = portal_path
    # axe is injected as a script; only this test's browser bypasses our CSP to allow it.
    context = browser.new_context(viewport=PHONE, bypass_csp=True, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("TKD-")
    assert no_horizontal_scroll(page)
    assert axe_violations(page) == []

    first = page.get_by_role("group", name="URL 1")
    first.get_by_label("Removed", exact=True).check()
    second = page.get_by_role("group", name="URL 2")
    second.get_by_label("Forwarded to another provider").check()
    second.get_by_text("Reason, provider, question or comment").click()
    second.get_by_label("If forwarded: to which provider").fill("CloudHost Ltd")
    page.get_by_role("button", name="Send answers").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your answer is recorded")
    expect(page.locator("#receipt-number")).to_contain_text("R-TKD-")
    assert no_horizontal_scroll(page)
    assert axe_violations(page) == []
    context.close()

    outcomes = [RequestItem.objects.get(pk=line.pk).outcome for line in lines]
    assert outcomes == [Outcome.REMOVED, Outcome.FORWARDED, Outcome.PENDING]


def test_it_amends_an_answer_only_on_the_explicit_choice_and_says_so(
    browser: Browser, live_server: Any, portal_path: tuple[str, list[RequestItem]]
) -> None:
    path, lines = portal_path
    link = PortalLink.objects.get()
    request_item_record_outcome(
        line=lines[0], outcome=Outcome.REFUSED_NOT_VIOLATING, source="operator_portal",
        contact=link.contact,
    )  # fmt: skip
    context = browser.new_context(viewport=PHONE, bypass_csp=True, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}{path}")
    assert axe_violations(page) == []
    first = page.get_by_role("group", name="URL 1")
    expect(first).to_contain_text("Refused: not against the terms")
    first.get_by_label("Change this answer").check()
    first.get_by_label("Removed", exact=True).check()
    page.get_by_role("button", name="Send answers").click()
    expect(page.locator("#receipt-number")).to_contain_text("R-TKD-")
    expect(page.get_by_text("earlier answer: Refused: not against the terms")).to_be_visible()
    assert axe_violations(page) == []
    # Back on the page, "all removed" offers the two URLs still without an answer.
    page.goto(f"{live_server.url}{path}")
    page.get_by_role("button", name="All 2 URLs removed").click()
    expect(page.locator("#bulk-message")).to_have_text(
        "“All removed” was applied to 2 URLs without an answer. "
        "1 URL already answered was left as it was."
    )
    context.close()
    outcomes = [RequestItem.objects.get(pk=line.pk).outcome for line in lines]
    assert outcomes == [Outcome.REMOVED, Outcome.REMOVED, Outcome.REMOVED]


def test_it_works_without_javascript(
    browser: Browser, live_server: Any, portal_path: tuple[str, list[RequestItem]]
) -> None:
    path, lines = portal_path
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}{path}")
    page.get_by_role("button", name="All 3 URLs removed").click()
    expect(page.locator("#receipt-number")).to_contain_text("R-TKD-")
    context.close()
    assert {RequestItem.objects.get(pk=line.pk).outcome for line in lines} == {Outcome.REMOVED}


def test_it_shows_the_portal_panel_accessibly_on_the_request_page(
    browser: Browser,
    live_server: Any,
    portal_path: tuple[str, list[RequestItem]],
    django_user_model: Any,
) -> None:
    _path, lines = portal_path
    link = PortalLink.objects.get()
    request_item_record_outcome(
        line=lines[0],
        outcome=Outcome.NEEDS_INFO,
        source="operator_portal",
        contact=link.contact,
        detail={"question": "Which video?"},
    )
    groups = ensure_role_groups()
    bob = django_user_model.objects.create_user("bob", "bob@iru.example", "correct horse battery")
    bob.groups.set([Group.objects.get(pk=groups[Role.SUPERVISOR].pk)])
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/requests/{link.request_id}/")
    expect(page.get_by_role("heading", name="Operator portal")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("Answer the question").fill("The second one.")
    page.get_by_role("button", name="Send the answer").click()
    expect(page.get_by_text("Answer sent to")).to_be_visible()
    context.close()
    link.request.refresh_from_db()
    assert link.request.clock_paused_at is None
