"""The portal is a capability URL on the internet: scope, validity, no GET effects, headers,
CSRF, rate limiting, no token in logs, hostile input."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db.models import Max
from django.test import Client
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.html import escape

from cases.models import Correspondence, OutcomeRecord, RemovalRequest, RequestItem
from cases.services.requests import request_close
from core.models import AuditEvent
from portal.logfilters import RedactPortalTokens, redact_portal_tokens
from portal.models import PortalLink
from portal.ratelimit import client_address
from portal.services import portal_link_revoke
from tests.factories import ContactFactory
from tests.naughty import chosen_strings
from tests.test_portal import answer, issue, open_request, page_url

pytestmark = pytest.mark.django_db

BLNS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "naughty-strings" / "blns.txt"
INVALID_TEXT = "This link is not valid"


def naughty_strings() -> list[str]:
    lines = BLNS.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    return chosen_strings([line for line in lines if line.strip() and not line.startswith("#")])


def state_snapshot() -> tuple:
    """Every row a portal visit could touch."""
    return (
        Correspondence.objects.count(),
        OutcomeRecord.objects.count(),
        AuditEvent.objects.count(),
        list(RequestItem.objects.order_by("pk").values_list("outcome", "outcome_at")),
        list(PortalLink.objects.order_by("pk").values_list("last_used_at", "revoked_at")),
        list(RemovalRequest.objects.order_by("pk").values_list("state", "clock_paused_at")),
        PortalLink.objects.aggregate(Max("created_at")),
    )


# --- scope ------------------------------------------------------------------------------


def test_it_never_shows_another_requests_urls(client: Client) -> None:
    rr_a, contact_a, _ = open_request(urls=2)
    _rr_b, _contact_b, lines_b = open_request(urls=2)
    _, token_a = issue(rr_a, contact_a)
    html = client.get(page_url(token_a)).content.decode()
    assert all(line.item.url_normalised not in html for line in lines_b)


def test_it_never_changes_another_request(client: Client) -> None:
    rr_a, contact_a, lines_a = open_request(urls=1)
    _rr_b, _contact_b, lines_b = open_request(urls=1)
    _, token_a = issue(rr_a, contact_a)
    before = state_snapshot()
    response = client.post(
        page_url(token_a), {**answer(lines_b[0], "removed"), **answer(lines_a[0], "removed")}
    )
    # Lines of B are not even parsed for A's link; only A's own line is recorded.
    assert response.status_code == 302
    assert RequestItem.objects.get(pk=lines_b[0].pk).outcome == "pending"
    assert RequestItem.objects.get(pk=lines_a[0].pk).outcome == "removed"
    assert before != state_snapshot()


def test_it_refuses_a_receipt_of_another_contact(client: Client) -> None:
    rr, contact, _ = open_request()
    other = ContactFactory(platform=rr.platform)
    rr.contacts.add(other)
    _, token = issue(rr, contact)
    _, other_token = issue(rr, other)
    client.post(page_url(other_token), {"all_removed": "1"})
    assert client.get(f"/r/{token}/receipt/1/").status_code == 404


# --- not valid: one page for every reason -------------------------------------------------


def test_it_answers_unknown_expired_and_revoked_links_identically(client: Client, bob) -> None:
    rr, _contact, _ = open_request()
    expired_contact, revoked_contact = ContactFactory.create_batch(2, platform=rr.platform)
    expired, expired_token = issue(rr, expired_contact)
    PortalLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))
    revoked, revoked_token = issue(rr, revoked_contact)
    portal_link_revoke(link=revoked, by=bob)
    unknown_token = "x" * 43
    responses = [client.get(page_url(t)) for t in (unknown_token, expired_token, revoked_token)]
    assert {r.status_code for r in responses} == {404}
    bodies = {r.content for r in responses}
    assert len(bodies) == 1
    assert INVALID_TEXT in bodies.pop().decode()
    posts = [client.post(page_url(t), {"all_removed": "1"}) for t in (expired_token, revoked_token)]
    assert {r.status_code for r in posts} == {404}
    assert not OutcomeRecord.objects.exists()


def test_it_closes_the_portal_with_the_request(client: Client, bob) -> None:
    rr, contact, _ = open_request()
    _, token = issue(rr, contact)
    request_close(request=rr, by=bob, reason="done")
    response = client.get(page_url(token))
    assert response.status_code == 404
    assert INVALID_TEXT in response.content.decode()


# --- GET changes nothing -------------------------------------------------------------------


def test_it_changes_nothing_on_get(client: Client) -> None:
    rr, contact, _ = open_request(urls=3)
    _, token = issue(rr, contact)
    client.post(page_url(token), {"all_removed": "1"})
    before = state_snapshot()
    for path in (page_url(token), f"/r/{token}/receipt/1/", page_url("nope" * 11)):
        client.get(path)
        client.head(path)
    assert state_snapshot() == before


# --- CSRF and headers ------------------------------------------------------------------------


def test_it_enforces_csrf() -> None:
    rr, contact, _ = open_request()
    _, token = issue(rr, contact)
    client = Client(enforce_csrf_checks=True)
    response = client.post(page_url(token), {"all_removed": "1"})
    assert response.status_code == 403
    assert not OutcomeRecord.objects.exists()
    # With the token from the page, the same post goes through.
    client.get(page_url(token))
    csrf = client.cookies["csrftoken"].value
    ok = client.post(page_url(token), {"all_removed": "1", "csrfmiddlewaretoken": csrf})
    assert ok.status_code == 302


def test_it_sends_privacy_headers_on_every_portal_response(client: Client) -> None:
    rr, contact, _ = open_request()
    _, token = issue(rr, contact)
    client.post(page_url(token), {"all_removed": "1"})
    responses = [
        client.get(page_url(token)),
        client.get(f"/r/{token}/receipt/1/"),
        client.get(page_url("unknown-token")),
        Client(enforce_csrf_checks=True).post(page_url(token), {}),
    ]
    for response in responses:
        assert response["Referrer-Policy"] == "no-referrer"
        assert response["Cache-Control"] == "no-store"
        assert "noindex" in response["X-Robots-Tag"]


def test_it_loads_no_third_party_resources(client: Client) -> None:
    rr, contact, _ = open_request()
    _, token = issue(rr, contact)
    html = client.get(page_url(token)).content.decode()
    assert "http://" not in html.replace(rr.lines.first().item.url_normalised, "")
    assert "<script" not in html
    assert "style=" not in html


# --- rate limit -------------------------------------------------------------------------------


def test_it_rate_limits_a_burst_of_bad_tokens_per_client(client: Client) -> None:
    rr, contact, _ = open_request()
    _, token = issue(rr, contact)
    with time_machine.travel(timezone.now(), tick=False):
        statuses = [
            client.get(page_url(f"bad-token-{n}"), REMOTE_ADDR="203.0.113.9").status_code
            for n in range(25)
        ]
        assert statuses[:20] == [404] * 20
        assert set(statuses[20:]) == {429}
        # Another client is not affected.
        assert Client().get(page_url(token), REMOTE_ADDR="198.51.100.7").status_code == 200


def test_it_never_refuses_a_valid_token_behind_an_address_that_guessed_badly(
    client: Client,
) -> None:
    # An operator behind the same NAT or proxy as a guesser must still answer (issue 10.5).
    rr, contact, _ = open_request()
    _, token = issue(rr, contact)
    with time_machine.travel(timezone.now(), tick=False):
        for n in range(25):
            client.get(page_url(f"bad-token-{n}"), REMOTE_ADDR="203.0.113.9")
        assert client.get(page_url("bad-token-x"), REMOTE_ADDR="203.0.113.9").status_code == 429
        assert client.get(page_url(token), REMOTE_ADDR="203.0.113.9").status_code == 200
        answered = client.post(page_url(token), {"all_removed": "1"}, REMOTE_ADDR="203.0.113.9")
        assert answered.status_code == 302


PROXY = "10.0.0.5"  # the reverse proxy's own address, as REMOTE_ADDR shows it


def bad_guesses(client: Client, count: int, **meta: str) -> list[int]:
    return [client.get(page_url(f"bad-token-{n}"), **meta).status_code for n in range(count)]


def test_it_ignores_a_spoofed_forwarded_for_without_trusted_proxies(
    client: Client, settings: Any
) -> None:
    settings.PORTAL_TRUSTED_PROXY_COUNT = 0
    with time_machine.travel(timezone.now(), tick=False):
        # A new X-Forwarded-For on every guess: the count goes on, keyed on REMOTE_ADDR.
        statuses = [
            client.get(
                page_url(f"bad-token-{n}"),
                REMOTE_ADDR="203.0.113.20",
                HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
            ).status_code
            for n in range(21)
        ]
        assert statuses == [404] * 20 + [429]


def test_it_keys_the_limit_on_the_forwarded_address_behind_a_trusted_proxy(
    client: Client, settings: Any
) -> None:
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    with time_machine.travel(timezone.now(), tick=False):
        guesser = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.30"}
        assert bad_guesses(client, 21, **guesser)[-1] == 429
        # Another client behind the same proxy is not locked out by the guesser.
        other = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.30"}
        assert Client().get(page_url("bad-token-y"), **other).status_code == 404


def test_it_trusts_only_the_entries_the_proxies_appended(client: Client, settings: Any) -> None:
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    with time_machine.travel(timezone.now(), tick=False):
        # The guesser rotates what it sends; the proxy appends the address it saw.
        statuses = [
            client.get(
                page_url(f"bad-token-{n}"),
                REMOTE_ADDR=PROXY,
                HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.40",
            ).status_code
            for n in range(21)
        ]
        assert statuses == [404] * 20 + [429]


@pytest.mark.parametrize(
    ("count", "forwarded_for", "expected"),
    [
        (0, "192.0.2.1", PROXY),
        (1, "192.0.2.1, 203.0.113.50", "203.0.113.50"),
        (2, "192.0.2.1, 203.0.113.50, 10.0.0.9", "203.0.113.50"),
        (2, "203.0.113.50", PROXY),  # shorter than the proxy chain: not trusted
        (1, "not-an-address", PROXY),
        (1, "2001:DB8::1", "2001:db8::1"),
    ],
)
def test_it_resolves_the_client_address_from_the_trusted_proxy_count(
    rf: Any, settings: Any, count: int, forwarded_for: str, expected: str
) -> None:
    settings.PORTAL_TRUSTED_PROXY_COUNT = count
    request = rf.get("/r/x/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_address(request) == expected


# --- logs -------------------------------------------------------------------------------------


def test_it_never_logs_the_token(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    rr, contact, lines = open_request(urls=1)
    _, token = issue(rr, contact)
    caplog.set_level(logging.DEBUG)
    client.get(page_url(token))
    client.post(page_url(token), answer(lines[0], "removed"))
    client.get(f"/r/{token}/receipt/1/")
    client.post(page_url(token), answer(lines[0], "forwarded"))  # 400
    Client(enforce_csrf_checks=True).post(page_url(token), {})  # 403, logged by Django
    client.get(f"/r/{token}/no-such-page/")  # unrouted 404, logged by Django
    client.get(page_url(token[:-1]))
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert caplog.records, "Django logged the 403/404 (redacted)"
    assert token not in logged
    assert token[:-1] not in logged


def test_it_redacts_tokens_in_log_records() -> None:
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/r/AbC_d-9/x/",), None
    )
    assert RedactPortalTokens().filter(record) is True
    assert record.getMessage() == "Not Found: /r/[redacted]/x/"
    assert redact_portal_tokens("GET https://portal.example/r/tok3n/receipt/1/") == (
        "GET https://portal.example/r/[redacted]/receipt/1/"
    )


def test_it_redacts_tokens_on_the_root_handlers() -> None:
    root = logging.getLogger()
    assert any(
        isinstance(f, RedactPortalTokens) for handler in root.handlers for f in handler.filters
    )


# --- the internet-facing service routes the portal only ---------------------------------------


def test_it_routes_only_the_portal_on_the_portal_service() -> None:
    urlconf = "config.urls_portal"
    assert resolve("/r/some-token/", urlconf=urlconf).url_name == "page"
    for path in (
        "/",
        "/admin/",
        "/requests/",
        "/mail/",
        "/accounts/login/",
        "/r/-/links/1/revoke/",
    ):
        with pytest.raises(Resolver404):
            resolve(path, urlconf=urlconf)
    with pytest.raises(NoReverseMatch):
        reverse("portal:revoke", args=[1], urlconf=urlconf)


# --- hostile input ----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["comment", "question", "forwarded_to"])
def test_it_survives_naughty_strings_in_every_text_field(client: Client, field: str) -> None:
    rr, contact, lines = open_request(urls=1)
    _, token = issue(rr, contact)
    outcome = {"comment": "removed", "question": "needs_clarification", "forwarded_to": "forwarded"}
    strings = naughty_strings()
    assert len(strings) >= 25  # the sample or the whole corpus, or a share (tests/naughty.py)
    for n, text in enumerate(strings):
        value = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
        response = client.post(page_url(token), answer(lines[0], outcome[field], **{field: value}))
        assert response.status_code < 500, (n, value)
        if response.status_code == 302:
            receipt = client.get(response["Location"])
            assert receipt.status_code == 200
            shown = value.replace("\x00", "").strip()
            if shown and "<" in shown:
                assert escape(shown) in receipt.content.decode(), (n, value)
                assert shown not in receipt.content.decode(), (n, value)


def test_it_accepts_the_null_origin_a_no_referrer_page_sends_but_no_foreign_one() -> None:
    rr, contact, _ = open_request()
    _, token = issue(rr, contact)
    client = Client(enforce_csrf_checks=True)
    client.get(page_url(token))
    data = {"all_removed": "1", "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    foreign = client.post(page_url(token), data, HTTP_ORIGIN="https://evil.example")
    assert foreign.status_code == 403
    assert not OutcomeRecord.objects.exists()
    assert client.post(page_url(token), {"all_removed": "1"}, HTTP_ORIGIN="null").status_code == 403
    assert client.post(page_url(token), data, HTTP_ORIGIN="null").status_code == 302
