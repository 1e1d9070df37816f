# ruff: noqa: F811, PLR0917  (pytest fixtures by name: the SMTP sink and personas)
"""Portal tokens never at rest in clear (issue 10, point 1; decision 0017)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import Correspondence
from core.models import AuditEvent
from notifications.models import OutboundEmail
from notifications.services import outbound_email_deliver
from portal.logfilters import RedactPortalTokens
from tests.test_ladder import DAY, SENT, reminders_of, send, sweep_at
from tests.test_sending import SinkHandler, sent_request, smtp  # noqa: F401

pytestmark = pytest.mark.django_db

TOKEN_IN_TEXT = re.compile(r"/r/([A-Za-z0-9_-]{43})/")


def stored_text() -> str:
    rows = Correspondence.objects.values_list("body_text", "raw")
    ledger = OutboundEmail.objects.values_list("subject", "last_error")
    return "\n".join(
        [f"{text}\n{bytes(raw or b'').decode('utf-8', 'replace')}" for text, raw in rows]
        + [" ".join(row) for row in ledger]
    )


def delivered_link(smtp: SinkHandler) -> str:
    message = smtp.messages()[-1]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    (token,) = set(TOKEN_IN_TEXT.findall(text))
    assert f"/r/{token}/" in html
    return f"/r/{token}/"


def test_it_stores_no_token_for_a_sent_request(alice, bob, platform, smtp):
    request = sent_request(platform, alice, bob)
    outbound_email_deliver(email_id=OutboundEmail.objects.get(request=request).pk)
    assert TOKEN_IN_TEXT.search(stored_text()) is None
    assert "TKD-portal-link-withheld" in stored_text()


def test_it_delivers_a_working_link_by_smtp(alice, bob, platform, smtp):
    request = sent_request(platform, alice, bob)
    outbound_email_deliver(email_id=OutboundEmail.objects.get(request=request).pk)
    path = delivered_link(smtp)
    assert path.strip("/").split("/")[1] not in stored_text()
    assert Client().get(path).status_code == 200


def test_it_stores_no_token_for_a_reminder(alice, bob, platform, time_machine, smtp):
    request = send(platform, alice, bob, time_machine, items=1)
    sweep_at(SENT + 7 * DAY, time_machine)
    (reminder,) = reminders_of(request)
    assert outbound_email_deliver(email_id=reminder.pk) == "sent"
    assert Client().get(delivered_link(smtp)).status_code == 200
    assert TOKEN_IN_TEXT.search(stored_text()) is None


def test_it_shows_no_usable_link_to_an_analyst(alice, bob, dave, platform, smtp, client):
    request = sent_request(platform, alice, bob)
    outbound_email_deliver(email_id=OutboundEmail.objects.get(request=request).pk)
    token = delivered_link(smtp).split("/")[2]
    client.force_login(dave)
    html = client.get(reverse("requests:detail", args=[request.pk])).content.decode()
    assert token not in html
    assert TOKEN_IN_TEXT.search(html) is None


def test_it_reissues_a_link_by_email_and_kills_the_old_one(alice, bob, platform, smtp, client):
    request = sent_request(platform, alice, bob)
    outbound_email_deliver(email_id=OutboundEmail.objects.get(request=request).pk)
    old = delivered_link(smtp)
    link = request.portal_links.get()
    client.force_login(bob)
    response = client.post(reverse("portal:reissue", args=[link.pk]))
    assert response.status_code == 302
    assert Client().get(old).status_code == 404
    email = OutboundEmail.objects.filter(request=request).latest("id")
    outbound_email_deliver(email_id=email.pk)
    new = delivered_link(smtp)
    assert new != old
    assert Client().get(new).status_code == 200
    assert AuditEvent.objects.filter(action="portal.link_reissued").count() == 1
    assert TOKEN_IN_TEXT.search(stored_text()) is None


def test_it_refuses_a_reissue_by_an_analyst(alice, bob, dave, platform, client):
    request = sent_request(platform, alice, bob)
    link = request.portal_links.get()
    client.force_login(dave)
    assert client.post(reverse("portal:reissue", args=[link.pk])).status_code == 403


@pytest.mark.parametrize(
    "line",
    [
        '"GET /R/AbCdEf_gh-ij/ HTTP/1.1" 404',
        "GET https://portal.example/R/AbCdEf_gh-ij/receipt/1/",
        "next=%2Fr%2FAbCdEf_gh-ij%2F",
    ],
)
def test_it_redacts_tokens_whatever_the_case(line: str) -> None:
    record = logging.LogRecord("django.server", logging.INFO, __file__, 1, line, None, None)
    RedactPortalTokens().filter(record)
    assert "AbCdEf_gh-ij" not in record.getMessage()


def test_it_redacts_tokens_in_the_gunicorn_access_log() -> None:
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from portal.gunicorn_logging import RedactingLogger

    logger = RedactingLogger(Config())
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/r/SeCrEt_token-123/",
        "PATH_INFO": "/r/SeCrEt_token-123/",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": "https://portal.example/R/SeCrEt_token-123/",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(response, SimpleNamespace(headers=[]), environ, timedelta(seconds=1))
    assert "SeCrEt_token-123" not in " ".join(str(value) for value in atoms.values())
