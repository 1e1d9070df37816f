"""The API docs page renders from vendored assets under the strict CSP, and a token made
in the staff UI works against the API it documents."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from core.roles import Role, ensure_role_groups

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


def test_it_shows_the_api_docs_and_a_new_token_once(
    browser: Browser, live_server: Any, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user("olive", "olive@iru.example", PASSWORD)
    user.groups.add(ensure_role_groups()[Role.OFFICER])
    page = browser.new_page()
    refused: list[str] = []
    outside: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith(live_server.url) else None
        ),
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("olive")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/")

    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("What will use it").fill("crawler")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("New token").input_value()
    assert re.fullmatch(r"tkd_[A-Za-z0-9_-]{43}", secret)
    expect(page.get_by_role("cell", name="crawler", exact=True)).to_be_visible()

    answer = page.request.get(
        f"{live_server.url}/api/v1/platforms/", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status == 200 and answer.json()["results"] == []

    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_text("/api/v1/items/bulk/")).to_be_visible()
    expect(page.get_by_text("Takedown Desk API")).to_be_visible()
    assert refused == []
    assert outside == []
