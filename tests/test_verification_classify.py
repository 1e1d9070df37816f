"""Verification rules: what a check of each kind of page is classified as.

Against a real HTTP server on loopback (verification.testing.SiteServer), with
fake host names resolved to 127.0.0.1 by the checker's resolver hook; and the
pure rules and the SSRF address table on their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from cases.models import VerificationStatus
from verification.checker import CheckerConfig, CheckResult, check_urls
from verification.classify import (
    Probe,
    Seen,
    classify_response,
    normalised_sha256,
    redirected_to_front_page,
)
from verification.network import address_refusal, static_resolver
from verification.testing import CHALLENGE_PAGE, SiteServer, running_site_server

LIVE, GONE, UNKNOWN = VerificationStatus.LIVE, VerificationStatus.GONE, VerificationStatus.UNKNOWN
RESOLVER = static_resolver({"site.test": "127.0.0.1", "soft.test": "127.0.0.1"})


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    with running_site_server(slow_seconds=1.0) as site:
        yield site


def check(server: SiteServer, path: str, host: str = "site.test", **config: object) -> CheckResult:
    url = server.url(path, host)
    settings = {"read_timeout": 0.3, "retry_backoff": 0.0, "allow_loopback": True, **config}
    results, _ = check_urls(
        [url], config=CheckerConfig.from_settings(**settings), resolver=RESOLVER
    )
    return results[url]


@pytest.mark.parametrize(
    ("path", "host", "classification", "reason"),
    [
        ("/live/post-1", "site.test", LIVE, "200"),
        ("/gone404/post-1", "site.test", GONE, "404"),
        ("/gone410/post-1", "site.test", GONE, "410"),
        ("/legal451/post-1", "site.test", GONE, "451 unavailable for legal reasons"),
        ("/moved/post-1", "site.test", GONE, "redirect to front page"),
        ("/chain/3/post-1", "site.test", LIVE, "200"),
        ("/no-such/post-1", "soft.test", GONE, "soft 404: same body as probe"),
        ("/live/post-1", "soft.test", LIVE, "200"),
        ("/slow/post-1", "site.test", UNKNOWN, "timeout"),
        ("/reset/post-1", "site.test", UNKNOWN, "connection reset"),
        ("/forbidden/post-1", "site.test", UNKNOWN, "403"),
        ("/ratelimited/post-1", "site.test", UNKNOWN, "429"),
        ("/error/post-1", "site.test", UNKNOWN, "500"),
        ("/challenge/post-1", "site.test", UNKNOWN, "challenge page"),
        ("/challenge200/post-1", "site.test", UNKNOWN, "challenge page"),
        ("/loop/post-1", "site.test", UNKNOWN, "too many redirects"),
    ],
)
def test_it_classifies_each_kind_of_page(server, path, host, classification, reason) -> None:
    result = check(server, path, host)

    assert (result.classification, result.reason) == (classification, reason)


def test_it_classifies_a_name_that_does_not_exist_as_gone() -> None:
    results, _ = check_urls(
        ["http://no-such-site.net/p/1"],
        config=CheckerConfig.from_settings(allow_loopback=True),
        resolver=RESOLVER,
    )

    result = results["http://no-such-site.net/p/1"]
    assert (result.classification, result.reason) == (GONE, "DNS failure")


@pytest.mark.parametrize(
    "url", ["https://pastebay.example.net/p/1", "http://gone.invalid/", "http://x.test/p/2"]
)
def test_it_says_nothing_about_a_reserved_name_that_does_not_resolve(url) -> None:
    # RFC 2606 names never exist on the internet (the demo's URLs): not "gone".
    results, _ = check_urls(
        [url], config=CheckerConfig.from_settings(allow_loopback=True), resolver=RESOLVER
    )

    assert (results[url].classification, results[url].reason) == (UNKNOWN, "reserved name")


def test_it_stores_what_a_live_check_saw(server) -> None:
    result = check(server, "/live/post-2")

    body = b"<!doctype html><title>Post</title><article>Content of /live/post-2</article>"
    assert result.http_status == 200
    assert result.final_url == server.url("/live/post-2", "site.test")
    assert result.content_sha256 == hashlib.sha256(body).hexdigest()
    assert result.content_length == len(body)
    assert result.error == ""


def test_it_records_each_redirect_hop(server) -> None:
    result = check(server, "/chain/2/post-3")

    assert result.redirects == (
        server.url("/chain/1/post-3", "site.test"),
        server.url("/live/post-3", "site.test"),
    )


def test_it_probes_a_site_once_per_run_for_soft_404s(server) -> None:
    urls = [server.url(f"/missing/{n}", "soft.test") for n in range(4)]
    before = len(server.hits)

    results, stats = check_urls(
        urls,
        config=CheckerConfig.from_settings(allow_loopback=True, retry_backoff=0.0),
        resolver=RESOLVER,
    )

    assert {r.reason for r in results.values()} == {"soft 404: same body as probe"}
    assert stats.probes == 1
    assert len(server.hits) - before == len(urls) + 1


def test_it_leaves_a_front_page_item_live_on_a_soft_404_site(server) -> None:
    # The probe of a site that answers every path with its front page must not make
    # an item that *is* the front page (a whole site referred) look gone.
    result = check(server, "/", "soft.test")

    assert result.classification == LIVE


# --- the rules on their own ------------------------------------------------------------


def seen(**kwargs: object) -> Seen:
    defaults: dict = {
        "url": "https://paste.example.net/p/1",
        "final_url": "https://paste.example.net/p/1",
        "status": 200,
        "body": b"<p>content</p>",
    }
    return Seen(**{**defaults, **kwargs})


def test_it_ignores_the_echoed_path_when_comparing_with_the_probe() -> None:
    item = seen(body=b"<p>Sorry, /p/1 was not found.</p>")
    probe_url = "https://paste.example.net/0a1b2c"
    probe = Probe(
        final_url=probe_url,
        status=200,
        normalised_sha256=normalised_sha256(b"<p>Sorry, /0a1b2c was not found.</p>", probe_url),
        redirected=False,
    )

    assert classify_response(item, probe).reason == "soft 404: same body as probe"


def test_it_keeps_a_page_live_when_the_probe_got_a_real_404() -> None:
    probe = Probe(final_url="x", status=404, normalised_sha256="", redirected=False)

    assert classify_response(seen(), probe).classification == LIVE


def test_it_calls_a_redirect_to_the_same_page_as_the_probe_a_soft_404() -> None:
    item = seen(
        final_url="https://paste.example.net/error",
        redirects=("https://paste.example.net/error",),
        body=b"<p>error</p>",
    )
    probe = Probe(
        final_url="https://paste.example.net/error",
        status=200,
        normalised_sha256="different",
        redirected=True,
    )

    assert classify_response(item, probe).reason == "soft 404: same redirect as probe"


def test_it_does_not_call_a_redirect_to_another_sites_front_page_gone() -> None:
    item = seen(final_url="https://other.example.org/", redirects=("https://other.example.org/",))

    assert not redirected_to_front_page(item)
    assert classify_response(item, None).classification == LIVE


def test_it_calls_a_redirect_to_the_front_page_of_another_host_of_the_same_site_gone() -> None:
    item = seen(final_url="https://www.example.net/", redirects=("https://www.example.net/",))

    assert classify_response(item, None).reason == "redirect to front page"


def test_it_spots_a_challenge_page_by_its_header() -> None:
    item = seen(status=403, headers={"cf-mitigated": "challenge"}, body=b"")

    assert classify_response(item, None).reason == "challenge page"


def test_it_spots_a_cloudflare_interstitial_on_a_200() -> None:
    assert classify_response(seen(body=CHALLENGE_PAGE), None).reason == "challenge page"


def test_it_treats_a_401_as_unknown() -> None:
    assert classify_response(seen(status=401), None).classification == UNKNOWN


# --- the SSRF address table -------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.10", "private"),
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address to refuse, not to bind)
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),
        ("93.184.216.34", None),
        ("2606:2800:220:1::248", None),
    ],
)
def test_it_refuses_every_address_that_is_not_public(address, why) -> None:
    assert address_refusal(address, allow_loopback=False) == why


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_it_allows_loopback_only_when_told_to(address) -> None:
    assert address_refusal(address, allow_loopback=True) is None


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "192.168.0.1"])
def test_it_still_refuses_private_addresses_when_loopback_is_allowed(address) -> None:
    assert address_refusal(address, allow_loopback=True) is not None
