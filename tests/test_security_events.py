"""Security events (issue 10, point 6): refusals and downloads leave an audit row."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from core.access import require_permission
from core.errors import PermissionRefused
from core.middleware import DomainErrorMiddleware
from core.models import AuditEvent
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def test_it_records_a_staff_view_refusal_with_the_missing_permission(client, dave) -> None:
    client.force_login(dave)

    response = client.get(reverse("items:intake"))

    assert response.status_code == 403
    event = AuditEvent.objects.get(action="security.permission_denied")
    assert event.actor == dave
    assert event.target_type == "auth.user"
    assert event.target_id == str(dave.pk)
    assert event.extra == {"path": reverse("items:intake"), "permission": "cases.add_item"}


def test_it_records_a_service_refusal_with_the_permission_it_named(dave) -> None:
    request = RequestFactory().post("/items/intake/")
    request.user = dave
    middleware = DomainErrorMiddleware(lambda r: HttpResponse())
    try:
        require_permission(dave, "cases.add_item", "refer items")
    except PermissionRefused as refused:
        response = middleware.process_exception(request, refused)

    assert response is not None and response.status_code == 403
    event = AuditEvent.objects.get(action="security.permission_denied")
    assert event.extra["permission"] == "cases.add_item"


def test_it_never_records_a_portal_token_in_a_refusal_path(bob) -> None:
    request = RequestFactory().get("/r/s3cr3t-token-value/")
    request.user = bob
    middleware = DomainErrorMiddleware(lambda r: HttpResponse())

    middleware.process_exception(request, PermissionRefused("no"))

    event = AuditEvent.objects.get(action="security.permission_denied")
    assert "s3cr3t" not in str(event.extra)
    assert event.extra["path"] == "/r/…"


def test_it_records_a_csv_export_with_its_query(client, dave) -> None:
    ItemFactory()
    client.force_login(dave)

    response = client.get(reverse("items:export"), {"q": "pastebay"})
    b"".join(response.streaming_content)

    event = AuditEvent.objects.get(action="security.export_downloaded")
    assert event.actor == dave
    assert event.target_id == str(dave.pk)
    assert event.extra["path"] == reverse("items:export")
    assert event.extra["query"] == "q=pastebay"
    assert event.extra["file"].startswith("items-")


def test_it_records_the_transparency_report_csv_download(client, dave) -> None:
    client.force_login(dave)

    response = client.get(reverse("metrics:report_csv"))

    assert response.status_code == 200, response.content
    event = AuditEvent.objects.get(action="security.export_downloaded")
    assert event.extra["path"] == reverse("metrics:report_csv")
    assert event.extra["file"].startswith("transparency-report-")


def test_it_records_nothing_for_an_ordinary_page(client, dave) -> None:
    client.force_login(dave)

    client.get(reverse("items:list"))

    assert not AuditEvent.objects.filter(action__startswith="security.export").exists()
