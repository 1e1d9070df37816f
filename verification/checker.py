"""The HTTP checker: fetches item URLs politely and says what it saw.

asyncio with httpx's AsyncClient (docs/decisions/0010 says why not threads):

- at most ``per_host`` requests in flight per host name and ``max_concurrency``
  overall; a request takes its host's slot first and a global slot second, so a
  busy host never holds global slots while it waits;
- every request, including each redirect hop and the soft-404 probe, goes
  through the same two slots and the SSRF guard (verification.network);
- redirects are followed here, one hop at a time (at most ``max_redirects``);
- network errors (refused, reset, closed without answer) are retried with
  exponential backoff; timeouts and HTTP statuses are not (a slow host would
  only be slower, and a 404 is an answer);
- the body is read up to ``max_body_bytes`` and hashed; nothing is stored but
  the hash.

No ORM here: the checker runs inside an event loop and returns plain results;
verification.services stores them.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import secrets
import ssl
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone

from cases.models import VerificationStatus
from verification.classify import (
    GONE,
    UNKNOWN,
    Probe,
    Seen,
    classify_response,
    needs_probe,
    normalised_sha256,
    short_error,
)
from verification.network import (
    AddressRefused,
    DnsError,
    DnsNotFound,
    PerHostTransport,
    Resolver,
    run_to_completion,
    system_resolve,
)

REDIRECT_STATUSES = {301, 302, 303, 307, 308}

# httpcore asks for the optional "sniffio" package whenever it sets up a lock; it is
# not installed (nor needed under asyncio), and an import that fails searches sys.path
# again every time. Recording the absence makes the failure instant (~30% of a check's
# CPU on loopback); code that imports sniffio gets the same ImportError as before.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]
# Network errors worth another try: the connection was refused, reset or closed early.
RETRYABLE = (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class CheckerConfig:
    user_agent: str
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    # Wall-clock limit of one request (a server dripping one byte per read timeout).
    request_timeout: float = 30.0
    max_concurrency: int = 32
    per_host: int = 2
    retries: int = 2
    retry_backoff: float = 0.5
    max_redirects: int = 5
    max_body_bytes: int = 2 * 1024 * 1024
    allow_loopback: bool = False
    verify_tls: bool = True

    @classmethod
    def from_settings(cls, **overrides: Any) -> CheckerConfig:
        config = cls(
            user_agent=settings.VERIFICATION_USER_AGENT,
            connect_timeout=settings.VERIFICATION_CONNECT_TIMEOUT,
            read_timeout=settings.VERIFICATION_READ_TIMEOUT,
            request_timeout=settings.VERIFICATION_REQUEST_TIMEOUT,
            max_concurrency=settings.VERIFICATION_MAX_CONCURRENCY,
            per_host=settings.VERIFICATION_PER_HOST_CONCURRENCY,
            retries=settings.VERIFICATION_RETRIES,
            retry_backoff=settings.VERIFICATION_RETRY_BACKOFF_SECONDS,
            max_redirects=settings.VERIFICATION_MAX_REDIRECTS,
            max_body_bytes=settings.VERIFICATION_MAX_BODY_BYTES,
            allow_loopback=settings.VERIFICATION_ALLOW_LOOPBACK,
        )
        return replace(config, **overrides)


@dataclass(frozen=True)
class CheckResult:
    url: str
    classification: VerificationStatus
    reason: str
    checked_at: datetime
    http_status: int | None = None
    final_url: str = ""
    redirects: tuple[str, ...] = ()
    content_sha256: str = ""
    content_length: int | None = None
    error: str = ""
    elapsed_ms: int = 0


@dataclass
class CheckerStats:
    requests: int = 0
    retries: int = 0
    probes: int = 0
    max_in_flight: int = 0
    max_in_flight_per_host: dict[str, int] = field(default_factory=dict)


class TooManyRedirects(Exception):
    pass


class UnsupportedUrl(Exception):
    pass


@dataclass(frozen=True)
class _Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class _Timer:
    """Time spent in requests for one check (not the time spent queueing for a slot)."""

    seconds: float = 0.0


class Checker:
    """Use as ``async with Checker(config) as checker: await checker.check_many(urls)``."""

    def __init__(self, config: CheckerConfig, *, resolver: Resolver | None = None) -> None:
        self.config = config
        self.stats = CheckerStats()
        self._resolver = resolver or system_resolve
        self._global = asyncio.Semaphore(config.max_concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(config.per_host)
        )
        self._in_flight: defaultdict[str, int] = defaultdict(int)
        self._in_flight_total = 0
        self._probes: dict[str, asyncio.Task[Probe | None]] = {}
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Checker:
        # Requests in flight are capped by the semaphores; the pool only has to keep
        # idle connections to many hosts for reuse (a sweep interleaves hosts).
        # Per origin (PerHostTransport): no more idle connections than may be in flight.
        limits = httpx.Limits(
            max_connections=None,
            max_keepalive_connections=max(self.config.per_host, 1),
            keepalive_expiry=5.0,
        )
        transport = PerHostTransport(
            resolver=self._resolver,
            allow_loopback=self.config.allow_loopback,
            limits=limits,
            verify=self.config.verify_tls,
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(
                connect=self.config.connect_timeout,
                read=self.config.read_timeout,
                write=self.config.read_timeout,
                pool=self.config.request_timeout,
            ),
            headers={"User-Agent": self.config.user_agent, "Accept": "*/*"},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        for probe in self._probes.values():
            probe.cancel()
        if self._client is not None:
            await self._client.aclose()

    # --- many URLs ------------------------------------------------------------------

    async def check_many(
        self, urls: Iterable[str], *, budget_seconds: float | None = None
    ) -> dict[str, CheckResult]:
        """Check every URL; those not finished within the budget are left out (not failed)."""
        results: dict[str, CheckResult] = {}

        async def one(url: str) -> None:
            results[url] = await self.check(url)

        tasks = [asyncio.create_task(one(url)) for url in dict.fromkeys(urls)]
        if not tasks:
            return results
        _, pending = await asyncio.wait(tasks, timeout=budget_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return results

    # --- one URL --------------------------------------------------------------------

    async def check(self, url: str) -> CheckResult:
        timer = _Timer()
        try:
            seen = await self._follow(url, timer)
            probe = await self._probe_for(url) if needs_probe(seen) else None
        except Exception as error:  # every failure is an outcome, recorded on the row
            return self._failed(url, error, timer)
        verdict = classify_response(seen, probe)
        return CheckResult(
            url=url,
            classification=verdict.classification,
            reason=verdict.reason,
            checked_at=timezone.now(),
            http_status=seen.status,
            final_url=seen.final_url,
            redirects=seen.redirects,
            content_sha256=hashlib.sha256(seen.body).hexdigest(),
            content_length=len(seen.body),
            elapsed_ms=round(timer.seconds * 1000),
        )

    def _failed(self, url: str, error: Exception, timer: _Timer) -> CheckResult:
        classification, reason = failure_verdict(error)
        return CheckResult(
            url=url,
            classification=classification,
            reason=reason,
            checked_at=timezone.now(),
            error=short_error(error),
            elapsed_ms=round(timer.seconds * 1000),
        )

    async def _follow(self, url: str, timer: _Timer) -> Seen:
        current = httpx.URL(url)
        if current.scheme not in ("http", "https") or not current.host:
            raise UnsupportedUrl(f"not an http(s) URL: {url}")
        redirects: list[str] = []
        for _ in range(self.config.max_redirects + 1):
            fetched = await self._fetch(current, timer)
            location = fetched.headers.get("location", "")
            if fetched.status in REDIRECT_STATUSES and location:
                current = current.join(location)
                if current.scheme not in ("http", "https") or not current.host:
                    raise UnsupportedUrl(f"redirect to a non-http(s) URL: {current}")
                redirects.append(str(current))
                continue
            return Seen(
                url=url,
                final_url=str(current),
                status=fetched.status,
                body=fetched.body,
                headers=fetched.headers,
                redirects=tuple(redirects),
            )
        raise TooManyRedirects(f"more than {self.config.max_redirects} redirects")

    async def _probe_for(self, url: str) -> Probe | None:
        """One probe of a random path per site (scheme, host, port) per checker."""
        origin = httpx.URL(url).copy_with(path="/", query=None, fragment=None)
        key = str(origin)
        if key not in self._probes:
            self._probes[key] = asyncio.create_task(self._probe(origin))
        return await asyncio.shield(self._probes[key])

    async def _probe(self, origin: httpx.URL) -> Probe | None:
        self.stats.probes += 1
        probe_url = str(origin.copy_with(path=f"/{secrets.token_hex(12)}"))
        try:
            seen = await self._follow(probe_url, _Timer())
        except Exception:  # no probe, no soft-404 verdict: the check stays live
            return None
        return Probe(
            final_url=seen.final_url,
            status=seen.status,
            normalised_sha256=normalised_sha256(seen.body, probe_url),
            redirected=bool(seen.redirects),
        )

    # --- one request ----------------------------------------------------------------

    async def _fetch(self, url: httpx.URL, timer: _Timer) -> _Fetched:
        attempt = 0
        while True:
            try:
                return await self._fetch_once(url, timer)
            except RETRYABLE as error:
                if attempt >= self.config.retries or _is_tls_error(error):
                    raise
            attempt += 1
            self.stats.retries += 1
            await asyncio.sleep(self.config.retry_backoff * 2 ** (attempt - 1))

    async def _fetch_once(self, url: httpx.URL, timer: _Timer) -> _Fetched:
        host = url.host.lower()
        async with self._hosts[host], self._global, self._counted(host):
            started = time.monotonic()
            try:
                return await asyncio.wait_for(self._get(url), self.config.request_timeout)
            finally:
                timer.seconds += time.monotonic() - started

    @asynccontextmanager
    async def _counted(self, host: str) -> AsyncIterator[None]:
        self.stats.requests += 1
        self._in_flight[host] += 1
        self._in_flight_total += 1
        stats = self.stats
        stats.max_in_flight = max(stats.max_in_flight, self._in_flight_total)
        stats.max_in_flight_per_host[host] = max(
            stats.max_in_flight_per_host.get(host, 0), self._in_flight[host]
        )
        try:
            yield
        finally:
            self._in_flight[host] -= 1
            self._in_flight_total -= 1

    async def _get(self, url: httpx.URL) -> _Fetched:
        assert self._client is not None, "use the checker as an async context manager"
        request = self._client.build_request("GET", url)
        response = await self._client.send(request, stream=True)
        try:
            # Redirect bodies too: a response read to its end leaves its connection
            # reusable for the next hop; one closed half-read costs a new connection.
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= self.config.max_body_bytes:
                    del body[self.config.max_body_bytes :]
                    break
        finally:
            await response.aclose()
        return _Fetched(
            status=response.status_code,
            headers={key.lower(): value for key, value in response.headers.items()},
            body=bytes(body),
        )


def _is_tls_error(error: BaseException) -> bool:
    while error is not None:
        if isinstance(error, ssl.SSLError):
            return True
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return False


# RFC 2606 / RFC 6761 names that never lead to real content on the internet.
RESERVED_TLDS = {"example", "test", "invalid", "localhost", "local"}
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")

# Failures without a response, in order: the first matching type gives the verdict.
_FAILURES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str, str], ...] = (
    (DnsNotFound, GONE, "DNS failure"),
    (DnsError, UNKNOWN, "DNS error"),
    ((TimeoutError, httpx.TimeoutException), UNKNOWN, "timeout"),
    (httpx.ConnectError, UNKNOWN, "connection failed"),
    ((httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError), UNKNOWN, "connection reset"),
    (TooManyRedirects, UNKNOWN, "too many redirects"),
    ((UnsupportedUrl, httpx.InvalidURL, httpx.UnsupportedProtocol), UNKNOWN, "unsupported URL"),
)


def _is_reserved_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host.rsplit(".", 1)[-1] in RESERVED_TLDS:
        return True
    return any(host == domain or host.endswith("." + domain) for domain in RESERVED_DOMAINS)


def failure_verdict(error: Exception) -> tuple[VerificationStatus, str]:
    """Classification and reason for a check that got no usable response."""
    if isinstance(error, AddressRefused):
        return UNKNOWN, f"address refused ({error.why})"
    if isinstance(error, DnsNotFound) and _is_reserved_name(error.host):
        # Never on the internet (the demo's and the tests' names): its absence from DNS
        # says nothing about a removal.
        return UNKNOWN, "reserved name"
    if _is_tls_error(error):
        return UNKNOWN, "TLS error"
    for types, classification, reason in _FAILURES:
        if isinstance(error, types):
            return VerificationStatus(classification), reason
    return UNKNOWN, "check failed"


def check_urls(
    urls: Iterable[str],
    *,
    config: CheckerConfig | None = None,
    resolver: Resolver | None = None,
    budget_seconds: float | None = None,
) -> tuple[dict[str, CheckResult], CheckerStats]:
    """Check URLs from synchronous code (a Celery task, a management command)."""

    async def run() -> tuple[dict[str, CheckResult], CheckerStats]:
        async with Checker(config or CheckerConfig.from_settings(), resolver=resolver) as checker:
            results = await checker.check_many(urls, budget_seconds=budget_seconds)
            return results, checker.stats

    return run_to_completion(run())
