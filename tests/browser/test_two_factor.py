"""A staff user enrols an authenticator app in a real browser, under the strict CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


def test_it_enrols_two_factor_and_signs_in_without_a_csp_violation(
    browser: Browser, live_server: Any, settings: Any, django_user_model: Any
) -> None:
    settings.STAFF_REQUIRE_2FA = True
    django_user_model.objects.create_user("bob", "bob@iru.example", PASSWORD)
    page = browser.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Playwright's assertions wait for the navigation; a bare is_visible() or page.url
    # reads the page as it is at that instant and raced the form post on a busy CI machine.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/"))

    page.get_by_role("button", name="Start").click()
    qr = page.locator("svg.totp-qr")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] > 100
    device = TOTPDevice.objects.get(user__username="bob")
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    page.get_by_label("Code from your authenticator app").fill(f"{code:06d}")
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_text("Two-factor sign-in is set up.")).to_be_visible()
    assert refused == []
