"""The audit search page: admins find who did what, page through it and export it."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from core.audit import audit_record
from core.models import AuditEvent, RowChange
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def _content(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_it_refuses_the_audit_page_to_every_staff_role(client: Client, alice, bob, dave) -> None:
    for user in (alice, bob, dave):
        client.force_login(user)
        assert client.get("/audit/").status_code == 403
        assert client.get("/audit/export.csv").status_code == 403


def test_it_finds_events_by_action_and_actor(admin_client: Client, platform, bob) -> None:
    audit_record(actor=bob, action="platform.renamed", target=platform, old="a", new="b")
    audit_record(actor=None, action="request.sent", target=platform)
    response = admin_client.get("/audit/", {"action": "platform.", "actor": "bob"})
    assert response.status_code == 200
    events = list(response.context["page"].rows)
    assert [event.action for event in events] == ["platform.renamed"]


def test_it_lists_the_row_changes_the_database_recorded(admin_client: Client, platform) -> None:
    response = admin_client.get(
        "/audit/", {"kind": "rows", "target_type": "platforms_platform", "target_id": platform.pk}
    )
    assert response.status_code == 200
    rows = list(response.context["page"].rows)
    assert rows and all(row.table_name == "platforms_platform" for row in rows)
    assert rows[-1].op == RowChange.Op.INSERT


def test_it_refuses_an_inverted_date_range_with_a_message(admin_client: Client) -> None:
    response = admin_client.get("/audit/", {"since": "2026-12-02", "until": "2026-12-01"})
    assert response.status_code == 400
    assert "must be after" in response.content.decode()
    assert admin_client.get("/audit/export.csv", {"since": "x"}).status_code == 400


def test_it_exports_the_search_with_formulas_neutralised(admin_client: Client, platform) -> None:
    audit_record(actor=None, action="=cmd|' /C calc'!A0", target=platform)
    response = admin_client.get("/audit/export.csv", {"action": "=cmd"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(_content(response))))
    assert rows[0][:5] == ["id", "at", "actor", "actor_label", "action"]
    assert rows[1][4].startswith("'=")
    assert AuditEvent.objects.filter(action="=cmd|' /C calc'!A0").exists()  # stored unchanged


def test_it_pages_in_a_constant_number_of_queries(
    admin_client: Client, platform, django_assert_max_num_queries
) -> None:
    for n in range(60):
        audit_record(actor=None, action=f"test.event{n}", target=platform)
    with django_assert_max_num_queries(8):
        first = admin_client.get("/audit/")
    with django_assert_max_num_queries(8):
        second = admin_client.get("/audit/", {"after": first.context["page"].next_cursor})
    assert len(first.context["page"].rows) == 50
    assert second.context["page"].rows


def test_it_shows_the_audit_trail_in_the_admins_navigation(admin_client: Client) -> None:
    assert 'href="/audit/"' in admin_client.get("/").content.decode()
