"""Evidence of what an item's URL showed: captured into WARC files in the worker, or uploaded
by an officer; hashed, stored by hash, verified, and purged after the retention period.

Queue: an item waits for a capture while ``Item.capture_wanted_at`` is set (intake with
"capture evidence" on, or "Capture now"). The periodic job ``evidence_capture`` (every
minute, scheduling.jobs) takes the oldest waiting items, fetches them through the
verifier's guarded network and records one ``CaptureAttempt`` per item: with its evidence,
or failed with the reason. Nothing is lost when Redis or a worker dies: the queue is the
database, and an item leaves it only in the transaction that records its attempt.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef, Subquery
from django.utils import timezone

from cases.models import Evidence, Hold, Item, Outcome, RequestItem, VerificationStatus
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError
from evidence.capture import CaptureConfig, CaptureFailed, Fetched, capture_urls
from evidence.models import CaptureAttempt, CaptureOutcome
from evidence.storage import evidence_store, file_sha256, lock_content
from evidence.warc import CaptureRecord, warc_bytes
from verification.network import Resolver

logger = logging.getLogger(__name__)

WARC_SUFFIX = ".warc.gz"
REMOVAL_OUTCOMES = (Outcome.REMOVED, Outcome.ACCESS_DISABLED, Outcome.ALREADY_GONE)
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")

# --- the capture queue -------------------------------------------------------------------


def evidence_capture_request(*, item: Item, by: Any) -> None:
    """An officer asks for the item's URL to be captured (again); the worker does it."""
    require_permission(by, "cases.add_evidence", "capture evidence")
    with transaction.atomic():
        Item.objects.filter(pk=item.pk).update(
            capture_wanted_at=timezone.now(), capture_requested_by=by
        )
        audit_record(actor=by, action="item.capture_requested", target=item)


# Held for the whole run (a session lock): a run that outlasts its minute makes the next
# one stand aside instead of fetching the same items again.
_JOB_LOCK = 7301400140015


def evidence_capture_pending_job(
    *, now: datetime, resolver: Resolver | None = None, config: CaptureConfig | None = None
) -> dict[str, int]:
    """The periodic job: capture the items waiting longest, within
    EVIDENCE_CAPTURE_BUDGET_SECONDS; what is left waits for the next run."""
    if not settings.EVIDENCE_CAPTURE_ENABLED:
        return {"disabled": 1}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_JOB_LOCK])
        if not cursor.fetchone()[0]:
            return {"already_running": 1}
        try:
            return _capture_waiting(resolver=resolver, config=config)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_JOB_LOCK])


def _capture_waiting(*, resolver: Resolver | None, config: CaptureConfig | None) -> dict[str, int]:
    config = config or CaptureConfig.from_settings()
    deadline = time.monotonic() + settings.EVIDENCE_CAPTURE_BUDGET_SECONDS
    waiting = list(
        Item.objects.filter(capture_wanted_at__isnull=False)
        .select_related("capture_requested_by", "created_by")
        .order_by("capture_wanted_at", "id")[: settings.EVIDENCE_CAPTURE_BATCH]
    )
    counts: Counter[str] = Counter(selected=len(waiting))
    # A few at a time, each recorded before the next are fetched: at most
    # 2 x concurrency bodies are held in memory, and the budget is checked between them.
    step = max(config.concurrency * 2, 1)
    for start in range(0, len(waiting), step):
        if time.monotonic() >= deadline:
            counts["left_for_next_run"] += len(waiting) - start
            break
        counts.update(
            items_capture(waiting[start : start + step], resolver=resolver, config=config)
        )
    counts["selected"] = len(waiting)
    return dict(counts)


def items_capture(
    items: list[Item], *, resolver: Resolver | None = None, config: CaptureConfig | None = None
) -> Counter[str]:
    """Capture these items' normalised URLs (as the verifier fetches them) and record every
    outcome; an attempt that cannot be recorded as made is recorded as failed."""
    started = timezone.now()
    results = capture_urls(
        [item.url_normalised for item in items], config=config, resolver=resolver
    )
    counts: Counter[str] = Counter()
    for item in items:
        result = results[item.url_normalised]
        try:
            outcome = _record_attempt(item, result, started_at=started)
        except Exception as error:  # the item must leave the queue, or it blocks it forever
            logger.exception("Could not record the capture of item %s.", item.pk)
            reason = f"The capture could not be stored ({type(error).__name__})."
            outcome = _record_attempt(item, CaptureFailed(reason), started_at=started)
        counts[outcome or "already_recorded"] += 1
    return counts


def _record_attempt(item: Item, result: Fetched | CaptureFailed, *, started_at: datetime) -> str:
    """One attempt: the evidence (if any) and the item out of the queue, in one transaction.

    The item leaves the queue only if nobody asked again meanwhile (its ``capture_wanted_at``
    is still the one this capture answers); a redelivered or doubled job finds the item
    already out and records nothing twice.
    """
    requested_by = item.capture_requested_by or item.created_by
    requested_at = item.capture_wanted_at or started_at
    now = timezone.now()
    with transaction.atomic():
        left_queue = Item.objects.filter(pk=item.pk, capture_wanted_at=requested_at).update(
            capture_wanted_at=None, capture_requested_by=None
        )
        if not left_queue:
            return ""
        attempt = CaptureAttempt(
            item=item,
            url=item.url_normalised,
            requested_by=requested_by,
            requested_at=requested_at,
            started_at=started_at,
            finished_at=now,
        )
        if isinstance(result, CaptureFailed):
            attempt.outcome = CaptureOutcome.FAILED
            attempt.reason = result.reason
            attempt.http_status = result.http_status
            attempt.final_url = result.final_url
            attempt.save()
            audit_record(
                actor=None,
                actor_label="evidence capture",
                action="item.capture_failed",
                target=item,
                new={"reason": result.reason, "url": item.url_normalised},
            )
            return CaptureOutcome.FAILED.value
        first = result.exchanges[0]
        data = warc_bytes(
            result.exchanges,
            CaptureRecord(
                item_id=item.pk,
                url=item.url_normalised,
                requested_by=requested_by.get_username(),
                requested_at=requested_at,
                captured_at=first.at,
                extra={"url_as_first_given": item.url_submitted},
            ),
        )
        stored = evidence_store(data, suffix=WARC_SUFFIX)
        attempt.evidence = Evidence.objects.create(
            item=item,
            kind=Evidence.Kind.WARC,
            file=stored.name,
            sha256=stored.sha256,
            size_bytes=stored.size_bytes,
            captured_at=first.at,
            captured_by=requested_by,
            source=item.url_normalised,
        )
        attempt.outcome = CaptureOutcome.CAPTURED
        attempt.http_status = result.final.status
        attempt.final_url = result.final.url
        attempt.save()
        audit_record(
            actor=None,
            actor_label="evidence capture",
            action="item.evidence_captured",
            target=item,
            new={"sha256": stored.sha256, "bytes": stored.size_bytes, "url": item.url_normalised},
        )
    return CaptureOutcome.CAPTURED.value


# --- uploads -----------------------------------------------------------------------------


def evidence_upload(
    *,
    item: Item,
    uploaded: UploadedFile,
    kind: str,
    description: str,
    captured_at: datetime | None,
    by: Any,
) -> Evidence:
    """A file from elsewhere (a screenshot, another tool's capture), hashed and kept as a
    capture is; the same file twice for one item is refused, naming the first."""
    require_permission(by, "cases.add_evidence", "add evidence")
    if kind not in (Evidence.Kind.SCREENSHOT, Evidence.Kind.OTHER, Evidence.Kind.WARC):
        raise DomainError(f"Unknown kind of evidence {kind!r}.")
    limit = settings.EVIDENCE_MAX_BYTES
    if uploaded.size is not None and uploaded.size > limit:
        raise DomainError(f"The file is larger than the {limit / 1024 / 1024:g} MB limit.")
    data = uploaded.read(limit + 1)
    if len(data) > limit:
        raise DomainError(f"The file is larger than the {limit / 1024 / 1024:g} MB limit.")
    if not data:
        raise DomainError("The file is empty.")
    name = PurePosixPath((uploaded.name or "").replace("\\", "/")).name
    suffix = "".join(PurePosixPath(name).suffixes[-2:]).lower()
    if not _SAFE_SUFFIX.match(suffix) and suffix != WARC_SUFFIX:
        suffix = PurePosixPath(name).suffix.lower()
        suffix = suffix if _SAFE_SUFFIX.match(suffix) else ".bin"
    with transaction.atomic():
        stored = evidence_store(data, suffix=suffix)
        already = (
            Evidence.objects.filter(item=item, sha256=stored.sha256, purged_at__isnull=True)
            .select_related("captured_by")
            .first()
        )
        if already is not None:
            raise DomainError(
                f"This file is already held for this item (added "
                f"{timezone.localtime(already.created_at):%Y-%m-%d %H:%M} by "
                f"{already.captured_by.get_username()})."
            )
        evidence = Evidence.objects.create(
            item=item,
            kind=kind,
            file=stored.name,
            sha256=stored.sha256,
            size_bytes=stored.size_bytes,
            captured_at=captured_at or timezone.now(),
            captured_by=by,
            source=name,
            description=description,
        )
        audit_record(
            actor=by,
            action="item.evidence_uploaded",
            target=item,
            new={"sha256": stored.sha256, "bytes": stored.size_bytes, "name": name},
        )
    return evidence


# --- verifying what is held ----------------------------------------------------------------


@dataclass(frozen=True)
class HashCheck:
    evidence_id: int
    item_id: int
    name: str
    expected: str
    found: str
    # "ok", "mismatch", "missing", or "unknown" (the file could not be read: no result).
    status: str
    error: str = ""


def evidence_hashes_check(*, storage: Storage | None = None) -> Iterator[HashCheck]:
    """Every held (not purged) evidence file read back and hashed again, in id order."""
    storage = storage or default_storage
    held = Evidence.objects.filter(purged_at__isnull=True).order_by("id")
    for evidence in held.only("id", "item_id", "file", "sha256").iterator(chunk_size=500):
        name = evidence.file.name or ""
        base = HashCheck(evidence.pk, evidence.item_id, name, evidence.sha256, "", "unknown")
        try:
            found = file_sha256(name, storage=storage)
        except FileNotFoundError:
            yield HashCheck(**{**base.__dict__, "status": "missing"})
            continue
        except OSError as error:
            yield HashCheck(**{**base.__dict__, "error": str(error)})
            continue
        status = "ok" if found == evidence.sha256 else "mismatch"
        yield HashCheck(**{**base.__dict__, "found": found, "status": status})


# --- retention -------------------------------------------------------------------------------


def removed_items_before(cutoff: datetime) -> Any:
    """Items whose content went down before ``cutoff`` (first recorded removal among the
    lines that still say removed), not live again since, and not on hold."""
    first_removal = (
        RequestItem.objects.filter(item=OuterRef("pk"), outcome__in=REMOVAL_OUTCOMES)
        .order_by()
        .values("item")
        .annotate(at=Min("first_removal_at"))
        .values("at")
    )
    on_hold = Hold.objects.filter(item=OuterRef("pk"), released_at__isnull=True)
    return (
        Item.objects.annotate(removed_at=Subquery(first_removal))
        .filter(removed_at__lt=cutoff)
        .exclude(verification=VerificationStatus.LIVE)
        .exclude(Exists(on_hold))
    )


def evidence_retention_job(*, now: datetime, storage: Storage | None = None) -> dict[str, int]:
    """The nightly job: purge the evidence of items removed more than
    EVIDENCE_RETENTION_DAYS ago (TCO Regulation Art. 6: six months), leaving the record
    (hash, size, times) and an audit event per purged file."""
    storage = storage or default_storage
    cutoff = now - timedelta(days=settings.EVIDENCE_RETENTION_DAYS)
    due = Evidence.objects.filter(
        purged_at__isnull=True, item__in=removed_items_before(cutoff).values("pk")
    ).order_by("id")
    purged = files_deleted = 0
    for evidence in due.iterator(chunk_size=500):
        with transaction.atomic():
            name = evidence.file.name
            # The same lock as storing these bytes: an upload or capture of the same
            # content committing meanwhile is seen here, or waits and writes the file anew.
            lock_content(evidence.sha256)
            Evidence.objects.filter(pk=evidence.pk).update(purged_at=now)
            still_used = Evidence.objects.filter(file=name, purged_at__isnull=True).exists()
            audit_record(
                actor=None,
                actor_label="evidence retention",
                action="evidence.purged",
                target=evidence.item,
                new={"evidence": evidence.pk, "sha256": evidence.sha256},
                extra={"retention_days": settings.EVIDENCE_RETENTION_DAYS},
            )
            if name and not still_used:
                transaction.on_commit(partial(_delete_if_unused, storage, name, evidence.sha256))
                files_deleted += 1
        purged += 1
    return {"purged": purged, "files_deleted": files_deleted}


def _delete_if_unused(storage: Storage, name: str, sha256: str) -> None:
    """After the purge commits: delete the file unless evidence stored since uses it (under
    the content lock, so a store of the same bytes either is seen here or comes after)."""
    with transaction.atomic():
        lock_content(sha256)
        if Evidence.objects.filter(file=name, purged_at__isnull=True).exists():
            return
        try:
            storage.delete(name)
        except OSError:  # logged; the record says purged, the verify command skips it
            logger.exception("Could not delete purged evidence file %s.", name)
