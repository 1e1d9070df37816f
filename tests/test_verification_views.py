"""Verification in the staff UI: check history, "Check now", contradictions on the
dashboard and the request page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Item, Outcome, VerificationStatus
from config.celery_app import app as celery_app
from core.models import AuditEvent
from tests.factories import ItemFactory, RequestItemFactory, SentRequestFactory, UrlCheckFactory
from verification.models import UrlCheck
from verification.testing import SiteServer, running_site_server

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    with running_site_server() as site:
        yield site


@pytest.fixture
def eager_celery() -> Iterator[None]:
    before = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


def verify(item: Item, verification: str, at) -> None:
    Item.objects.filter(pk=item.pk).update(verification=verification, verified_at=at)


def contradicted_line(**kwargs):
    """An operator answered "removed" an hour ago; a check since found the URL live."""
    now = timezone.now()
    line = RequestItemFactory(
        outcome=Outcome.REMOVED, outcome_at=now - timedelta(hours=1), **kwargs
    )
    verify(line.item, VerificationStatus.LIVE, now)
    return line


# --- permissions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "permission", "granted"),
    [
        ("alice", "verification.view_urlcheck", True),
        ("alice", "verification.request_check", True),
        ("bob", "verification.request_check", True),
        ("dave", "verification.view_urlcheck", True),
        ("dave", "verification.request_check", False),
    ],
)
def test_it_gives_each_role_its_verification_permissions(request, persona, permission, granted):
    assert request.getfixturevalue(persona).has_perm(permission) is granted


# --- the history page and "Check now" ----------------------------------------------------


def test_it_shows_an_items_checks_to_an_analyst(client, dave) -> None:
    check = UrlCheckFactory(reason="redirect to front page")
    client.force_login(dave)

    response = client.get(reverse("verification:item_checks", args=[check.item_id]))

    assert response.status_code == 200
    assert "redirect to front page" in response.content.decode()
    assert "Check now" not in response.content.decode()


def test_it_lists_checks_in_a_constant_number_of_queries(
    client, alice, django_assert_max_num_queries
) -> None:
    item = ItemFactory(approved=True)
    UrlCheckFactory(item=item)
    client.force_login(alice)
    with django_assert_max_num_queries(20) as one:
        client.get(reverse("verification:item_checks", args=[item.pk]))
    UrlCheckFactory.create_batch(15, item=item)

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("verification:item_checks", args=[item.pk]))

    assert len(response.context["history"].checks) == 16


def test_it_checks_a_url_when_an_officer_asks(
    client, alice, server, eager_celery, django_capture_on_commit_callbacks
) -> None:
    item = ItemFactory(approved=True, url_normalised=server.url("/gone410/view-1"))
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("verification:item_check_now", args=[item.pk]))

    assert response.status_code == 302
    check = UrlCheck.objects.get(item=item)
    assert (check.classification, check.reason, check.trigger) == ("gone", "410", "manual")
    assert AuditEvent.objects.filter(action="item.check_requested", actor=alice).exists()


def test_it_refuses_check_now_to_an_analyst(client, dave, django_capture_on_commit_callbacks):
    item = ItemFactory(approved=True)
    client.force_login(dave)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("verification:item_check_now", args=[item.pk]))

    assert response.status_code == 403
    assert callbacks == []
    assert not AuditEvent.objects.filter(action="item.check_requested").exists()


def test_it_changes_nothing_on_get(client, alice, django_capture_on_commit_callbacks) -> None:
    item = ItemFactory(approved=True)
    client.force_login(alice)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(reverse("verification:item_check_now", args=[item.pk]))

    assert response.status_code == 405
    assert callbacks == []
    assert not AuditEvent.objects.filter(action="item.check_requested").exists()


def test_it_links_the_history_and_check_now_from_the_item_page(client, alice) -> None:
    item = ItemFactory(approved=True)
    client.force_login(alice)

    page = client.get(reverse("items:detail", args=[item.pk])).content.decode()

    assert reverse("verification:item_checks", args=[item.pk]) in page
    assert reverse("verification:item_check_now", args=[item.pk]) in page


# --- contradictions ----------------------------------------------------------------------


def test_it_shows_a_contradiction_on_the_dashboard(client, bob) -> None:
    line = contradicted_line()
    client.force_login(bob)

    response = client.get(reverse("dashboard"))

    assert response.context["board"].contradictions == [line]
    assert line.item.url_normalised in response.content.decode()


def test_it_does_not_flag_a_removal_checked_only_before_the_answer(client, bob) -> None:
    now = timezone.now()
    line = RequestItemFactory(outcome=Outcome.REMOVED, outcome_at=now)
    verify(line.item, VerificationStatus.LIVE, now - timedelta(hours=1))
    client.force_login(bob)

    assert client.get(reverse("dashboard")).context["board"].contradictions == []


def test_it_does_not_flag_a_removal_verified_gone(client, bob) -> None:
    line = RequestItemFactory(outcome=Outcome.REMOVED, outcome_at=timezone.now())
    verify(line.item, VerificationStatus.GONE, timezone.now())
    client.force_login(bob)

    assert client.get(reverse("dashboard")).context["board"].contradictions == []


def test_it_reads_contradictions_in_a_constant_number_of_queries(
    client, bob, django_assert_max_num_queries
) -> None:
    contradicted_line()
    client.force_login(bob)
    with django_assert_max_num_queries(40) as one:
        client.get(reverse("dashboard"))
    for _ in range(8):
        contradicted_line()

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("dashboard"))

    assert response.context["board"].contradiction_count == 9


def test_it_flags_the_contradiction_on_the_request_page(client, alice) -> None:
    request = SentRequestFactory()
    contradicted = contradicted_line(request=request)
    pending = RequestItemFactory(request=request)
    client.force_login(alice)

    response = client.get(reverse("requests:detail", args=[request.pk]))

    lines = {line.pk: line.contradicted for line in response.context["detail"].lines}
    assert lines == {contradicted.pk: True, pending.pk: False}
    page = response.content.decode()
    assert page.count("Contradiction: operator says removed, URL still live") == 1
    assert "Still live" in page and "Not checked yet" in page


# --- a check that could not run is never "gone" (issue 10, point 11) --------------------


def _fake_getaddrinfo(known: dict[str, str]):
    """The internet's DNS, mocked: names in ``known`` resolve, every other is NXDOMAIN."""
    import socket

    def getaddrinfo(host, port, *args, **kwargs):
        if host in known:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (known[host], port))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    return getaddrinfo


def _check_now(client, alice, url: str, django_capture_on_commit_callbacks) -> UrlCheck:
    item = ItemFactory(approved=True, url_normalised=url)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("verification:item_check_now", args=[item.pk]))
    assert response.status_code == 302
    return UrlCheck.objects.get(item=item)


def test_it_records_unknown_when_the_resolver_knows_no_name_at_all(
    client, alice, eager_celery, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    # A cut-off resolver (the staff server's sandbox) says "not known" for every name.
    monkeypatch.setattr("socket.getaddrinfo", _fake_getaddrinfo({}))

    check = _check_now(
        client, alice, "https://no-such-host.example-site.com/x", django_capture_on_commit_callbacks
    )

    assert (check.classification, check.reason) == ("unknown", "DNS error")
    assert "no running event loop" not in check.error


def test_it_records_unknown_with_the_reason_when_the_check_breaks(
    client, alice, eager_celery, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("resolver exploded")

    monkeypatch.setattr("socket.getaddrinfo", broken)

    check = _check_now(
        client, alice, "https://site.example-site.com/x", django_capture_on_commit_callbacks
    )

    assert (check.classification, check.reason) == ("unknown", "check failed")
    assert "resolver exploded" in check.error


def test_it_records_gone_for_a_definitive_nxdomain(
    client, alice, eager_celery, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from verification.network import DNS_CANARY

    monkeypatch.setattr("socket.getaddrinfo", _fake_getaddrinfo({DNS_CANARY: "192.0.34.8"}))

    check = _check_now(
        client, alice, "https://no-such-host.example-site.com/x", django_capture_on_commit_callbacks
    )

    assert (check.classification, check.reason) == ("gone", "DNS failure")


def test_it_records_unknown_for_a_reserved_name_not_in_dns(
    client, alice, eager_celery, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from verification.network import DNS_CANARY

    monkeypatch.setattr("socket.getaddrinfo", _fake_getaddrinfo({DNS_CANARY: "192.0.34.8"}))

    check = _check_now(
        client, alice, "https://nothing.example.invalid/x", django_capture_on_commit_callbacks
    )

    assert (check.classification, check.reason) == ("unknown", "reserved name")
