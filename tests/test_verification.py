"""Verification: the checker's manners and guard, storing checks, choosing what to check.

Network only to a real HTTP server on 127.0.0.1 (verification.testing). Fake
host names reach it through the checker's resolver hook, never through DNS.
"""

from __future__ import annotations

import io
import re
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from cases.models import Item, Outcome, VerificationStatus
from core.errors import PermissionRefused
from core.models import AuditEvent
from scheduling.jobs import job_run
from tests.factories import ItemFactory, RemovalRequestFactory, RequestItemFactory
from verification import network
from verification.checker import CheckerConfig, CheckResult, check_urls
from verification.models import UrlCheck
from verification.network import static_resolver
from verification.selectors import verification_backlog_count, verification_batch
from verification.services import (
    item_check_request,
    item_check_run,
    url_check_record,
    verification_sweep_job,
)
from verification.testing import SiteServer, running_site_server

LIVE, GONE, UNKNOWN = VerificationStatus.LIVE, VerificationStatus.GONE, VerificationStatus.UNKNOWN


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    with running_site_server(slow_seconds=1.0) as site:
        yield site


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address the guarded backend actually opens a TCP connection to."""
    opened: list[str] = []
    original = network.AutoBackend.connect_tcp

    async def spy(self, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(host)
        return await original(self, host, port, *args, **kwargs)

    monkeypatch.setattr(network.AutoBackend, "connect_tcp", spy)
    return opened


def config(**overrides: object) -> CheckerConfig:
    return CheckerConfig.from_settings(
        **{"allow_loopback": True, "retry_backoff": 0.0, "read_timeout": 2.0, **overrides}
    )


def check_one(url: str, resolver=None, **overrides: object) -> CheckResult:
    results, _ = check_urls([url], config=config(**overrides), resolver=resolver)
    return results[url]


# --- manners ------------------------------------------------------------------------------


def test_it_says_who_it_is(server, settings) -> None:
    check_one(server.url("/live/ua-1"))

    (hit,) = server.hits_for("/live/ua-1")
    assert hit.user_agent == settings.VERIFICATION_USER_AGENT
    assert hit.user_agent.startswith("TakedownDesk-Verifier/1.0 (+mailto:")


def test_it_never_has_more_than_two_requests_in_flight_per_host() -> None:
    hosts = ["a.test", "b.test", "c.test"]
    resolver = static_resolver(dict.fromkeys(hosts, "127.0.0.1"))
    with running_site_server(slow_seconds=0.15) as site:
        urls = [site.url(f"/slow/{n}", host) for host in hosts for n in range(6)]

        results, stats = check_urls(urls, config=config(max_concurrency=10), resolver=resolver)

    assert {r.classification for r in results.values()} == {LIVE}
    assert {host: site.max_per_host[host] for host in hosts} == dict.fromkeys(hosts, 2)
    assert stats.max_in_flight_per_host == dict.fromkeys(hosts, 2)


def test_it_keeps_under_the_global_concurrency_cap() -> None:
    hosts = [f"h{n}.test" for n in range(6)]
    resolver = static_resolver(dict.fromkeys(hosts, "127.0.0.1"))
    with running_site_server(slow_seconds=0.1) as site:
        urls = [site.url(f"/slow/{n}", host) for host in hosts for n in range(3)]

        check_urls(urls, config=config(max_concurrency=3), resolver=resolver)

    assert site.max_total == 3


def test_it_retries_a_reset_connection_twice_then_says_unknown(server) -> None:
    result = check_one(server.url("/reset/r-1"))

    assert (result.classification, result.reason) == (UNKNOWN, "connection reset")
    assert len(server.hits_for("/reset/r-1")) == 3


def test_it_counts_a_check_that_succeeds_on_retry(server) -> None:
    result = check_one(server.url("/flaky/f-1"))

    assert result.classification == LIVE
    assert len(server.hits_for("/flaky/f-1")) == 2


def test_it_does_not_retry_an_http_status(server) -> None:
    check_one(server.url("/error/e-1"))

    assert len(server.hits_for("/error/e-1")) == 1


def test_it_gives_up_on_a_response_that_takes_too_long_overall(server) -> None:
    result = check_one(server.url("/slow/t-1"), read_timeout=5.0, request_timeout=0.2)

    assert (result.classification, result.reason) == (UNKNOWN, "timeout")


def test_it_reads_no_more_than_the_body_cap(server) -> None:
    result = check_one(server.url("/live/cap-1"), max_body_bytes=16)

    assert result.content_length == 16


# --- the SSRF guard ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("10.0.0.5", "private"),
        ("192.168.1.10", "private"),
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
    ],
)
def test_it_refuses_an_internal_address_without_connecting(
    server, connections, address, why
) -> None:
    resolver = static_resolver({"internal.test": address})

    result = check_one(
        server.url("/live/ssrf-1", "internal.test"), resolver=resolver, allow_loopback=False
    )

    assert (result.classification, result.reason) == (UNKNOWN, f"address refused ({why})")
    assert connections == []
    assert server.hits_for("/live/ssrf-1") == []


def test_it_refuses_a_private_ip_in_the_url_itself(connections) -> None:
    result = check_one("http://10.0.0.5/admin", allow_loopback=False)

    assert result.reason == "address refused (private)"
    assert connections == []


def test_it_refuses_a_host_when_any_of_its_addresses_is_private(connections) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.1"]

    result = check_one("http://mixed.test/p/1", resolver=resolver, allow_loopback=False)

    assert result.reason == "address refused (private)"
    assert connections == []


def test_it_refuses_a_redirect_to_a_private_address(server, connections) -> None:
    result = check_one(server.url("/redirect-to?url=http://10.0.0.1/admin"))

    assert (result.classification, result.reason) == (UNKNOWN, "address refused (private)")
    assert connections == ["127.0.0.1"]


def test_it_connects_to_the_address_it_vetted(server, connections) -> None:
    # A rebinding resolver: a harmless answer first, an internal one afterwards.
    answers = iter(["127.0.0.1", "10.0.0.1", "10.0.0.1"])
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return [next(answers)]

    result = check_one(server.url("/live/rebind-1", "rebind.test"), resolver=rebinding)

    assert result.classification == LIVE
    assert asked == ["rebind.test"]
    assert connections == ["127.0.0.1"]


def test_it_refuses_loopback_outside_the_tests_by_default(settings) -> None:
    settings.VERIFICATION_ALLOW_LOOPBACK = False

    assert CheckerConfig.from_settings().allow_loopback is False


# --- storing checks ----------------------------------------------------------------------


def result(classification=GONE, *, at=None, reason="404") -> CheckResult:
    return CheckResult(
        url="https://paste.example.net/p/1",
        classification=classification,
        reason=reason,
        checked_at=at or timezone.now(),
        http_status=404,
    )


@pytest.mark.django_db
def test_it_stores_a_check_and_makes_it_the_items_verification() -> None:
    item = ItemFactory(approved=True)
    at = timezone.now()

    check = url_check_record(item=item, result=result(GONE, at=at))

    item.refresh_from_db()
    assert (item.verification, item.verified_at) == (GONE, at)
    assert UrlCheck.objects.get() == check
    assert (check.classification, check.reason, check.http_status) == (GONE, "404", 404)


@pytest.mark.django_db
def test_it_keeps_the_newer_verdict_when_an_older_check_arrives_late() -> None:
    item = ItemFactory(approved=True)
    now = timezone.now()
    url_check_record(item=item, result=result(LIVE, at=now, reason="200"))

    url_check_record(item=item, result=result(GONE, at=now - timedelta(minutes=5)))

    item.refresh_from_db()
    assert (item.verification, item.verified_at) == (LIVE, now)
    assert UrlCheck.objects.filter(item=item).count() == 2


@pytest.mark.django_db
def test_it_audits_a_change_of_verdict_but_not_a_repeat() -> None:
    item = ItemFactory(approved=True)
    now = timezone.now()

    url_check_record(item=item, result=result(GONE, at=now - timedelta(hours=1)))
    url_check_record(item=item, result=result(GONE, at=now))

    events = AuditEvent.objects.filter(action="item.verification_changed", target_id=item.pk)
    assert [(e.old, e.new) for e in events] == [({"verification": ""}, {"verification": "gone"})]


# --- what a sweep checks -----------------------------------------------------------------


def claimed(outcome=Outcome.REMOVED, *, at, verification="", verified_at=None, **item) -> Item:
    line = RequestItemFactory(outcome=outcome, outcome_at=at, **item)
    Item.objects.filter(pk=line.item_id).update(verification=verification, verified_at=verified_at)
    return line.item


def batch_ids(now) -> set[int]:
    return {item.pk for item in verification_batch(now=now)}


@pytest.mark.django_db
def test_it_checks_a_claimed_removal_never_checked() -> None:
    now = timezone.now()
    item = claimed(at=now - timedelta(minutes=10))

    assert batch_ids(now) == {item.pk}


@pytest.mark.django_db
def test_it_checks_a_claim_checked_only_before_the_claim() -> None:
    now = timezone.now()
    item = claimed(
        at=now - timedelta(minutes=10),
        verification=LIVE,
        verified_at=now - timedelta(minutes=20),
    )

    assert batch_ids(now) == {item.pk}


@pytest.mark.django_db
def test_it_checks_items_without_response() -> None:
    now = timezone.now()
    item = claimed(Outcome.NO_RESPONSE, at=now - timedelta(minutes=10))

    assert batch_ids(now) == {item.pk}


@pytest.mark.django_db
def test_it_rechecks_a_live_claim_after_a_day_not_before() -> None:
    now = timezone.now()
    at = now - timedelta(days=3)
    fresh = claimed(at=at, verification=LIVE, verified_at=now - timedelta(hours=23))
    stale = claimed(at=at, verification=LIVE, verified_at=now - timedelta(hours=25))

    assert batch_ids(now) == {stale.pk}
    assert fresh.pk not in batch_ids(now)


@pytest.mark.django_db
def test_it_rechecks_a_verified_removal_weekly() -> None:
    now = timezone.now()
    at = now - timedelta(days=30)
    recent = claimed(at=at, verification=GONE, verified_at=now - timedelta(days=6))
    week_old = claimed(at=at, verification=GONE, verified_at=now - timedelta(days=8))

    assert batch_ids(now) == {week_old.pk}
    assert recent.pk not in batch_ids(now)


@pytest.mark.django_db
def test_it_stops_watching_claims_older_than_the_watch_period(settings) -> None:
    now = timezone.now()
    claimed(at=now - timedelta(days=settings.VERIFICATION_WATCH_DAYS + 1))

    assert batch_ids(now) == set()


@pytest.mark.django_db
def test_it_samples_items_believed_live() -> None:
    now = timezone.now()
    pending = RequestItemFactory().item
    refused = claimed(Outcome.REFUSED_NOT_VIOLATING, at=now).pk
    unsent = RequestItemFactory(request=RemovalRequestFactory())
    checked_lately = RequestItemFactory().item
    Item.objects.filter(pk=checked_lately.pk).update(verification=LIVE, verified_at=now)
    gone = RequestItemFactory().item
    Item.objects.filter(pk=gone.pk).update(verification=GONE, verified_at=now - timedelta(days=30))

    assert batch_ids(now) == {pending.pk, refused}
    assert unsent.item_id not in batch_ids(now)


@pytest.mark.django_db
def test_it_bounds_a_sweep_and_keeps_room_for_the_sample(settings) -> None:
    settings.VERIFICATION_BATCH, settings.VERIFICATION_SAMPLE_SIZE = 3, 1
    now = timezone.now()
    claims = [claimed(at=now - timedelta(minutes=n)).pk for n in range(5)]
    samples = [RequestItemFactory().item_id for _ in range(2)]

    chosen = batch_ids(now)

    assert len(chosen & set(claims)) == 2
    assert len(chosen & set(samples)) == 1


@pytest.mark.django_db
def test_it_counts_the_backlog_of_due_claims() -> None:
    now = timezone.now()
    for n in range(3):
        claimed(at=now - timedelta(minutes=n + 1))
    claimed(at=now - timedelta(days=2), verification=LIVE, verified_at=now - timedelta(hours=1))
    RequestItemFactory()  # a sample candidate is not backlog

    assert verification_backlog_count(now=now) == 3


# --- the sweep, end to end ---------------------------------------------------------------


@pytest.mark.django_db
def test_it_checks_what_is_due_and_stores_the_results(server) -> None:
    now = timezone.now()
    removed = claimed(at=now, item__url_normalised=server.url("/gone404/sweep-1"))
    silent = claimed(Outcome.NO_RESPONSE, at=now, item__url_normalised=server.url("/live/sweep-2"))
    moved = claimed(Outcome.ALREADY_GONE, at=now, item__url_normalised=server.url("/moved/sweep-3"))

    summary = verification_sweep_job(now=now)

    assert summary["checked"] == 3
    assert (summary["gone"], summary["live"]) == (2, 1)
    verdicts = dict(Item.objects.values_list("pk", "verification"))
    assert verdicts == {removed.pk: GONE, silent.pk: LIVE, moved.pk: GONE}
    assert UrlCheck.objects.count() == 3
    assert batch_ids(now + timedelta(minutes=5)) == set()


@pytest.mark.django_db
def test_it_leaves_checks_not_finished_within_the_budget_for_the_next_sweep(
    server, settings
) -> None:
    settings.VERIFICATION_SWEEP_BUDGET_SECONDS = 0.2
    settings.VERIFICATION_READ_TIMEOUT = 5.0
    now = timezone.now()
    item = claimed(at=now, item__url_normalised=server.url("/slow/budget-1"))

    summary = verification_sweep_job(now=now)

    assert (summary["checked"], summary["not_reached"]) == (0, 1)
    assert not UrlCheck.objects.exists()
    assert batch_ids(now) == {item.pk}


@pytest.mark.django_db
def test_it_treats_a_dns_failure_in_a_sweep_as_gone() -> None:
    now = timezone.now()
    item = claimed(at=now, item__url_normalised="http://vanished.net/p/1")

    verification_sweep_job(now=now, resolver=static_resolver({}))

    item.refresh_from_db()
    assert item.verification == GONE
    assert UrlCheck.objects.get().reason == "DNS failure"


@pytest.mark.django_db
def test_it_fetches_nothing_when_verification_is_off(server, settings) -> None:
    settings.VERIFICATION_ENABLED = False
    now = timezone.now()
    claimed(at=now, item__url_normalised=server.url("/live/off-1"))

    assert verification_sweep_job(now=now) == {"disabled": 1}
    assert server.hits_for("/live/off-1") == []


@pytest.mark.django_db
def test_it_runs_as_the_periodic_job(server) -> None:
    now = timezone.now()
    item = claimed(at=now, item__url_normalised=server.url("/gone404/job-1"))

    outcome = job_run(name="verification_sweep", now=now)

    assert outcome.status == "succeeded"
    assert outcome.run is not None and outcome.run.summary["gone"] == 1
    item.refresh_from_db()
    assert item.verification == GONE


# --- "Check now" -------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_runs_a_requested_check_once(server) -> None:
    item = ItemFactory(approved=True, url_normalised=server.url("/gone410/now-1"))
    asked = timezone.now().isoformat()

    first = item_check_run(item_id=item.pk, requested_at=asked)
    second = item_check_run(item_id=item.pk, requested_at=asked)

    assert first is not None and first.trigger == "manual"
    assert second is None
    assert len(server.hits_for("/gone410/now-1")) == 1


@pytest.mark.django_db
def test_it_refuses_a_check_asked_for_by_an_analyst(dave) -> None:
    with pytest.raises(PermissionRefused):
        item_check_request(item=ItemFactory(), by=dave)


def test_it_keeps_dns_errors_that_are_not_nxdomain_unknown() -> None:
    async def broken(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    result = check_one("http://flaky-dns.test/p/1", resolver=broken)

    assert (result.classification, result.reason) == (UNKNOWN, "DNS error")


# --- the benchmark -----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_runs_the_benchmark_with_every_verdict_right() -> None:
    out = io.StringIO()

    call_command("bench_verification", urls=60, slow_ms=50, store=True, stdout=out)

    report = out.getvalue()
    assert "60 checks in" in report
    assert report.count("wrong verdicts: 0") == 8
    per_host = re.search(r"per host at most: checker (\d+), server (\d+)", report)
    assert per_host is not None
    assert max(int(per_host[1]), int(per_host[2])) <= 2
    assert not UrlCheck.objects.exists()
