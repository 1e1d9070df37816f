"""What the verifier checks next, and the reads of the verification pages.

Three kinds of item are checked (docs/decisions/0010):

1. claimed removals — the latest outcome of one of its request lines is removed,
   access_disabled or already_gone;
2. no-response items — the deadline passed without an answer (is it still up?);
3. a random sample of items believed live (sent, no removal claimed), so that a
   platform that removes silently, or a checker that calls everything live, shows.

Claims (1 and 2) follow a recheck schedule: checked at once after the claim,
then every VERIFICATION_RECHECK_HOURS while not gone, every
VERIFICATION_RECHECK_GONE_DAYS once gone (content comes back), for
VERIFICATION_WATCH_DAYS after the claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from cases.models import (
    REMOVAL_OUTCOMES,
    Item,
    Outcome,
    RequestItem,
    VerificationStatus,
)
from platforms.models import Platform
from verification.models import UrlCheck

CLAIM_OUTCOMES = (*REMOVAL_OUTCOMES, Outcome.NO_RESPONSE)
# The random sample is drawn from this many times its size of the least recently
# checked candidates, so ORDER BY random() never sorts the whole table.
SAMPLE_POOL_FACTOR = 10
HISTORY_LIMIT = 200


def due_claim_lines_qs(*, now: datetime) -> QuerySet[RequestItem]:
    """Claim lines (removal or no-response, within the watch period) whose item is due.

    Written from the lines' side, joined to their item, so PostgreSQL hashes one
    filtered scan of each table instead of probing a subquery per item (at 200k
    items: ~0.3 s instead of ~4 s, and under the JIT threshold).
    """
    gone = Q(item__verification=VerificationStatus.GONE)
    recheck = now - timedelta(hours=settings.VERIFICATION_RECHECK_HOURS)
    recheck_gone = now - timedelta(days=settings.VERIFICATION_RECHECK_GONE_DAYS)
    return RequestItem.objects.filter(
        outcome__in=CLAIM_OUTCOMES,
        outcome_at__gte=now - timedelta(days=settings.VERIFICATION_WATCH_DAYS),
    ).filter(
        # never checked, or not since this claim
        Q(item__verified_at__isnull=True)
        | Q(outcome_at__gt=F("item__verified_at"))
        # or due again: daily while not gone, weekly once gone
        | (~gone & Q(item__verified_at__lte=recheck))
        | (gone & Q(item__verified_at__lte=recheck_gone))
    )


def claims_due_qs(*, now: datetime) -> QuerySet[Item]:
    """Items with a removal or no-response claim whose next check is due."""
    return Item.objects.filter(pk__in=due_claim_lines_qs(now=now).values("item_id"))


def sample_candidates_qs(*, now: datetime) -> QuerySet[Item]:
    """Items sent to a platform, no removal or no-response claimed, not checked lately."""
    sent = RequestItem.objects.filter(item=OuterRef("pk"), request__sent_at__isnull=False)
    claimed = RequestItem.objects.filter(item=OuterRef("pk"), outcome__in=CLAIM_OUTCOMES)
    recently = now - timedelta(days=settings.VERIFICATION_SAMPLE_AFTER_DAYS)
    return (
        Item.objects.filter(Exists(sent))
        .exclude(Exists(claimed))
        .exclude(verification=VerificationStatus.GONE)
        .filter(Q(verified_at__isnull=True) | Q(verified_at__lte=recently))
    )


def verification_batch(
    *, now: datetime, batch: int | None = None, sample: int | None = None
) -> list[Item]:
    """The items one sweep checks: due claims first (oldest check first), then the sample."""
    batch = settings.VERIFICATION_BATCH if batch is None else batch
    sample = min(settings.VERIFICATION_SAMPLE_SIZE if sample is None else sample, batch)
    claims = list(
        claims_due_qs(now=now)
        .only("id", "url_normalised", "verification", "verified_at")
        .order_by(F("verified_at").asc(nulls_first=True), "id")[: batch - sample]
    )
    sample = min(sample, batch - len(claims))
    if sample <= 0:
        return claims
    pool = (
        sample_candidates_qs(now=now)
        .order_by(F("verified_at").asc(nulls_first=True), "id")
        .values("pk")[: sample * SAMPLE_POOL_FACTOR]
    )
    sampled = list(
        Item.objects.filter(pk__in=Subquery(pool))
        .only("id", "url_normalised", "verification", "verified_at")
        .order_by("?")[:sample]
    )
    return claims + sampled


def verification_backlog_count(*, now: datetime) -> int:
    """Claimed removals and no-response items whose check is due (the health page)."""
    return due_claim_lines_qs(now=now).order_by().values("item_id").distinct().count()


# --- pages ----------------------------------------------------------------------------


@dataclass
class ItemChecks:
    item: Item
    checks: list[UrlCheck]
    total: int


def item_for_checks(pk: int) -> Item:
    return get_object_or_404(Item.objects.select_related("platform"), pk=pk)


def item_checks(item: Item) -> ItemChecks:
    """An item's checks, newest first (the latest HISTORY_LIMIT), in two queries."""
    rows = UrlCheck.objects.filter(item=item).order_by("-checked_at", "-id")
    return ItemChecks(item=item, checks=list(rows[:HISTORY_LIMIT]), total=rows.count())


# --- platforms that stopped answering ------------------------------------------------------

# Check failures that say the site is not there (its name does not resolve, nothing
# listens, the connection dies). Not counted either way: what our side refused or could
# not do ("address refused", "reserved name", "DNS error": the resolver, not the site).
SITE_DOWN_REASONS = ("DNS failure", "timeout", "connection failed", "connection reset", "TLS error")


@dataclass(frozen=True)
class Silence:
    """A platform none of whose URLs has answered since ``since``."""

    platform_id: int
    since: datetime
    failed_checks: int
    latest_at: datetime
    latest_reason: str


def platforms_with_recent_checks(*, since: datetime) -> list[int]:
    """Platforms any of whose URLs was checked since ``since`` (the sweep's last runs)."""
    return list(
        UrlCheck.objects.filter(checked_at__gte=since, item__platform__isnull=False)
        .values_list("item__platform_id", flat=True)
        .distinct()
    )


def platforms_last_answer(platform_ids: list[int]) -> dict[int, datetime]:
    """The newest check of each platform's URLs that got any HTTP answer."""
    rows = (
        UrlCheck.objects.filter(item__platform_id__in=platform_ids, http_status__isnull=False)
        .order_by()
        .values_list("item__platform_id")
        .annotate(at=Max("checked_at"))
    )
    return dict(rows)


def platforms_silences(platform_ids: list[int]) -> list[Silence]:
    """For each platform, the site-down failures since its last answer and since a
    supervisor last said it is not defunct, whichever is later."""
    if not platform_ids:
        return []
    check, item, platform = UrlCheck._meta, Item._meta, Platform._meta
    sql = f"""
        WITH answered AS (
            SELECT i.platform_id, max(c.checked_at) AS at
            FROM {check.db_table} c JOIN {item.db_table} i ON i.id = c.item_id
            WHERE i.platform_id = ANY(%s) AND c.http_status IS NOT NULL
            GROUP BY i.platform_id
        )
        SELECT i.platform_id, min(c.checked_at), count(*), max(c.checked_at),
               (array_agg(c.reason ORDER BY c.checked_at DESC, c.id DESC))[1]
        FROM {check.db_table} c
        JOIN {item.db_table} i ON i.id = c.item_id
        JOIN {platform.db_table} p ON p.id = i.platform_id
        LEFT JOIN answered a ON a.platform_id = i.platform_id
        WHERE i.platform_id = ANY(%s) AND c.http_status IS NULL AND c.reason = ANY(%s)
          AND c.checked_at > GREATEST(coalesce(a.at, '-infinity'),
                                      coalesce(p.defunct_dismissed_at, '-infinity'))
        GROUP BY i.platform_id
    """  # noqa: S608 (table names from the models; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [platform_ids, platform_ids, list(SITE_DOWN_REASONS)])
        return [Silence(*row) for row in cursor.fetchall()]
