"""Error pages render on both faces: the staff service and the internet-facing portal."""

from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_it_shows_a_plain_not_found_page_to_staff(client, alice) -> None:
    client.force_login(alice)

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "There is nothing at this address" in response.content.decode()


def test_it_shows_a_forbidden_page_naming_the_reason(client, dave) -> None:
    client.force_login(dave)

    response = client.get("/items/intake/")

    assert response.status_code == 403
    assert "Your role does not allow this page" in response.content.decode()


@override_settings(ROOT_URLCONF="config.urls_portal")
def test_it_answers_staff_urls_on_the_portal_service_with_a_plain_404(client) -> None:
    for path in ("/admin/", "/items/", "/accounts/login/", "/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "dashboard" not in response.content.decode().lower()
