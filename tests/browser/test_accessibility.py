"""axe-core on every main staff page: no serious or critical violation."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Browser

from cases.models import Outcome
from core.roles import Role, ensure_role_groups
from tests.browser.conftest import axe_violations
from tests.factories import (
    CaseFactory,
    ContactFactory,
    ItemFactory,
    PlatformDomainFactory,
    PlatformFactory,
    RequestItemFactory,
    SentRequestFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def pages(django_user_model: Any) -> dict[str, str]:
    groups = ensure_role_groups()
    supervisor = django_user_model.objects.create_user("bob", "bob@iru.example", PASSWORD)
    supervisor.groups.set([Group.objects.get(pk=groups[Role.SUPERVISOR].pk)])
    platform = PlatformFactory(name="PasteBay")
    PlatformDomainFactory(platform=platform, domain="pastebay.example.net")
    ContactFactory(platform=platform, is_primary=True)
    case = CaseFactory(title="Release 42 and its re-uploads")
    item = ItemFactory(platform=platform, case=case, threat_to_life=True)
    ItemFactory.create_batch(3, platform=platform, case=case)
    request = SentRequestFactory(platform=platform)
    RequestItemFactory(request=request, item=item, outcome=Outcome.REMOVED)
    return {
        "dashboard": "/",
        "intake": "/items/intake/",
        "items": "/items/",
        "item": f"/items/{item.pk}/",
        "approvals": "/items/approvals/",
        "cases": "/cases/",
        "case": f"/cases/{case.pk}/",
        "requests": "/requests/",
        "request": f"/requests/{request.pk}/",
        "compose": "/requests/compose/",
        "platforms": "/platforms/",
        "platform": f"/platforms/{platform.pk}/",
        "new platform": "/platforms/new/?domain=example.org",
        "compliance league": "/metrics/",
        "scorecard": f"/metrics/platforms/{platform.pk}/",
        "weekly trends": "/metrics/trends/",
        "items behind a figure": "/metrics/items/?figure=removed",
        "transparency report": "/metrics/report/",
    }


def test_it_finds_no_serious_accessibility_violation_on_any_main_page(
    browser: Browser, live_server: Any, pages: dict[str, str]
) -> None:
    # axe is injected as a script; only this test's browser bypasses our CSP to allow it.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    assert axe_violations(page) == []
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    found = {}
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, f"{name}: {path}"
        violations = axe_violations(page)
        if violations:
            found[name] = violations
    context.close()

    assert found == {}
