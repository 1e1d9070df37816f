"""Reads for the item pages: list, detail, approval queue, intake summary.

Every list query fetches its related rows with ``select_related`` or annotations, so a page
costs the same number of queries at 1 row or 50 (tests/test_item_views.py checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from cases.models import Hold, Item, ItemReferral, ItemStatus, RequestItem
from core.audit import audit_history
from core.models import AuditEvent
from platforms.selectors import platforms_for_hosts
from platforms.urlnorm import UrlRefused, normalise_url

# ?sort= values of the item list and the ordering behind each; every one ends in a unique key
# so that keyset pagination has a total order.
ITEM_SORTS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "url": ("url_normalised", "id"),
    "platform": ("platform__name", "-id"),
}
DEFAULT_ITEM_SORT = "newest"

# The approval queue: threat to life first, then oldest first (first in, first reviewed).
APPROVAL_ORDERING = ("-threat_to_life", "created_at", "id")

HISTORY_LIMIT = 200


def _active_hold() -> Exists:
    return Exists(Hold.objects.filter(item=OuterRef("pk"), released_at__isnull=True))


def item_list_qs() -> QuerySet[Item]:
    """Items with what a list row shows: platform, case, referrer, whether on hold."""
    return Item.objects.select_related("platform", "case", "created_by").annotate(
        on_hold=_active_hold()
    )


def items_awaiting_approval_qs() -> QuerySet[Item]:
    return item_list_qs().filter(status=ItemStatus.PENDING_APPROVAL)


@dataclass(frozen=True)
class ItemDetail:
    item: Item
    active_hold: Hold | None
    holds: list[Hold]
    referrals: list[ItemReferral]
    request_lines: list[RequestItem]
    history: list[AuditEvent]
    evidence: list[Any]
    # For "create platform for …?" when the item has none: the domain, not the full host.
    registrable_domain: str


def item_detail_qs() -> QuerySet[Item]:
    return Item.objects.select_related(
        "platform", "case", "actor", "created_by", "reviewed_by"
    ).annotate(on_hold=_active_hold())


def item_detail(item: Item) -> ItemDetail:
    holds = list(item.holds.select_related("placed_by", "released_by"))
    return ItemDetail(
        item=item,
        active_hold=next((h for h in holds if h.released_at is None), None),
        holds=holds,
        referrals=list(item.referrals.select_related("referred_by", "case")),
        request_lines=list(
            RequestItem.objects.filter(item=item)
            .select_related("request__platform")
            .order_by("-request__created_at", "-id")
        ),
        history=list(audit_history(item)[:HISTORY_LIMIT]),
        evidence=list(item.evidence.select_related("captured_by")),
        registrable_domain=_registrable_domain(item),
    )


def _registrable_domain(item: Item) -> str:
    try:
        return normalise_url(item.url_normalised).registrable_domain
    except UrlRefused:  # stored before a rule changed: fall back to the host itself
        return item.host


def items_for_summary(item_ids: Sequence[int]) -> dict[int, Item]:
    """The items an intake summary names, as they are now, in one query."""
    return Item.objects.select_related("platform", "created_by").in_bulk(list(set(item_ids)))


def unmatched_item_hosts(item_ids: Sequence[int]) -> dict[int, str]:
    """Of these items, the ones that have no platform (yet): id → host."""
    return dict(
        Item.objects.filter(pk__in=list(set(item_ids)), platform__isnull=True).values_list(
            "pk", "host"
        )
    )


def items_now_matching_a_platform(unmatched: dict[int, str]) -> int:
    """How many platform-less items (id → host) a platform registered since would now match."""
    if not unmatched:
        return 0
    matches = platforms_for_hosts(set(unmatched.values()))
    return sum(1 for host in unmatched.values() if matches.get(host) is not None)
