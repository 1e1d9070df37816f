"""A local HTTP server that behaves like the sites the verifier meets (tests and benchmark).

Pure standard library (ThreadingHTTPServer in a thread), on 127.0.0.1 only. It
serves the cases the classification rules must tell apart, chosen by path:

    /live/...            200, a page unique to its path
    /gone404/...         404
    /gone410/...         410
    /legal451/...        451
    /moved/...           302 to "/" (the front page, 200)
    /chain/<n>/...       n redirects, then a live page
    /loop/...            redirects to itself forever
    /slow/...            waits ``slow_seconds`` and then serves a live page
    /reset/...           closes the connection with a TCP reset, no response
    /flaky/...           resets the first ``flaky_failures`` times per path, then live
    /forbidden/...       403
    /ratelimited/...     429
    /error/...           500
    /challenge/...       503 with a Cloudflare "Just a moment..." page
    /challenge200/...    200 with a captcha wall
    /redirect-to?url=U   302 to U (e.g. a private address)
    anything else        404; but on hosts whose name starts with "soft" a 200
                         "not found" page that echoes the path (a soft 404)

It counts requests in flight per Host header (``max_per_host``) and overall,
and logs every request's host, path and User-Agent.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FRONT_PAGE = b"<!doctype html><title>Welcome</title><h1>Front page</h1><p>Latest posts...</p>"
CHALLENGE_PAGE = (
    b"<!doctype html><html><head><title>Just a moment...</title></head>"
    b"<body>Checking your browser before accessing the site.</body></html>"
)
CAPTCHA_PAGE = (
    b"<!doctype html><title>Security check</title>"
    b'<p>Please complete the security check</p><div class="h-captcha"></div>'
)

# Pages that are only a status and a body.
_STATUS_PAGES: dict[str, tuple[int, bytes]] = {
    "gone404": (404, b"<title>Gone</title>"),
    "gone410": (410, b"<title>Gone</title>"),
    "legal451": (451, b"<title>Unavailable for legal reasons</title>"),
    "forbidden": (403, b"<title>Forbidden</title>"),
    "ratelimited": (429, b"<title>Too many requests</title>"),
    "error": (500, b"<title>Internal error</title>"),
    "challenge": (503, CHALLENGE_PAGE),
    "challenge200": (200, CAPTCHA_PAGE),
}


@dataclass(frozen=True)
class Hit:
    host: str
    path: str
    user_agent: str


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, *, slow_seconds: float = 1.0, flaky_failures: int = 1, latency_seconds: float = 0.0
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.slow_seconds = slow_seconds
        # Added to every response, to stand in for a real site's round trip (benchmark).
        self.latency_seconds = latency_seconds
        self.flaky_failures = flaky_failures
        self.lock = threading.Lock()
        self.in_flight: defaultdict[str, int] = defaultdict(int)
        self.max_per_host: defaultdict[str, int] = defaultdict(int)
        self.in_flight_total = 0
        self.max_total = 0
        self.hits: list[Hit] = []
        self.flaky_seen: defaultdict[str, int] = defaultdict(int)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and clients that give up are part of the show

    def hits_for(self, path_prefix: str) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if hit.path.startswith(path_prefix)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK (~40 ms on loopback), which would measure the kernel, not us.
    disable_nagle_algorithm = True
    server: SiteServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        server = self.server
        with server.lock:
            server.hits.append(Hit(host, self.path, self.headers.get("User-Agent", "")))
            server.in_flight[host] += 1
            server.in_flight_total += 1
            server.max_per_host[host] = max(server.max_per_host[host], server.in_flight[host])
            server.max_total = max(server.max_total, server.in_flight_total)
        self._counted_host: str | None = host
        try:
            if server.latency_seconds:
                time.sleep(server.latency_seconds)
            self._route(host)
        finally:
            self._answered()

    def _answered(self) -> None:
        """The request stops counting as in flight before its answer is written: a client
        that has read the answer may send its next request at once, and counting until
        this thread got round to it would show two requests where the client had one."""
        host, self._counted_host = self._counted_host, None
        if host is None:
            return
        with self.server.lock:
            self.server.in_flight[host] -= 1
            self.server.in_flight_total -= 1

    def _route(self, host: str) -> None:
        parts = urlsplit(self.path)
        first = parts.path.split("/")[1]
        if parts.path == "/":
            return self._send(200, FRONT_PAGE)
        if first in _STATUS_PAGES:
            return self._send(*_STATUS_PAGES[first])
        route = getattr(self, "_route_" + first.replace("-", "_"), None)
        if route is not None:
            return route(parts.path, parts.query)
        if host.startswith("soft"):
            body = f"<title>Oops</title><p>Sorry, {self.path} was not found.</p>"
            return self._send(200, body.encode())
        return self._send(404, b"<title>Not found</title>")

    def _route_live(self, path: str, query: str) -> None:
        self._send(200, _live_page(path))

    def _route_moved(self, path: str, query: str) -> None:
        self._redirect("/")

    def _route_chain(self, path: str, query: str) -> None:
        _, _, remaining, *rest = path.split("/")
        tail = "/".join(rest)
        count = int(remaining)
        self._redirect(f"/chain/{count - 1}/{tail}" if count > 1 else f"/live/{tail}")

    def _route_loop(self, path: str, query: str) -> None:
        self._redirect(path)

    def _route_slow(self, path: str, query: str) -> None:
        time.sleep(self.server.slow_seconds)
        self._send(200, _live_page(path))

    def _route_reset(self, path: str, query: str) -> None:
        self._reset()

    def _route_flaky(self, path: str, query: str) -> None:
        with self.server.lock:
            self.server.flaky_seen[path] += 1
            failing = self.server.flaky_seen[path] <= self.server.flaky_failures
        if failing:
            self._reset()
        else:
            self._send(200, _live_page(path))

    def _route_redirect_to(self, path: str, query: str) -> None:
        self._redirect(parse_qs(query).get("url", ["/"])[0])

    def _send(self, status: int, body: bytes) -> None:
        self._answered()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self._answered()
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _reset(self) -> None:
        self._answered()
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


def _live_page(path: str) -> bytes:
    return f"<!doctype html><title>Post</title><article>Content of {path}</article>".encode()


@contextmanager
def running_site_server(**kwargs: Any) -> Iterator[SiteServer]:
    server = SiteServer(**kwargs)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve_until_stopped(conn: Any, options: dict[str, Any]) -> None:
    """Run a SiteServer in a child process (the benchmark): send its port, and its
    counters when told to stop. Keeps the server's threads off the checker's GIL."""
    with running_site_server(**options) as server:
        conn.send(server.port)
        conn.recv()
        with server.lock:
            conn.send(
                {
                    "max_per_host": dict(server.max_per_host),
                    "max_total": server.max_total,
                    "requests": len(server.hits),
                }
            )
