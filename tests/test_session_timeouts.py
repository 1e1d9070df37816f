"""Idle and absolute staff session timeouts (issue 10 point 2)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_it_ends_a_session_idle_for_more_than_30_minutes(client: Client, alice) -> None:
    with time_machine.travel(START, tick=False):
        client.force_login(alice)
        assert client.get("/").status_code == 200
    with time_machine.travel(START + dt.timedelta(minutes=31), tick=False):
        assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_it_keeps_a_session_used_within_30_minutes(client: Client, alice) -> None:
    with time_machine.travel(START, tick=False):
        client.force_login(alice)
        client.get("/")
    with time_machine.travel(START + dt.timedelta(minutes=29), tick=False):
        assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_it_ends_a_busy_session_after_12_hours(client: Client, alice) -> None:
    with time_machine.travel(START, tick=False):
        client.force_login(alice)
        client.get("/")
    for step in range(1, 26):
        with time_machine.travel(START + dt.timedelta(minutes=29 * step), tick=False):
            status = client.get("/").status_code
    # 25 x 29 min = 12 h 5 min, never idle for 30 minutes.
    assert status == 302


@pytest.mark.django_db
def test_it_ends_every_session_of_a_deactivated_user(alice) -> None:
    first, second = Client(), Client()
    first.force_login(alice)
    second.force_login(alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert first.get("/").status_code == 302
    assert second.get("/").status_code == 302


@pytest.mark.django_db
def test_it_refuses_logout_by_get(client: Client, alice) -> None:
    client.force_login(alice)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200
