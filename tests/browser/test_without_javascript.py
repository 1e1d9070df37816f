"""Core flows work with JavaScript switched off: plain forms, server-rendered pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Browser, expect

from cases.models import Item, ItemStatus
from core.roles import Role, ensure_role_groups
from tests.factories import ItemFactory, PlatformDomainFactory, PlatformFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


def test_it_refers_and_approves_urls_with_javascript_off(
    browser: Browser, live_server: Any, django_user_model: Any
) -> None:
    groups = ensure_role_groups()
    for name, role in (("alice", Role.OFFICER), ("bob", Role.SUPERVISOR)):
        user = django_user_model.objects.create_user(name, f"{name}@iru.example", PASSWORD)
        user.groups.set([Group.objects.get(pk=groups[role].pk)])
    platform = PlatformFactory(name="PasteBay")
    PlatformDomainFactory(platform=platform, domain="pastebay.example.net")
    ItemFactory(platform=platform, status=ItemStatus.PENDING_APPROVAL)  # someone else's

    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()

    def sign_in(username: str) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

    sign_in("alice")
    page.goto(f"{live_server.url}/items/intake/")
    page.get_by_role("textbox", name="URLs").fill("https://pastebay.example.net/p/nojs")
    page.get_by_role("button", name="Refer the URLs").click()
    expect(page.locator("main")).to_contain_text("https://pastebay.example.net/p/nojs")
    page.get_by_role("button", name="Sign out").click()

    sign_in("bob")
    page.goto(f"{live_server.url}/items/approvals/")
    for box in page.locator("input[type=checkbox][name=items]").all():
        box.check()
    page.get_by_role("button", name="Approve selected").click()
    context.close()

    assert Item.objects.get(url_normalised="https://pastebay.example.net/p/nojs").status == (
        ItemStatus.APPROVED
    )
    assert not Item.objects.filter(status=ItemStatus.PENDING_APPROVAL).exists()
