"""Where the verifier may connect: the SSRF guard, enforced at connect time.

Item URLs come from the internet (and from integrators' crawlers): a URL whose
host resolves to 10.0.0.5 or 169.254.169.254 must never make the unit's
server fetch its own internal network. The guard therefore sits in httpcore's
network backend, the one place every connection passes through:

- the host name is resolved once, there; if ANY address is private, loopback,
  link-local, reserved, multicast, unspecified or otherwise not global, the
  connection is refused before a socket is opened;
- the socket is then opened to one of the addresses just vetted (never to the
  name again), so a DNS answer that changes between the check and the connect
  (rebinding) cannot swap in an internal address;
- redirects are followed by the checker one hop at a time, and every hop opens
  its connections through this same backend, so each hop is vetted too.

TLS still verifies the certificate against the host name: httpcore passes the
URL's host as the server name when it starts TLS on the stream we return.

Tests and the benchmark pass ``allow_loopback=True`` (loopback only: 127/8 and
::1; private and link-local stay refused) and a static resolver that maps fake
host names to 127.0.0.1. Production resolves through the system resolver and
never allows loopback (settings.VERIFICATION_ALLOW_LOOPBACK is False outside
config/settings/test.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, TypeVar

import httpcore
import httpx
from httpcore._backends.auto import AutoBackend

T = TypeVar("T")

# resolve(host, port) -> IP address strings; raises socket.gaierror like getaddrinfo.
Resolver = Callable[[str, int], Awaitable[list[str]]]

# getaddrinfo errors that mean "this name does not exist (or has no address)",
# as opposed to "the resolver could not answer right now" (EAI_AGAIN, EAI_FAIL).
_NAME_NOT_FOUND = {
    socket.EAI_NONAME,
    getattr(socket, "EAI_NODATA", socket.EAI_NONAME),
    getattr(socket, "EAI_ADDRFAMILY", socket.EAI_NONAME),
}


class AddressRefused(Exception):
    """The host resolves to an address the verifier must not connect to (no socket opened)."""

    def __init__(self, host: str, address: str, why: str) -> None:
        super().__init__(f"{host} resolves to {address} ({why}); not fetched")
        self.host = host
        self.address = address
        self.why = why


class DnsNotFound(Exception):
    """The name does not exist (NXDOMAIN) or has no address."""

    def __init__(self, host: str, detail: str) -> None:
        super().__init__(f"{host}: {detail}")
        self.host = host


class DnsError(Exception):
    """The resolver could not answer (temporary failure, timeout)."""


# A name every working resolver on the internet knows. "Name not known" is taken as a
# definitive NXDOMAIN (a URL verified gone) only when the same resolver still answers
# for this one: a sandboxed or cut-off resolver says "not known" for every name, and
# that must not turn a check that could not run into "gone" (issue 10, point 11).
DNS_CANARY = "www.iana.org"


async def system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        if error.errno in _NAME_NOT_FOUND and not await _resolver_answers(loop):
            raise socket.gaierror(
                socket.EAI_AGAIN,
                f"no definitive answer: the resolver does not know {DNS_CANARY} either",
            ) from error
        raise
    # Keep the resolver's order (it sorts by RFC 6724 preference), without duplicates.
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def _resolver_answers(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        await loop.getaddrinfo(DNS_CANARY, 443, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return True


def static_resolver(hosts: Mapping[str, str]) -> Resolver:
    """A resolver for tests and the benchmark: fake names → addresses, else "no such name"."""
    table = {name.lower(): address for name, address in hosts.items()}

    async def resolve(host: str, port: int) -> list[str]:
        host = host.lower().rstrip(".")
        if _ip_or_none(host) is not None:
            return [host.strip("[]")]
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [table[host]]

    return resolve


def _ip_or_none(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


# Checked in this order, so an address gets the most telling name.
_REFUSED_KINDS = (
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_unspecified", "unspecified"),
    ("is_reserved", "reserved"),
    ("is_private", "private"),
)


def address_refusal(address: str, *, allow_loopback: bool) -> str | None:
    """Why the verifier must not connect to ``address``, or None when it may."""
    ip = _ip_or_none(address.split("%", 1)[0])  # drop an IPv6 zone id ("fe80::1%eth0")
    if ip is None:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    for attribute, label in _REFUSED_KINDS:
        if getattr(ip, attribute):
            return label
    # What is left and still not global: shared address space 100.64/10 and the like.
    return None if ip.is_global else "not globally routable"


async def vetted_addresses(
    host: str, port: int, *, resolver: Resolver, allow_loopback: bool
) -> list[str]:
    """Resolve ``host`` and refuse it unless every address is allowed."""
    try:
        addresses = await resolver(host, port)
    except socket.gaierror as error:
        if error.errno in _NAME_NOT_FOUND:
            raise DnsNotFound(host, str(error.strerror or error)) from error
        raise DnsError(f"{host}: {error.strerror or error}") from error
    if not addresses:
        raise DnsNotFound(host, "no address")
    for address in addresses:
        why = address_refusal(address, allow_loopback=allow_loopback)
        if why is not None:
            raise AddressRefused(host, address, why)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default backend, but every TCP connection goes to a vetted address."""

    def __init__(self, *, resolver: Resolver, allow_loopback: bool) -> None:
        self._inner = AutoBackend()
        self._resolver = resolver
        self._allow_loopback = allow_loopback

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(
                vetted_addresses(
                    host, port, resolver=self._resolver, allow_loopback=self._allow_loopback
                ),
                timeout,
            )
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from error
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error  # try the next vetted address
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(path, path, "Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@cache
def _ssl_context(verify: bool) -> ssl.SSLContext:
    # Loading the CA bundle takes ~0.1 s; one context serves every check in the process.
    return httpx.create_ssl_context(verify=verify, trust_env=False)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool built on the guarded backend.

    httpx has no public way to pass a network backend, so the pool it builds is
    replaced by an identical one that has ours (``_pool`` is what httpx's
    ``handle_async_request`` uses). tests/test_verification.py proves the guard
    still refuses private addresses, so an httpx upgrade that changed this
    would fail there rather than silently open the internal network.
    No proxy and no environment (trust_env=False): an HTTP_PROXY would connect
    on our behalf to whatever the name resolves to there.
    """

    def __init__(
        self,
        *,
        resolver: Resolver,
        allow_loopback: bool,
        limits: httpx.Limits,
        verify: bool = True,
    ) -> None:
        ssl_context = _ssl_context(verify)
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(resolver=resolver, allow_loopback=allow_loopback),
        )


class PerHostTransport(httpx.AsyncBaseTransport):
    """One guarded connection pool per origin (scheme, host, port), made on first use.

    httpcore's pool walks every connection it holds each time it places a request, so one
    pool over a sweep's many hosts spent most of the checker's CPU walking connections of
    other hosts (issue 11, P6: 6 million ``is_idle`` calls for 1,000 checks). Each
    origin's pool is small (``limits`` apply per origin: the per-host cap bounds what is in
    flight, keep-alive bounds what stays idle), and every pool is a ``GuardedTransport``,
    so the address guard is the same for all.
    """

    def __init__(
        self,
        *,
        resolver: Resolver,
        allow_loopback: bool,
        limits: httpx.Limits,
        verify: bool = True,
    ) -> None:
        self._options: dict[str, Any] = {
            "resolver": resolver,
            "allow_loopback": allow_loopback,
            "limits": limits,
            "verify": verify,
        }
        self._by_origin: dict[tuple[str, str, int | None], GuardedTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = (request.url.scheme, request.url.host, request.url.port)
        transport = self._by_origin.get(origin)
        if transport is None:
            transport = self._by_origin[origin] = GuardedTransport(**self._options)
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        for transport in self._by_origin.values():
            await transport.aclose()
        self._by_origin.clear()


def run_to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` from synchronous code (a Celery task, a management command).

    Called from a thread that already runs an event loop (an ASGI server, a test harness
    driving a browser), ``asyncio.run`` refuses; then it runs in a thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        in_loop = False
    else:
        in_loop = True
    if not in_loop:
        # Outside the except block: run there, every failure inside would carry
        # "RuntimeError: no running event loop" as its context, and a check's error text
        # blamed the event loop for what was a DNS failure (issue 10, point 11).
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="guarded-network") as pool:
        return pool.submit(asyncio.run, coroutine).result()
