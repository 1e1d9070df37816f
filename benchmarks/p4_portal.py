"""P4: operator portal answers under load (issue 11: gunicorn, 2 workers, 50 users, loopback,
bounded: >= 200 answers/s, p95 <= 100 ms, every answer counted in the database afterwards).

Builds its own sent requests (12 URLs each, one portal link each) on a bench platform,
committed so that the gunicorn workers see them; starts gunicorn with 2 sync workers on
127.0.0.1 with the current settings; 50 user threads each open a link (GET, for the CSRF
token) and answer all 12 URLs (POST, timed); then checks that every answered request has
12 outcome records and its receipt. The bench requests, items and platform are deleted at
the end (the audit trail keeps its events: it is append-only). The floor is the GET of the
same page (one read) under the same load. The users are the standard library's HTTP client
(httpx cost 12 ms of CPU per answer on the cores the server needs) and both workers are
warmed before the clock starts (docs/decisions/0030).
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from benchmarks.figures import BenchContext, Figure

RATE_TARGET = 200.0
P95_TARGET_MS = 100.0
USERS = 50
LINES = 12
PREFIX = "bench-p4"
# The load stops taking new links after this long (the users finish the answer in hand):
# at a few answers per second, 2,000 links would hold the whole benchmark for minutes.
BUDGET_SECONDS = 60.0
_CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _build(requests: int) -> tuple[list[tuple[int, str, list[int]]], int]:
    """Sent requests with LINES pending lines and a portal link each: (request, token, lines)."""
    from cases.models import RemovalRequest
    from platforms.models import Contact, Platform
    from portal.services import portal_link_issue

    user_model = get_user_model()
    officer, _ = user_model.objects.get_or_create(username=f"{PREFIX}-officer")
    supervisor, _ = user_model.objects.get_or_create(username=f"{PREFIX}-supervisor")
    with transaction.atomic():
        platform = Platform.objects.create(name=f"{PREFIX} platform", kind="social_network")
        contact = Contact.objects.create(
            platform=platform, name="Abuse desk", email="abuse@bench-p4.example", is_primary=True
        )
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                """
                INSERT INTO cases_removalrequest (reference, platform_id, request_type,
                    legal_basis, state, language, threat_to_life, is_emergency, total_pause,
                    followup_stage, notes, created_at, updated_at, sent_at, deadline,
                    original_deadline, approved_by_id, approved_at)
                SELECT 'TKD-1999-' || lpad(g::text, 6, '0'), %s, 'referral',
                       'terms_of_service', 'sent', 'en', false, false, interval '0', 0, '',
                       %s, %s, %s, %s, %s, %s, %s
                FROM generate_series(1, %s) g
                RETURNING id
                """,
                [platform.pk, now, now, now, now + timedelta(days=7), now + timedelta(days=7),
                 supervisor.pk, now, requests],
            )  # fmt: skip
            request_ids = sorted(row[0] for row in cursor.fetchall())
            cursor.execute(
                """
                WITH i AS (
                    INSERT INTO cases_item (url_submitted, url_normalised, host, platform_id,
                        category, legal_basis, assessment_note, threat_to_life, status,
                        created_at, review_note, created_by_id, reviewed_by_id, reviewed_at,
                        verification)
                    SELECT u, u, 'bench-p4.example', %s, 'propaganda', 'terms_of_service', '',
                           false, 'approved', now(), '', %s, %s, now(), ''
                    FROM unnest(%s::bigint[]) r, generate_series(1, %s) n,
                         LATERAL (SELECT 'https://bench-p4.example/' || r || '/' || n AS u) x
                    RETURNING id, url_normalised
                )
                INSERT INTO cases_requestitem (request_id, item_id, outcome, outcome_source,
                    outcome_reason)
                SELECT split_part(url_normalised, '/', 4)::bigint, id, 'pending', '', ''
                FROM i
                """,
                [platform.pk, officer.pk, supervisor.pk, request_ids, LINES],
            )
            cursor.execute("SET LOCAL session_replication_role = origin")
        built = []
        lines_of: dict[int, list[int]] = {}
        for request_id, line_id in (
            RemovalRequest.objects.filter(pk__in=request_ids)
            .values_list("pk", "lines__pk")
            .order_by("pk", "lines__pk")
        ):
            lines_of.setdefault(request_id, []).append(line_id)
        for request in RemovalRequest.objects.filter(pk__in=request_ids).select_related("platform"):
            _, token = portal_link_issue(request=request, contact=contact)
            built.append((request.pk, token, lines_of[request.pk]))
    return built, platform.pk


def _cleanup(platform_id: int) -> None:
    from cases.models import Correspondence, Item, RemovalRequest
    from platforms.models import Platform

    with transaction.atomic():
        requests = RemovalRequest.objects.filter(platform_id=platform_id)
        Correspondence.objects.filter(request__in=requests).delete()
        requests.delete()
        Item.objects.filter(platform_id=platform_id).delete()
        Platform.objects.filter(pk=platform_id).delete()


def _start_gunicorn(port: int, log: Path) -> subprocess.Popen[bytes]:
    # DEBUG off, as in production: with it on Django keeps every query in memory.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
        "DJANGO_DEBUG": "false",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "config.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--backlog", "128", "--timeout", "60"],
        cwd=settings.BASE_DIR, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"gunicorn did not start on port {port} (see {log})")


class _User:
    """One operator's browser, on the standard library's HTTP client: a fresh connection per
    request (gunicorn's sync workers close it anyway) and the cookies the server sets.

    httpx cost the load generator about 12 ms of CPU per answer (GET + POST), measured from
    /proc over a run: a third of what the two shared cores could give the server.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, text
        finally:
            conn.close()


def _load(
    base: str, work: list[tuple[int, str, list[int]]], budget_seconds: float = BUDGET_SECONDS
) -> dict[str, Any]:
    address = urlsplit(base)
    host, port = str(address.hostname), int(address.port or 80)
    posts: list[float] = []
    gets: list[float] = []
    failures: list[str] = []
    answered: list[int] = []
    lock = threading.Lock()
    queue = list(work)
    stop_at = time.perf_counter() + budget_seconds

    def user() -> None:
        browser = _User(host, port)
        while True:
            with lock:
                if not queue or time.perf_counter() > stop_at:
                    return
                request_id, token, lines = queue.pop()
            started = time.perf_counter()
            status, text = browser.request("GET", f"/r/{token}/")
            got = time.perf_counter() - started
            match = _CSRF_RE.search(text)
            if status != 200 or match is None:
                with lock:
                    failures.append(f"GET {status}")
                continue
            data = {"csrfmiddlewaretoken": match.group(1)}
            data.update({f"line-{line}-outcome": "removed" for line in lines})
            started = time.perf_counter()
            status, _ = browser.request("POST", f"/r/{token}/", urlencode(data))
            took = time.perf_counter() - started
            with lock:
                gets.append(got)
                if status == 302:
                    posts.append(took)
                    answered.append(request_id)
                else:
                    failures.append(f"POST {status}")

    # Warm both workers first (their first request imports, compiles templates and connects:
    # about 0.3 s each, not what a running server costs). GETs change nothing.
    warm_token = work[0][1] if work else ""
    warmers = [
        threading.Thread(target=lambda: [_User(host, port).request("GET", f"/r/{warm_token}/")
                                         for _ in range(3)])
        for _ in range(4)
    ]  # fmt: skip
    for thread in warmers:
        thread.start()
    for thread in warmers:
        thread.join(timeout=60)
    stop_at = time.perf_counter() + budget_seconds

    threads = [threading.Thread(target=user) for _ in range(USERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    seconds = time.perf_counter() - started
    return {"posts": posts, "gets": gets, "failures": failures, "answered": answered,
            "seconds": seconds, "not_started": len(queue)}  # fmt: skip


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] * 1000 if len(values) >= 2 else 0.0


def measure(context: BenchContext) -> list[Figure]:
    from cases.models import OutcomeRecord

    name = f"portal answers, {LINES} URLs each, gunicorn 2 workers, {USERS} users"
    requests = max(USERS * 4, min(2_000, context.requests // 50))
    context.work_dir.mkdir(parents=True, exist_ok=True)
    platform_id = None
    try:
        work, platform_id = _build(requests)
        port = _free_port()
        server = _start_gunicorn(port, context.work_dir / "p4-gunicorn.log")
        try:
            outcome = _load(f"http://127.0.0.1:{port}", work)
        finally:
            server.terminate()
            server.wait(timeout=30)
        answered = outcome["answered"]
        counted = OutcomeRecord.objects.filter(line__request_id__in=answered).count()
    except Exception as failure:
        return [Figure(section="P4", name=name, value=None, unit="/s",
                       target=f">= {RATE_TARGET:g}/s, p95 <= {P95_TARGET_MS:g} ms", met=None,
                       note=f"could not run: {failure!r}")]  # fmt: skip
    finally:
        if platform_id is not None:
            _cleanup(platform_id)
    posts = outcome["posts"]
    # Answers per second: the answers over the time the POSTs took, spread over the users.
    rate = len(posts) / outcome["seconds"] if outcome["seconds"] else 0.0
    p95 = _p95(posts)
    all_counted = counted == len(answered) * LINES and not outcome["failures"]
    return [
        Figure(
            section="P4",
            name=name,
            value=round(rate, 1),
            unit="/s",
            target=f">= {RATE_TARGET:g}/s, p95 <= {P95_TARGET_MS:g} ms",
            met=rate >= RATE_TARGET and p95 <= P95_TARGET_MS and all_counted,
            floor=None,
            note=(
                f"{len(posts):,} answers in {outcome['seconds']:.1f} s (each user also GETs "
                f"its page first, p95 {_p95(outcome['gets']):.0f} ms); POST p95 {p95:.0f} ms; "
                f"{counted:,} of {len(answered) * LINES:,} outcome records in the database; "
                + (
                    f"stopped after the {BUDGET_SECONDS:g} s budget with "
                    f"{outcome['not_started']:,} links not opened; "
                    if outcome["not_started"]
                    else ""
                )
                + f"failures: {len(outcome['failures'])}"
                + (
                    f" ({', '.join(sorted(set(outcome['failures'])))})"
                    if outcome["failures"]
                    else ""
                )
            ),
        )
    ]
