"""An officer captures an item's URL and adds a screenshot, then downloads both, in Chromium.

The capture itself runs as the worker's job would (called here, after the click), against
the local site server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from cases.models import Evidence
from core.roles import Role, ensure_role_groups
from evidence.capture import CaptureConfig
from evidence.services import evidence_capture_pending_job
from tests.factories import ItemFactory
from verification.network import static_resolver
from verification.testing import running_site_server

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


def test_an_officer_captures_a_url_adds_a_screenshot_and_downloads_them(
    browser: Browser, live_server: Any, django_user_model: Any, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    officer = django_user_model.objects.create_user("olive", "olive@iru.example", PASSWORD)
    officer.groups.add(ensure_role_groups()[Role.OFFICER])
    page = browser.new_page(accept_downloads=True)
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    with running_site_server() as site:
        url = site.url("/live/channel-post-9", "capture.test")
        item = ItemFactory(url_submitted=url, url_normalised=url, host="capture.test")
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill("olive")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{live_server.url}/")

        page.goto(f"{live_server.url}/items/{item.pk}/")
        expect(page.get_by_text("No capture yet.")).to_be_visible()
        page.get_by_role("link", name="Captures, downloads and uploads").click()
        page.get_by_role("button", name="Capture now").click()
        expect(page.get_by_text("The URL will be captured within a minute or two.")).to_be_visible()
        expect(page.get_by_text("A capture is waiting for the worker")).to_be_visible()

        config = replace(CaptureConfig.from_settings(), allow_loopback=True)
        summary = evidence_capture_pending_job(
            now=timezone.now(),
            resolver=static_resolver({"capture.test": "127.0.0.1"}),
            config=config,
        )
        assert summary == {"selected": 1, "captured": 1}

    page.reload()
    capture = Evidence.objects.get(item=item)
    expect(page.get_by_text(capture.sha256)).to_be_visible()
    expect(page.get_by_role("region", name="Captures").get_by_text("Captured")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download").click()
    downloaded = Path(download_info.value.path())
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == capture.sha256

    screenshot = tmp_path / "header.png"
    screenshot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"channel header" * 50)
    page.locator("input[type=file][name=file]").set_input_files(str(screenshot))
    page.get_by_label("What it shows").fill("The channel's header before it was taken down")
    page.get_by_role("button", name="Add as evidence").click()
    digest = hashlib.sha256(screenshot.read_bytes()).hexdigest()
    expect(page.get_by_text(f"Kept as evidence, SHA-256 {digest}.")).to_be_visible()
    expect(page.get_by_role("cell", name=digest)).to_be_visible()

    page.goto(f"{live_server.url}/items/{item.pk}/")
    expect(page.get_by_text(f"SHA-256 {digest}")).to_be_visible()
    assert refused == []
