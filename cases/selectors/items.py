"""Reads for the item pages: list, detail, approval queue, intake summary.

Every list query fetches its related rows with ``select_related`` or annotations, so a page
costs the same number of queries at 1 row or 50 (tests/test_item_views.py checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.postgres.aggregates import JSONBAgg
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils.dateparse import parse_datetime

from cases.models import Hold, Item, ItemReferral, ItemStatus, RequestItem
from core.audit import audit_history
from core.models import AuditEvent
from platforms.canonical import canonical_url
from platforms.selectors import platforms_for_hosts
from platforms.urlnorm import UrlRefused, normalise_url

# ?sort= values of the item list and the ordering behind each; every one ends in a unique key
# so that keyset pagination has a total order.
ITEM_SORTS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "url": ("url_normalised", "id"),
    # Grouped by platform (the most recently registered first), newest first within one,
    # items with no platform last: the (platform, id) index walks it at any depth. By
    # platform *name* it sorted all 1 M items through the join (4.6 s; decision 0027).
    "platform": ("-platform", "-id"),
}
DEFAULT_ITEM_SORT = "newest"

# The approval queue: threat to life first, then oldest first (first in, first reviewed).
APPROVAL_ORDERING = ("-threat_to_life", "created_at", "id")

HISTORY_LIMIT = 200
_USERNAME = get_user_model().USERNAME_FIELD


def _active_hold() -> Exists:
    return Exists(Hold.objects.filter(item=OuterRef("pk"), released_at__isnull=True))


# What an item row shows (cases/items/_table.html, approvals.html), and no more: building
# 50 items with every column of item, platform, case and user was 3 ms of the list page.
ITEM_ROW_FIELDS = (
    "url_normalised",
    "threat_to_life",
    "category",
    "legal_basis",
    "status",
    "assessment_note",
    "created_at",
    "platform__name",
    "case__title",
    "created_by__username",
)


def item_list_qs() -> QuerySet[Item]:
    """Items with what a list row shows: platform, case, referrer, whether on hold."""
    return (
        Item.objects.select_related("platform", "case", "created_by")
        .only(*ITEM_ROW_FIELDS)
        .annotate(on_hold=_active_hold())
    )


def items_matching(queryset: QuerySet[Item], text: str) -> QuerySet[Item]:
    """Items whose normalised URL contains ``text`` (any case), or that a pasted URL names.

    Only the normalised URL is searched: the trigram index item_url_trgm_idx answers
    UPPER(url_normalised) LIKE '%…%' at a million items (decision 0022). A URL pasted as
    submitted (tracking parameters, "www.", upper-case host) is normalised first and also
    found by its key, through the unique index.
    """
    text = text.strip()
    if not text:
        return queryset
    matches = Q(url_normalised__icontains=text)
    try:
        key = canonical_url(text).normalised
    except UrlRefused:
        key = ""
    if key and key != text:
        matches |= Q(url_normalised=key)
    return queryset.filter(matches)


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


def _holds_as_json() -> Subquery:
    """The item's holds, newest first, as one JSON array read with the item itself (the
    item page stays within 10 queries however long its history)."""
    row = JSONObject(
        id="id",
        reason="reason",
        requesting_agency="requesting_agency",
        review_on="review_on",
        placed_at="placed_at",
        released_at="released_at",
        placed_by_id="placed_by_id",
        placed_by_name=F(f"placed_by__{_USERNAME}"),
        released_by_id="released_by_id",
        released_by_name=F(f"released_by__{_USERNAME}"),
    )
    return Subquery(
        Hold.objects.filter(item=OuterRef("pk"))
        .order_by()
        .values("item")
        .annotate(rows=JSONBAgg(row, order_by=("-placed_at", "-id")))
        .values("rows")[:1]
    )


def _user(pk: int | None, name: str | None) -> Any:
    if pk is None:
        return None
    user = get_user_model()(pk=pk)
    setattr(user, _USERNAME, name or "")
    return user


def _when(text: str) -> datetime:
    when = parse_datetime(text)
    if when is None:
        raise ValueError(f"not a timestamp: {text!r}")
    return when


def _hold_from(item: Item, row: dict[str, Any]) -> Hold:
    """A Hold rebuilt from ``_holds_as_json`` (read-only: for showing, never for saving)."""
    hold = Hold(
        id=row["id"],
        item=item,
        reason=row["reason"],
        requesting_agency=row["requesting_agency"],
        review_on=date.fromisoformat(row["review_on"]),
        placed_at=_when(row["placed_at"]),
        released_at=_when(row["released_at"]) if row["released_at"] else None,
    )
    hold.placed_by = _user(row["placed_by_id"], row["placed_by_name"])
    hold.released_by = _user(row["released_by_id"], row["released_by_name"])
    return hold


def item_detail_qs() -> QuerySet[Item]:
    return Item.objects.select_related(
        "platform", "case", "actor", "created_by", "reviewed_by"
    ).annotate(on_hold=_active_hold(), holds_json=_holds_as_json())


def item_detail(item: Item) -> ItemDetail:
    """What the item page shows, in five queries (the item with its holds from
    ``item_detail_qs``, referrals, request lines, history, evidence), however many rows."""
    if hasattr(item, "holds_json"):
        holds = [_hold_from(item, row) for row in item.holds_json or []]
    else:
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
