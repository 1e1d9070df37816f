"""Writes of the verification app: store a check, run the sweep, ask for a check now."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cases.models import Item
from core.access import require_permission
from core.audit import audit_record
from platforms.models import Platform, PlatformStatus
from platforms.services import platform_clear_defunct_suspicion, platform_suspect_defunct
from verification.checker import CheckerConfig, CheckResult, check_urls
from verification.models import ERROR_MAX_LENGTH, REASON_MAX_LENGTH, UrlCheck
from verification.network import Resolver
from verification.selectors import (
    platforms_last_answer,
    platforms_silences,
    platforms_with_recent_checks,
    verification_batch,
)

logger = logging.getLogger(__name__)

TRIGGER_SWEEP = "sweep"
TRIGGER_MANUAL = "manual"


def url_check_record(*, item: Item, result: CheckResult, trigger: str = TRIGGER_SWEEP) -> UrlCheck:
    """Store one check and, if it is the newest, make it the item's verification.

    The item row is locked so that a "Check now" and a sweep finishing together
    leave the newer result on the item; an older result only adds history.
    """
    with transaction.atomic():
        current = (
            Item.objects.select_for_update()
            .filter(pk=item.pk)
            .values("verification", "verified_at")
            .get()
        )
        check = UrlCheck.objects.create(
            item=item,
            checked_at=result.checked_at,
            classification=result.classification,
            reason=result.reason[:REASON_MAX_LENGTH],
            http_status=result.http_status,
            url=result.url,
            final_url=result.final_url,
            redirects=list(result.redirects),
            content_sha256=result.content_sha256,
            content_length=result.content_length,
            error=result.error[:ERROR_MAX_LENGTH],
            elapsed_ms=result.elapsed_ms,
            trigger=trigger,
        )
        if current["verified_at"] is not None and current["verified_at"] > result.checked_at:
            return check
        Item.objects.filter(pk=item.pk).filter(
            Q(verified_at__isnull=True) | Q(verified_at__lte=result.checked_at)
        ).update(verification=result.classification, verified_at=result.checked_at)
        item.verification, item.verified_at = result.classification, result.checked_at
        if current["verification"] != result.classification:
            # A change of verdict matters to the investigation; a repeat of it does not.
            audit_record(
                actor=None,
                actor_label="verification",
                action="item.verification_changed",
                target=item,
                old={"verification": current["verification"]},
                new={"verification": str(result.classification)},
                extra={"reason": result.reason, "check": check.pk},
            )
    return check


def items_check(
    *,
    items: list[Item],
    trigger: str = TRIGGER_SWEEP,
    resolver: Resolver | None = None,
    config: CheckerConfig | None = None,
    budget_seconds: float | None = None,
) -> dict[str, int]:
    """Check the items' URLs over HTTP and store each result. Returns counts."""
    by_url = {item.url_normalised: item for item in items}
    results, stats = check_urls(
        list(by_url), config=config, resolver=resolver, budget_seconds=budget_seconds
    )
    counts: Counter[str] = Counter()
    for url, result in results.items():
        url_check_record(item=by_url[url], result=result, trigger=trigger)
        counts[str(result.classification)] += 1
    return {
        "selected": len(items),
        "checked": len(results),
        "not_reached": len(items) - len(results),
        "live": counts["live"],
        "gone": counts["gone"],
        "unknown": counts["unknown"],
        "requests": stats.requests,
        "retries": stats.retries,
    }


def verification_sweep_job(*, now: datetime, resolver: Resolver | None = None) -> dict[str, int]:
    """The periodic job (scheduling.jobs, every 5 minutes): check what is due.

    Bounded by VERIFICATION_BATCH and, in time, by VERIFICATION_SWEEP_BUDGET_SECONDS:
    checks not started in time are simply due again at the next sweep.
    """
    if not settings.VERIFICATION_ENABLED:
        return {"disabled": 1}
    items = verification_batch(now=now)
    summary = {"selected": 0, "checked": 0}
    if items:
        summary = items_check(
            items=items,
            trigger=TRIGGER_SWEEP,
            resolver=resolver,
            budget_seconds=settings.VERIFICATION_SWEEP_BUDGET_SECONDS,
        )
    return {**summary, **platforms_defunct_review(now=now)}


# --- platforms that stopped answering ("probably defunct") ---------------------------------


def platforms_defunct_review(*, now: datetime) -> dict[str, int]:
    """After a sweep: flag the active platforms none of whose URLs has answered since a
    site-down failure PLATFORM_DEFUNCT_AFTER_DAYS ago or more, as a clone that lived a day;
    clear the flag of those that answered again. Supervisors confirm or dismiss.
    """
    after = timedelta(days=settings.PLATFORM_DEFUNCT_AFTER_DAYS)
    suspected: dict[int, datetime] = {
        pk: at
        for pk, at in Platform.objects.filter(defunct_suspected_at__isnull=False).values_list(
            "pk", "defunct_suspected_at"
        )
        if at is not None
    }
    recent = platforms_with_recent_checks(since=now - timedelta(days=1))
    candidates = list(
        Platform.objects.filter(pk__in=recent, status=PlatformStatus.ACTIVE)
        .exclude(pk__in=list(suspected))
        .values_list("pk", flat=True)
    )
    flagged = 0
    for silence in platforms_silences(candidates):
        # One failure suffices: a URL that stopped resolving is rechecked only weekly
        # (gone), so waiting for a second would take a week, not the period.
        if silence.since > now - after:
            continue
        reason = (
            f"None of its URLs has answered since {silence.since:%Y-%m-%d %H:%M} UTC: "
            f"{silence.failed_checks} failed check{'s' if silence.failed_checks != 1 else ''}, "
            "the latest "
            f"({silence.latest_at:%Y-%m-%d %H:%M}) with {silence.latest_reason!r}."
        )
        platform = Platform(pk=silence.platform_id)
        flagged += platform_suspect_defunct(platform=platform, since=silence.since, reason=reason)
    cleared = 0
    for platform_id, answered_at in platforms_last_answer(list(suspected)).items():
        if answered_at > suspected[platform_id]:
            cleared += platform_clear_defunct_suspicion(platform=Platform(pk=platform_id))
    return {"platforms_suspected_defunct": flagged, "platforms_answering_again": cleared}


# --- "Check now" ------------------------------------------------------------------------


def item_check_request(*, item: Item, by: Any) -> datetime:
    """An officer asks for the item's URL to be checked now; the check runs in a worker."""
    require_permission(by, "verification.request_check", "ask for a URL to be checked")
    requested_at = timezone.now()
    with transaction.atomic():
        audit_record(actor=by, action="item.check_requested", target=item)
        transaction.on_commit(
            partial(_enqueue_check, item.pk, requested_at.isoformat()), robust=True
        )
    return requested_at


def _enqueue_check(item_id: int, requested_at: str) -> None:
    from verification.tasks import check_item

    try:
        check_item.delay(item_id, requested_at)
    except Exception:  # the broker is down: the sweep will check the item when due
        logger.warning("Could not enqueue a check of item %s.", item_id, exc_info=True)


def item_check_run(
    *, item_id: int, requested_at: str, resolver: Resolver | None = None
) -> UrlCheck | None:
    """Run a requested check, unless the item was checked since it was asked for.

    Idempotent: a redelivered task finds the check it already made and does nothing.
    """
    item = Item.objects.filter(pk=item_id).only("id", "url_normalised", "verified_at").first()
    asked = parse_datetime(requested_at)
    if item is None or asked is None:
        return None
    if item.verified_at is not None and item.verified_at >= asked:
        return None
    results, _ = check_urls([item.url_normalised], resolver=resolver)
    result = results[item.url_normalised]
    return url_check_record(item=item, result=result, trigger=TRIGGER_MANUAL)
