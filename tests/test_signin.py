"""Staff sign-in: lockout, security events, password change, two-factor (issue 10 point 2)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from base64 import b32encode

import pytest
import time_machine
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import AuditEvent
from core.signin import client_ip
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def sign_in(client: Client, username: str, password: str, **headers: str):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, headers=headers
    )


def fail_five_times(client: Client, username: str) -> None:
    for attempt in range(5):
        # A different forged X-Forwarded-For each time: the count must not restart.
        response = sign_in(
            client, username, "wrong password", X_Forwarded_For=f"203.0.113.{attempt + 1}"
        )
        # The fifth failure already gets the lockout page.
        assert response.status_code == (200 if attempt < 4 else 429)


@pytest.mark.django_db
def test_it_signs_in_with_the_right_password(client: Client, alice) -> None:
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_it_locks_a_username_after_five_bad_passwords_whatever_x_forwarded_for_says(
    client: Client, alice
) -> None:
    with time_machine.travel(START, tick=False):
        fail_five_times(client, "alice")
        response = sign_in(client, "alice", PASSWORD, X_Forwarded_For="198.51.100.9")
    assert response.status_code == 429
    assert "Sign-in temporarily locked" in response.content.decode()
    assert "15 minutes" in response.content.decode()
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_it_locks_the_username_from_another_address_too(alice) -> None:
    with time_machine.travel(START, tick=False):
        fail_five_times(Client(REMOTE_ADDR="192.0.2.10"), "alice")
        response = sign_in(Client(REMOTE_ADDR="192.0.2.20"), "alice", PASSWORD)
    assert response.status_code == 429


@pytest.mark.django_db
def test_it_leaves_another_user_unaffected_by_a_lockout(client: Client, alice, bob) -> None:
    with time_machine.travel(START, tick=False):
        fail_five_times(client, "alice")
        response = sign_in(client, "bob", PASSWORD)
    assert response.status_code == 302


@pytest.mark.django_db
def test_it_lets_the_user_in_again_after_the_cool_off(client: Client, alice) -> None:
    with time_machine.travel(START, tick=False):
        fail_five_times(client, "alice")
    with time_machine.travel(START + dt.timedelta(minutes=16), tick=False):
        response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 302


@pytest.mark.django_db
def test_it_forgets_earlier_failures_after_a_successful_sign_in(client: Client, alice) -> None:
    with time_machine.travel(START, tick=False):
        for _ in range(4):
            sign_in(client, "alice", "wrong password")
        assert sign_in(Client(), "alice", PASSWORD).status_code == 302
        for _ in range(4):
            sign_in(client, "alice", "wrong password")
        response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 302


# --- security events -----------------------------------------------------------------------


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.mark.django_db
def test_it_records_a_sign_in(client: Client, alice) -> None:
    sign_in(client, "alice", PASSWORD)
    [event] = events("security.sign_in")
    assert event.actor == alice
    assert (event.target_type, event.target_id) == ("auth.user", str(alice.pk))
    assert event.extra == {"ip_address": "127.0.0.1"}


@pytest.mark.django_db
def test_it_records_a_failed_sign_in_with_the_username_and_never_the_password(
    client: Client, alice
) -> None:
    sign_in(client, "alice", "my-secret-guess")
    [event] = events("security.sign_in_failed")
    assert event.actor is None
    assert event.target_id == str(alice.pk)
    assert event.extra["username"] == "alice"
    assert "my-secret-guess" not in json.dumps([event.old, event.new, event.extra])


@pytest.mark.django_db
def test_it_records_a_failed_sign_in_for_an_unknown_username(client: Client) -> None:
    sign_in(client, "nobody", "whatever")
    [event] = events("security.sign_in_failed")
    assert event.extra["username"] == "nobody"


@pytest.mark.django_db
def test_it_records_a_lockout_once(client: Client, alice) -> None:
    with time_machine.travel(START, tick=False):
        fail_five_times(client, "alice")
    [event] = events("security.lockout")
    assert event.target_id == str(alice.pk)
    assert event.extra == {"username": "alice", "ip_address": "127.0.0.1"}


# --- own password change -----------------------------------------------------------------

NEW_PASSWORD = "a brand new passphrase 42"


def change_password(client: Client, old: str = PASSWORD, new: str = NEW_PASSWORD):
    return client.post(
        "/accounts/password/",
        {"old_password": old, "new_password1": new, "new_password2": new},
    )


@pytest.mark.django_db
def test_it_links_the_password_change_from_the_user_menu(client: Client, alice) -> None:
    client.force_login(alice)
    assert 'href="/accounts/password/"' in client.get("/").content.decode()


@pytest.mark.django_db
def test_it_shows_the_password_change_form(client: Client, alice) -> None:
    client.force_login(alice)
    response = client.get("/accounts/password/")
    assert response.status_code == 200
    assert 'name="new_password1"' in response.content.decode()


@pytest.mark.django_db
def test_it_changes_the_users_own_password(client: Client, alice) -> None:
    client.force_login(alice)
    response = change_password(client)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/done/"
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert events("security.password_changed")[0].actor == alice


@pytest.mark.django_db
def test_it_refuses_a_wrong_old_password_with_a_message(client: Client, alice) -> None:
    client.force_login(alice)
    response = change_password(client, old="not my password")
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.django_db
def test_it_keeps_this_session_and_ends_the_others_on_a_password_change(alice) -> None:
    here, elsewhere = Client(), Client()
    here.force_login(alice)
    elsewhere.force_login(alice)
    change_password(here)
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302


# --- two-factor sign-in ------------------------------------------------------------------


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def require_2fa(settings) -> None:
    settings.STAFF_REQUIRE_2FA = True


@pytest.fixture
def alice_device(alice) -> TOTPDevice:
    return TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)


@pytest.mark.django_db
def test_it_sends_a_user_without_a_device_to_enrolment(client: Client, alice, require_2fa) -> None:
    client.force_login(alice)
    response = client.get("/items/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/setup/?next=%2Fitems%2F"


@pytest.mark.django_db
def test_it_sends_a_user_with_a_device_to_verification(
    client: Client, alice, alice_device, require_2fa
) -> None:
    client.force_login(alice)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/?next=%2F"


@pytest.mark.django_db
def test_it_keeps_the_admin_behind_two_factor(client: Client, require_2fa) -> None:
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/setup/")


@pytest.mark.django_db
def test_it_leaves_the_portal_and_health_check_outside_the_gate(
    client: Client, alice, require_2fa
) -> None:
    client.force_login(alice)
    assert client.get("/healthz").status_code == 200
    assert client.get("/r/not-a-token/").status_code != 302


@pytest.mark.django_db
def test_it_asks_for_nothing_more_when_two_factor_is_off(client: Client, alice) -> None:
    client.force_login(alice)
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_it_lets_a_user_in_with_a_correct_code(
    client: Client, alice, alice_device, require_2fa
) -> None:
    with time_machine.travel(START, tick=False):
        client.force_login(alice)
        response = client.post(
            "/accounts/2fa/", {"token": code_for(alice_device), "next": "/items/"}
        )
        assert client.get("/").status_code == 200
    assert response.status_code == 302
    assert response["Location"] == "/items/"
    assert events("security.2fa_verified")[0].actor == alice


@pytest.mark.django_db
def test_it_keeps_a_user_out_with_a_wrong_code(
    client: Client, alice, alice_device, require_2fa
) -> None:
    with time_machine.travel(START, tick=False):
        client.force_login(alice)
        good = code_for(alice_device)
        wrong = f"{(int(good) + 1) % 1_000_000:06d}"
        response = client.post("/accounts/2fa/", {"token": wrong, "next": "/"})
        assert client.get("/")["Location"] == "/accounts/2fa/?next=%2F"
    assert response.status_code == 200
    assert "That code was not accepted" in response.content.decode()
    assert events("security.2fa_failed")[0].actor == alice


@pytest.mark.django_db
def test_it_refuses_a_code_that_is_not_digits_with_a_message(
    client: Client, alice, alice_device, require_2fa
) -> None:
    client.force_login(alice)
    response = client.post("/accounts/2fa/", {"token": "abc<def>", "next": "/"})
    assert response.status_code == 200
    assert "The code is digits only." in response.content.decode()


@pytest.mark.django_db
def test_it_never_follows_an_offsite_next_after_verification(
    client: Client, alice, alice_device, require_2fa
) -> None:
    client.force_login(alice)
    with time_machine.travel(START, tick=False):
        response = client.post(
            "/accounts/2fa/", {"token": code_for(alice_device), "next": "https://evil.example/"}
        )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_it_changes_nothing_when_the_setup_page_is_only_viewed(
    client: Client, alice, require_2fa
) -> None:
    client.force_login(alice)
    response = client.get("/accounts/2fa/setup/")
    assert response.status_code == 200
    assert not TOTPDevice.objects.exists()


@pytest.mark.django_db
def test_it_enrols_a_device_with_a_qr_code_and_a_confirming_code(
    client: Client, alice, require_2fa
) -> None:
    with time_machine.travel(START, tick=False):
        client.force_login(alice)
        page = client.post("/accounts/2fa/setup/", {"start": "1", "next": "/"})
        device = TOTPDevice.objects.get(user=alice)
        html = page.content.decode()
        assert not device.confirmed
        assert "<svg" in html
        assert b32encode(device.bin_key).decode().rstrip("=")[:4] in html
        response = client.post("/accounts/2fa/setup/", {"token": code_for(device), "next": "/"})
        assert client.get("/").status_code == 200
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed


@pytest.mark.django_db
def test_it_draws_the_qr_code_without_a_style_attribute(client: Client, alice, require_2fa) -> None:
    client.force_login(alice)
    html = client.post("/accounts/2fa/setup/", {"start": "1", "next": "/"}).content.decode()
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "style" not in svg.lower()
    assert "<script" not in svg.lower()


@pytest.mark.django_db
def test_it_keeps_enrolment_open_after_a_wrong_confirming_code(
    client: Client, alice, require_2fa
) -> None:
    with time_machine.travel(START, tick=False):
        client.force_login(alice)
        client.post("/accounts/2fa/setup/", {"start": "1", "next": "/"})
        device = TOTPDevice.objects.get(user=alice)
        wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
        response = client.post("/accounts/2fa/setup/", {"token": wrong, "next": "/"})
        assert client.get("/")["Location"].startswith("/accounts/2fa/setup/")
    assert response.status_code == 200
    assert "That code was not accepted" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed


@pytest.mark.django_db
def test_it_never_writes_the_totp_secret_to_a_log_or_an_audit_row(
    client: Client, alice, require_2fa, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    client.force_login(alice)
    with time_machine.travel(START, tick=False):
        client.post("/accounts/2fa/setup/", {"start": "1", "next": "/"})
        device = TOTPDevice.objects.get(user=alice)
        client.post("/accounts/2fa/setup/", {"token": "000000", "next": "/"})
    # After a wrong code django-otp throttles the device for a second or more.
    with time_machine.travel(START + dt.timedelta(seconds=10), tick=False):
        client.post("/accounts/2fa/setup/", {"token": code_for(device), "next": "/"})
    secrets = {device.key, b32encode(device.bin_key).decode().rstrip("=")}
    # Every table of core (the audit events, and any row-level trail kept there).
    core_models = apps.get_app_config("core").get_models()
    stored = json.dumps([list(m._default_manager.values()) for m in core_models], default=str)
    assert events("security.2fa_enrolled")
    for secret in secrets:
        assert secret not in caplog.text
        assert secret.lower() not in stored.lower()


# --- the address on record -----------------------------------------------------------------


def test_it_records_remote_addr_and_ignores_x_forwarded_for_by_default(rf) -> None:
    request = rf.post(
        "/accounts/login/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.7"
    )
    assert client_ip(request) == "192.0.2.1"


def test_it_records_the_address_the_trusted_proxy_saw(rf, settings) -> None:
    settings.SIGNIN_TRUSTED_PROXY_COUNT = 1
    request = rf.post(
        "/accounts/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4"
    )
    assert client_ip(request) == "198.51.100.4"


def test_it_falls_back_to_remote_addr_when_the_forwarded_entry_is_no_address(rf, settings) -> None:
    settings.SIGNIN_TRUSTED_PROXY_COUNT = 1
    request = rf.post("/accounts/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="<script>")
    assert client_ip(request) == "10.0.0.2"


@pytest.mark.django_db
def test_it_never_shows_a_totp_secret_in_the_admin(client: Client, alice_device) -> None:
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    change = client.get(f"/admin/otp_totp/totpdevice/{alice_device.pk}/change/")
    assert change.status_code == 200
    assert alice_device.key not in change.content.decode()
    assert client.get(f"/admin/otp_totp/totpdevice/{alice_device.pk}/qrcode/").status_code == 403


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_it_refuses_an_over_long_username_with_a_message(client, url_name) -> None:
    response = client.post(reverse(url_name), {"username": "a" * 300, "password": "x"})

    assert response.status_code == 200
    assert "A username has at most 150 characters." in response.content.decode()
