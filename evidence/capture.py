"""Fetching a URL for evidence, through the verifier's guarded network (SSRF guard, no
proxy, no private addresses), within size and time limits.

Redirects are followed by hand (each hop is an exchange of the WARC) up to
VERIFICATION_MAX_REDIRECTS. A page that did not end in a 2xx answer, a body over
EVIDENCE_MAX_BYTES or a fetch over EVIDENCE_TIMEOUT_SECONDS is a failed capture with its
reason: never evidence.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.utils import timezone

from evidence.warc import Exchange
from verification.checker import REDIRECT_STATUSES, failure_verdict
from verification.classify import short_error
from verification.network import PerHostTransport, Resolver, run_to_completion, system_resolve


class CaptureFailed(Exception):
    """The capture gave no evidence; ``reason`` says why in an officer's words."""

    def __init__(self, reason: str, *, http_status: int | None = None, final_url: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status
        self.final_url = final_url


@dataclass(frozen=True)
class CaptureConfig:
    user_agent: str
    max_bytes: int
    timeout_seconds: float
    max_redirects: int
    allow_loopback: bool
    concurrency: int = 4
    per_host: int = 2

    @classmethod
    def from_settings(cls) -> CaptureConfig:
        return cls(
            user_agent=settings.VERIFICATION_USER_AGENT,
            max_bytes=settings.EVIDENCE_MAX_BYTES,
            timeout_seconds=settings.EVIDENCE_TIMEOUT_SECONDS,
            max_redirects=settings.VERIFICATION_MAX_REDIRECTS,
            allow_loopback=settings.VERIFICATION_ALLOW_LOOPBACK,
            concurrency=settings.EVIDENCE_CAPTURE_CONCURRENCY,
            per_host=settings.VERIFICATION_PER_HOST_CONCURRENCY,
        )


@dataclass
class Fetched:
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def final(self) -> Exchange:
        return self.exchanges[-1]


class _TooLarge(Exception):
    pass


async def _fetch_chain(client: httpx.AsyncClient, url: str, config: CaptureConfig) -> Fetched:
    fetched = Fetched()
    current = httpx.URL(url)
    for _ in range(config.max_redirects + 1):
        if current.scheme not in ("http", "https") or not current.host:
            raise CaptureFailed(f"Not an http(s) URL: {current}.")
        request = client.build_request("GET", current)
        at = timezone.now()
        response = await client.send(request, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > config.max_bytes:
                    raise _TooLarge
        finally:
            await response.aclose()
        fetched.exchanges.append(
            Exchange(
                url=str(current),
                at=at,
                request_headers=[(k.decode(), v.decode()) for k, v in request.headers.raw],
                http_version=response.http_version,
                status=response.status_code,
                reason=response.reason_phrase,
                response_headers=_archived_headers(response),
                body=bytes(body),
                peer_address=_peer_address(response),
            )
        )
        location = response.headers.get("location", "")
        if response.status_code in REDIRECT_STATUSES and location:
            current = current.join(location)
            continue
        return fetched
    raise CaptureFailed(f"More than {config.max_redirects} redirects.", final_url=str(current))


# httpx hands over the body de-chunked (its Content-Encoding kept): a stored
# "Transfer-Encoding: chunked" would no longer describe it, and a replay would misread
# it. Kept under the name web archives use for an original header that no longer holds.
_HOP_BY_HOP = {"transfer-encoding"}


def _archived_headers(response: httpx.Response) -> list[tuple[str, str]]:
    headers = []
    for raw_name, raw_value in response.headers.raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() in _HOP_BY_HOP:
            name = f"X-Archive-Orig-{name}"
        headers.append((name, value))
    return headers


def _peer_address(response: httpx.Response) -> str:
    """The address the guarded connection reached (WARC-IP-Address), when the stream says."""
    stream = response.extensions.get("network_stream")
    try:
        address = stream.get_extra_info("server_addr") if stream is not None else None
    except Exception:  # a backend without it: the record simply has no address
        return ""
    return str(address[0]) if isinstance(address, tuple) and address else ""


def _host_of(url: str) -> str | None:
    try:
        return (httpx.URL(url).host or "").lower()
    except Exception:  # a URL httpx cannot parse is a failed capture, not a crash
        return None


async def _capture_one(
    client: httpx.AsyncClient,
    url: str,
    config: CaptureConfig,
    slots: asyncio.Semaphore,
    hosts: defaultdict[str, asyncio.Semaphore],
) -> Fetched | CaptureFailed:
    host = _host_of(url)
    if host is None:
        return CaptureFailed("Not a URL the capture can fetch (httpx cannot parse it).")
    async with hosts[host], slots:
        try:
            fetched = await asyncio.wait_for(
                _fetch_chain(client, url, config), config.timeout_seconds
            )
        except Exception as error:  # every failure is an outcome, recorded with its reason
            return _failure(error, config)
    final = fetched.final
    if not 200 <= final.status < 300:
        return CaptureFailed(
            f"The server answered {final.status} {final.reason}: no content to capture.",
            http_status=final.status,
            final_url=final.url,
        )
    return fetched


def _failure(error: Exception, config: CaptureConfig) -> CaptureFailed:
    """What went wrong, in words an officer can act on."""
    if isinstance(error, CaptureFailed):
        return error
    if isinstance(error, _TooLarge):
        megabytes = config.max_bytes / 1024 / 1024
        return CaptureFailed(f"The page is larger than the {megabytes:g} MB limit.")
    if isinstance(error, TimeoutError):
        return CaptureFailed(f"No complete answer within {config.timeout_seconds:g} s.")
    _, why = failure_verdict(error)
    return CaptureFailed(f"Could not fetch the page: {why} ({short_error(error)}).")


async def _capture_many(
    urls: list[str], config: CaptureConfig, resolver: Resolver
) -> dict[str, Fetched | CaptureFailed]:
    transport = PerHostTransport(
        resolver=resolver,
        allow_loopback=config.allow_loopback,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=config.per_host),
    )
    timeout = httpx.Timeout(config.timeout_seconds)
    slots = asyncio.Semaphore(config.concurrency)
    hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
        lambda: asyncio.Semaphore(config.per_host)
    )
    async with httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=timeout,
        # No Accept-Encoding: the body is kept as sent, and an uncompressed one is what a
        # court's viewer opens without help.
        headers={"User-Agent": config.user_agent, "Accept": "*/*", "Accept-Encoding": "identity"},
    ) as client:
        results = await asyncio.gather(
            *(_capture_one(client, url, config, slots, hosts) for url in urls)
        )
    return dict(zip(urls, results, strict=True))


def capture_urls(
    urls: list[str], *, config: CaptureConfig | None = None, resolver: Resolver | None = None
) -> dict[str, Fetched | CaptureFailed]:
    """Fetch every URL (distinct), a few at a time; each gives an exchange chain or a failure."""
    distinct = list(dict.fromkeys(urls))
    if not distinct:
        return {}
    return run_to_completion(
        _capture_many(distinct, config or CaptureConfig.from_settings(), resolver or system_resolve)
    )
