"""Evidence capture (issue 13 point 4): WARC captures in the worker through the guarded
network, content-addressed storage, uploads, downloads, the verify command and retention.

Every fetch goes to the local site server (verification.testing) on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from warcio.archiveiterator import ArchiveIterator

from cases.models import Evidence, Item, Outcome, VerificationStatus
from cases.services.intake import IntakeLine, items_refer_bulk
from core.errors import DomainError, PermissionRefused
from core.models import AuditEvent
from evidence.capture import CaptureConfig
from evidence.models import CaptureAttempt, CaptureOutcome
from evidence.services import (
    evidence_capture_pending_job,
    evidence_capture_request,
    evidence_retention_job,
    evidence_upload,
)
from evidence.storage import content_name, evidence_store
from tests.factories import HoldFactory, ItemFactory, RequestItemFactory
from verification.network import static_resolver
from verification.testing import SiteServer, running_site_server

pytestmark = pytest.mark.django_db

HOST = "capture.test"


@pytest.fixture(scope="module")
def site() -> Iterator[SiteServer]:
    with running_site_server(slow_seconds=2.0) as server:
        yield server


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EVIDENCE_CAPTURE_ENABLED = True
    return settings.MEDIA_ROOT


def _config(**overrides: object) -> CaptureConfig:
    return replace(CaptureConfig.from_settings(), **{"allow_loopback": True, **overrides})


RESOLVER = static_resolver({HOST: "127.0.0.1"})


def _waiting_item(site: SiteServer, path: str, by) -> Item:
    url = site.url(path, HOST)
    return ItemFactory(
        url_submitted=url,
        url_normalised=url,
        host=HOST,
        created_by=by,
        capture_wanted_at=timezone.now() - timedelta(seconds=5),
        capture_requested_by=by,
    )


def _run(**overrides: object) -> dict[str, int]:
    return evidence_capture_pending_job(
        now=timezone.now(), resolver=RESOLVER, config=_config(**overrides)
    )


def _records(evidence: Evidence) -> list:
    with default_storage.open(evidence.file.name, "rb") as handle:
        data = handle.read()
    out = []
    for record in ArchiveIterator(io.BytesIO(data)):
        body = record.content_stream().read()
        out.append(
            (record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), record, body)
        )
    return out


# --- capturing ------------------------------------------------------------------------------


def test_a_waiting_item_is_captured_into_a_hashed_warc_with_request_response_and_metadata(
    site: SiteServer, alice
) -> None:
    item = _waiting_item(site, "/live/post-1", alice)

    summary = _run()

    assert summary == {"selected": 1, "captured": 1}
    item.refresh_from_db()
    assert item.capture_wanted_at is None
    evidence = Evidence.objects.get(item=item)
    attempt = CaptureAttempt.objects.get(item=item)
    assert attempt.outcome == CaptureOutcome.CAPTURED and attempt.evidence == evidence
    assert attempt.requested_by == alice and attempt.http_status == 200
    with default_storage.open(evidence.file.name, "rb") as handle:
        data = handle.read()
    assert hashlib.sha256(data).hexdigest() == evidence.sha256
    assert evidence.size_bytes == len(data)
    assert evidence.file.name == content_name(evidence.sha256, ".warc.gz")
    assert evidence.captured_by == alice and evidence.source == item.url_submitted

    records = _records(evidence)
    kinds = [kind for kind, *_ in records]
    # warcio writes a pair response first, as crawlers do.
    assert kinds == ["warcinfo", "response", "request", "metadata"]
    _, uri, response, body = records[1]
    assert records[2][1] == uri
    assert uri == item.url_submitted
    assert response.http_headers.get_statuscode() == "200"
    assert b"Content of /live/post-1" in body
    metadata = json.loads(records[3][3])
    assert metadata["item"] == item.pk and metadata["requested_by"] == "alice"
    assert AuditEvent.objects.filter(action="item.evidence_captured", target_id=str(item.pk))


def test_every_redirect_hop_is_its_own_exchange_in_the_warc(site: SiteServer, alice) -> None:
    item = _waiting_item(site, "/chain/2/post-2", alice)

    _run()

    records = _records(Evidence.objects.get(item=item))
    statuses = [
        rec.http_headers.get_statuscode() for kind, _, rec, _ in records if kind == "response"
    ]
    assert statuses == ["302", "302", "200"]


@pytest.mark.parametrize(
    ("path", "overrides", "reason"),
    [
        ("/gone404/post-3", {}, "The server answered 404"),
        ("/live/post-4", {"max_bytes": 10}, "larger than"),
        ("/slow/post-5", {"timeout_seconds": 0.3}, "No complete answer within 0.3 s"),
        ("/loop/post-6", {"max_redirects": 2}, "More than 2 redirects"),
    ],
)
def test_a_capture_that_fails_is_recorded_with_its_reason_and_is_never_evidence(
    site: SiteServer, alice, path: str, overrides: dict, reason: str
) -> None:
    item = _waiting_item(site, path, alice)

    summary = _run(**overrides)

    assert summary == {"selected": 1, "failed": 1}
    attempt = CaptureAttempt.objects.get(item=item)
    assert attempt.outcome == CaptureOutcome.FAILED and reason in attempt.reason
    assert attempt.evidence is None
    assert not Evidence.objects.filter(item=item).exists()
    item.refresh_from_db()
    assert item.capture_wanted_at is None  # tried: out of the queue; "Capture now" asks again


def test_the_capture_goes_through_the_ssrf_guard(site: SiteServer, alice) -> None:
    item = _waiting_item(site, "/live/internal", alice)

    evidence_capture_pending_job(
        now=timezone.now(), resolver=RESOLVER, config=_config(allow_loopback=False)
    )

    attempt = CaptureAttempt.objects.get(item=item)
    assert attempt.outcome == CaptureOutcome.FAILED
    assert "address refused" in attempt.reason
    assert not site.hits_for("/live/internal")


def test_a_capture_asked_for_again_meanwhile_keeps_the_item_waiting(site: SiteServer, alice):
    from evidence.capture import capture_urls
    from evidence.services import _record_attempt

    item = _waiting_item(site, "/live/post-7", alice)
    results = capture_urls([item.url_submitted], config=_config(), resolver=RESOLVER)
    asked_again = timezone.now()
    Item.objects.filter(pk=item.pk).update(capture_wanted_at=asked_again)

    assert _record_attempt(item, results[item.url_submitted], started_at=timezone.now()) == ""

    item.refresh_from_db()
    assert item.capture_wanted_at == asked_again
    assert not CaptureAttempt.objects.filter(item=item).exists()


def test_the_job_takes_the_longest_waiting_first_and_no_more_than_its_batch(
    site: SiteServer, alice, settings
) -> None:
    settings.EVIDENCE_CAPTURE_BATCH = 2
    newest = _waiting_item(site, "/live/new", alice)
    oldest = [_waiting_item(site, f"/live/old-{n}", alice) for n in range(2)]
    Item.objects.filter(pk__in=[i.pk for i in oldest]).update(
        capture_wanted_at=timezone.now() - timedelta(hours=1)
    )

    assert _run() == {"selected": 2, "captured": 2}

    assert set(CaptureAttempt.objects.values_list("item", flat=True)) == {i.pk for i in oldest}
    newest.refresh_from_db()
    assert newest.capture_wanted_at is not None


def test_the_job_does_nothing_when_capture_is_switched_off(settings, site, alice) -> None:
    settings.EVIDENCE_CAPTURE_ENABLED = False
    _waiting_item(site, "/live/off", alice)

    assert _run() == {"disabled": 1}
    assert not CaptureAttempt.objects.exists()


# --- the queue is filled by intake and by "Capture now" -------------------------------------


def test_intake_with_capture_on_queues_the_new_items_and_with_it_off_does_not(alice) -> None:
    on = items_refer_bulk(
        lines=[IntakeLine(number=1, text="https://paste.example.net/a/1")],
        referred_by=alice,
        capture_evidence=True,
    )
    off = items_refer_bulk(
        lines=[IntakeLine(number=1, text="https://paste.example.net/a/2")],
        referred_by=alice,
    )

    queued = Item.objects.get(pk=on.lines[0].item.pk)
    assert queued.capture_wanted_at is not None and queued.capture_requested_by == alice
    assert Item.objects.get(pk=off.lines[0].item.pk).capture_wanted_at is None


def test_the_intake_form_offers_capture_ticked(alice) -> None:
    client = Client()
    client.force_login(alice)

    page = client.get(reverse("items:intake")).content.decode()

    tag = re.search(r'<input[^>]*name="capture_evidence"[^>]*>', page)
    assert tag is not None and tag.group(0).endswith(" checked>")


def test_capture_now_queues_the_item_for_whoever_asked_and_is_post_only(alice, dave) -> None:
    item = ItemFactory()
    client = Client()
    client.force_login(alice)
    url = reverse("evidence:capture", args=[item.pk])

    assert client.get(url).status_code == 405
    response = client.post(url)

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.capture_wanted_at is not None and item.capture_requested_by == alice
    with pytest.raises(PermissionRefused):
        evidence_capture_request(item=item, by=dave)  # analysts read, they do not add
    analyst = Client()
    analyst.force_login(dave)
    assert analyst.post(url).status_code == 403


# --- storage ------------------------------------------------------------------------------


def test_the_same_bytes_are_stored_once_and_an_existing_file_is_never_overwritten() -> None:
    first = evidence_store(b"capture bytes", suffix=".warc.gz")
    again = evidence_store(b"capture bytes", suffix=".warc.gz")
    assert first == again
    # Someone altered the stored file: storing the original bytes again does not repair or
    # replace it (the verify command is what reports it).
    path = Path(default_storage.path(first.name))
    path.write_bytes(b"tampered")

    evidence_store(b"capture bytes", suffix=".warc.gz")

    assert path.read_bytes() == b"tampered"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


# --- uploads and downloads ----------------------------------------------------------------


def _upload(client: Client, item: Item, name: str, data: bytes, **fields: str):
    return client.post(
        reverse("evidence:upload", args=[item.pk]),
        {"file": SimpleUploadedFile(name, data), "kind": "screenshot", **fields},
    )


def test_an_uploaded_screenshot_is_hashed_and_kept_and_a_second_copy_refused(alice) -> None:
    item = ItemFactory()
    client = Client()
    client.force_login(alice)
    png = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100

    response = _upload(client, item, "shot.PNG", png, description="The channel's header")

    assert response.status_code == 302
    evidence = Evidence.objects.get(item=item)
    assert evidence.sha256 == hashlib.sha256(png).hexdigest()
    assert evidence.kind == Evidence.Kind.SCREENSHOT and evidence.source == "shot.PNG"
    assert evidence.file.name == content_name(evidence.sha256, ".png")
    again = _upload(client, item, "copy.png", png)
    assert again.status_code == 400
    assert "already held for this item" in again.content.decode()
    assert Evidence.objects.filter(item=item).count() == 1


def test_an_empty_or_too_large_upload_is_refused_with_a_reason(alice, settings) -> None:
    settings.EVIDENCE_MAX_BYTES = 100
    item = ItemFactory()
    client = Client()
    client.force_login(alice)

    too_large = _upload(client, item, "big.png", b"x" * 101)
    with pytest.raises(DomainError, match="empty"):
        evidence_upload(
            item=item,
            uploaded=SimpleUploadedFile("e.png", b""),
            kind="screenshot",
            description="",
            captured_at=None,
            by=alice,
        )

    assert too_large.status_code == 400
    assert "larger than the" in too_large.content.decode()
    assert not Evidence.objects.exists()


def test_download_is_an_attachment_never_rendered_and_read_only_roles_may_download(
    alice, dave
) -> None:
    item = ItemFactory()
    uploader = Client()
    uploader.force_login(alice)
    _upload(uploader, item, "page.html", b"<script>alert(1)</script>")
    evidence = Evidence.objects.get(item=item)
    analyst = Client()
    analyst.force_login(dave)

    response = analyst.get(reverse("evidence:download", args=[evidence.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    assert Client().get(reverse("evidence:download", args=[evidence.pk])).status_code == 302


def test_a_purged_file_is_gone_and_a_missing_one_says_so(alice) -> None:
    item = ItemFactory()
    client = Client()
    client.force_login(alice)
    _upload(client, item, "a.png", b"first")
    _upload(client, item, "b.png", b"second")
    purged, missing = Evidence.objects.filter(item=item).order_by("id")
    Evidence.objects.filter(pk=purged.pk).update(purged_at=timezone.now())
    default_storage.delete(missing.file.name)

    assert client.get(reverse("evidence:download", args=[purged.pk])).status_code == 410
    response = client.get(reverse("evidence:download", args=[missing.pk]))
    assert response.status_code == 404
    assert "evidence_verify" in response.content.decode()


def test_the_evidence_page_lists_held_evidence_and_attempts_in_fixed_queries(
    site: SiteServer, alice
) -> None:
    item = _waiting_item(site, "/live/page-1", alice)
    _run()
    client = Client()
    client.force_login(alice)
    url = reverse("evidence:item", args=[item.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        page = client.get(url)
    for _ in range(3):
        evidence_capture_request(item=item, by=alice)
        _run()
    with CaptureQueriesContext(connection) as four:
        client.get(url)

    text = page.content.decode()
    assert item.url_normalised in text and "Download" in text and "Capture now" in text
    assert len(four.captured_queries) == len(one.captured_queries)
    assert Evidence.objects.filter(item=item).count() == 4


# --- verify command ---------------------------------------------------------------------------


def test_the_verify_command_checks_every_held_hash_and_names_what_is_wrong(alice) -> None:
    intact, altered, missing = (
        evidence_upload(
            item=ItemFactory(),
            uploaded=SimpleUploadedFile(f"{n}.png", f"file {n}".encode()),
            kind="screenshot",
            description="",
            captured_at=None,
            by=alice,
        )
        for n in range(3)
    )
    out = io.StringIO()
    call_command("evidence_verify", stdout=out)
    assert "3 evidence files checked: 3 intact, 0 altered, 0 missing, 0 unknown" in out.getvalue()

    Path(default_storage.path(altered.file.name)).write_bytes(b"changed")
    default_storage.delete(missing.file.name)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("evidence_verify", stdout=out)

    text = out.getvalue()
    assert f"ALTERED  evidence {altered.pk}" in text
    assert hashlib.sha256(b"changed").hexdigest() in text
    assert f"MISSING  evidence {missing.pk}" in text
    assert f"evidence {intact.pk} " not in text
    assert "3 evidence files checked: 1 intact, 1 altered, 1 missing" in text


# --- retention ------------------------------------------------------------------------------


def _held(item: Item, by, content: bytes) -> Evidence:
    stored = evidence_store(content, suffix=".png")
    return Evidence.objects.create(
        item=item,
        kind=Evidence.Kind.SCREENSHOT,
        file=stored.name,
        sha256=stored.sha256,
        size_bytes=stored.size_bytes,
        captured_at=timezone.now(),
        captured_by=by,
    )


def _removed(days_ago: int, **item_fields: object) -> Item:
    line = RequestItemFactory(
        outcome=Outcome.REMOVED,
        first_removal_at=timezone.now() - timedelta(days=days_ago),
        item__verification=item_fields.pop("verification", VerificationStatus.GONE),
    )
    return line.item


def test_evidence_of_items_removed_longer_ago_than_the_retention_is_purged_with_a_record(
    alice, settings, django_capture_on_commit_callbacks
) -> None:
    settings.EVIDENCE_RETENTION_DAYS = 183
    old = _held(_removed(200), alice, b"old removal")
    recent = _held(_removed(10), alice, b"recent removal")
    back_online = _held(_removed(200, verification=VerificationStatus.LIVE), alice, b"live again")
    held_item = _removed(200)
    HoldFactory(item=held_item)
    on_hold = _held(held_item, alice, b"on hold")
    never_removed = _held(ItemFactory(), alice, b"never removed")

    with django_capture_on_commit_callbacks(execute=True):
        summary = evidence_retention_job(now=timezone.now())

    assert summary == {"purged": 1, "files_deleted": 1}
    old.refresh_from_db()
    assert old.purged_at is not None and old.sha256  # the record of what was held stays
    assert not default_storage.exists(old.file.name)
    for kept in (recent, back_online, on_hold, never_removed):
        kept.refresh_from_db()
        assert kept.purged_at is None and default_storage.exists(kept.file.name)
    event = AuditEvent.objects.get(action="evidence.purged")
    assert event.target_id == str(old.item_id) and event.new["sha256"] == old.sha256


def test_a_file_shared_by_evidence_still_held_is_not_deleted(
    alice, django_capture_on_commit_callbacks
) -> None:
    shared = b"the same screenshot"
    purged = _held(_removed(400), alice, shared)
    still_held = _held(ItemFactory(), alice, shared)

    with django_capture_on_commit_callbacks(execute=True):
        summary = evidence_retention_job(now=timezone.now())

    assert summary == {"purged": 1, "files_deleted": 0}
    assert purged.file.name == still_held.file.name
    assert default_storage.exists(still_held.file.name)


def test_gzip_members_make_a_valid_warc_stream_for_other_tools(site: SiteServer, alice) -> None:
    item = _waiting_item(site, "/live/gz", alice)
    _run()
    evidence = Evidence.objects.get(item=item)
    with default_storage.open(evidence.file.name, "rb") as handle:
        raw = gzip.decompress(handle.read())

    assert raw.startswith(b"WARC/1.1\r\n")
    assert raw.count(b"WARC-Type: ") == 4


# --- what must never block the queue ---------------------------------------------------------


def test_a_url_httpx_cannot_parse_fails_alone_and_the_queue_moves_on(site: SiteServer, alice):
    poison = ItemFactory(
        url_submitted="https://0300.168.0.1/p",  # intake takes it; httpx refuses to parse it
        url_normalised="https://0300.168.0.1/p",
        capture_wanted_at=timezone.now() - timedelta(minutes=5),
        capture_requested_by=alice,
    )
    good = _waiting_item(site, "/live/after-poison", alice)

    summary = _run()

    assert summary == {"selected": 2, "failed": 1, "captured": 1}
    assert CaptureAttempt.objects.get(item=poison).outcome == CaptureOutcome.FAILED
    assert Evidence.objects.filter(item=good).exists()
    assert not Item.objects.filter(capture_wanted_at__isnull=False).exists()


def test_a_long_redirect_target_is_recorded_in_full(site: SiteServer, alice) -> None:
    target = site.url("/live/" + "x" * 3000, HOST)
    item = _waiting_item(site, f"/redirect-to?url={target}", alice)

    _run()

    attempt = CaptureAttempt.objects.get(item=item)
    assert attempt.outcome == CaptureOutcome.CAPTURED and attempt.final_url == target


def test_the_normalised_url_is_captured_and_the_submitted_one_kept_in_the_metadata(
    site: SiteServer, alice
) -> None:
    url = site.url("/live/normalised", HOST)
    item = ItemFactory(
        url_submitted=url.removeprefix("http://") + "?utm_source=feed",
        url_normalised=url,
        host=HOST,
        capture_wanted_at=timezone.now(),
        capture_requested_by=alice,
    )

    _run()

    evidence = Evidence.objects.get(item=item)
    records = _records(evidence)
    assert records[1][1] == url
    assert records[1][2].rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
    assert json.loads(records[3][3])["url_as_first_given"] == item.url_submitted


def test_a_run_stops_at_its_budget_and_leaves_the_rest_waiting(settings, site, alice) -> None:
    settings.EVIDENCE_CAPTURE_BUDGET_SECONDS = 0
    items = [_waiting_item(site, f"/live/budget-{n}", alice) for n in range(3)]

    assert _run() == {"selected": 3, "left_for_next_run": 3}
    assert (
        Item.objects.filter(pk__in=[i.pk for i in items], capture_wanted_at__isnull=False).count()
        == 3
    )


def test_a_second_run_stands_aside_while_one_is_running(site: SiteServer, alice) -> None:
    from django.db import connections

    _waiting_item(site, "/live/locked", alice)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [7301400140015])
        assert _run() == {"already_running": 1}
        with other.cursor() as cursor:
            # Released here, not by closing: the server ends a closed session when it gets
            # to it, so the next run could still find the lock taken.
            cursor.execute("SELECT pg_advisory_unlock(%s)", [7301400140015])
    finally:
        other.close()
    summary = _run()
    assert summary.get("captured") == 1, summary


def test_a_capture_whose_record_cannot_be_stored_is_recorded_as_failed(
    site: SiteServer, alice, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evidence import services

    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "warc_bytes", broken)
    item = _waiting_item(site, "/live/broken-store", alice)

    assert _run() == {"selected": 1, "failed": 1}

    attempt = CaptureAttempt.objects.get(item=item)
    assert "could not be stored (RuntimeError)" in attempt.reason
    item.refresh_from_db()
    assert item.capture_wanted_at is None
