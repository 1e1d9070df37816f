"""Headers and cookies (issue 10 point 8)."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_it_sends_no_store_on_a_staff_page(client: Client, alice) -> None:
    client.force_login(alice)
    response = client.get("/")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_it_sends_no_store_on_the_login_page(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_it_sends_corp_and_permissions_policy_on_every_response(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
