"""Reads for the case pages: the list with item counts, a case's progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from cases.models import Case, Item, ItemStatus, Outcome, RequestItem, RequestState

CASE_SORTS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "title": ("title", "id"),
}
DEFAULT_CASE_SORT = "newest"


def case_list_page_qs() -> QuerySet[Case]:
    """Cases with their actor and creator; counts come from ``with_item_counts`` per page."""
    return Case.objects.select_related("actor", "created_by")


def with_item_counts(cases: Sequence[Case]) -> Sequence[Case]:
    """Set items_total/pending/approved/rejected on a page of cases, in one query.

    Counted for the page's cases only: JOIN + GROUP BY over every case counted all
    million items before LIMIT (1.5 s at 5,000 cases).
    """
    counts: dict[int, dict[str, int]] = {case.pk: {} for case in cases}
    rows = (
        Item.objects.filter(case__in=list(counts))
        .order_by()
        .values_list("case_id", "status")
        .annotate(n=Count("id"))
    )
    for case_id, status, n in rows:
        counts[case_id][status] = n
    for case in cases:
        by_status = counts[case.pk]
        case.items_total = sum(by_status.values())  # type: ignore[attr-defined]
        case.items_pending = by_status.get(ItemStatus.PENDING_APPROVAL, 0)  # type: ignore[attr-defined]
        case.items_approved = by_status.get(ItemStatus.APPROVED, 0)  # type: ignore[attr-defined]
        case.items_rejected = by_status.get(ItemStatus.REJECTED, 0)  # type: ignore[attr-defined]
    return cases


def case_list_qs() -> QuerySet[Case]:
    """Cases with their actor, creator and item counts by status (the CSV export)."""
    return Case.objects.select_related("actor", "created_by").annotate(
        items_total=Count("items"),
        items_pending=Count("items", filter=Q(items__status=ItemStatus.PENDING_APPROVAL)),
        items_approved=Count("items", filter=Q(items__status=ItemStatus.APPROVED)),
        items_rejected=Count("items", filter=Q(items__status=ItemStatus.REJECTED)),
    )


@dataclass(frozen=True)
class ProgressRow:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class CaseProgress:
    total: int
    by_status: list[ProgressRow]
    by_outcome: list[ProgressRow]


NOT_REQUESTED = "not_requested"


def case_progress(case: Case) -> CaseProgress:
    """Counts of the case's items by status, and by the outcome of each item's latest request.

    Two aggregate queries, however many items: the latest outcome is a subquery per item,
    grouped in the database. Cancelled requests never reached the operator: not counted.
    """
    items = Item.objects.filter(case=case)
    status_counts = dict(
        items.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    latest_outcome = Subquery(
        RequestItem.objects.filter(item=OuterRef("pk"))
        .exclude(request__state=RequestState.CANCELLED)
        .order_by("-request__created_at", "-id")
        .values("outcome")[:1]
    )
    outcome_counts = dict(
        items.order_by()
        .annotate(latest_outcome=latest_outcome)
        .values_list("latest_outcome")
        .annotate(n=Count("id"))
        .values_list("latest_outcome", "n")
    )
    by_status = [
        ProgressRow(str(value), str(label), status_counts.get(value, 0))
        for value, label in ItemStatus.choices
    ]
    by_outcome = [
        ProgressRow(str(value), str(label), outcome_counts[value])
        for value, label in Outcome.choices
        if outcome_counts.get(value)
    ]
    if outcome_counts.get(None):
        by_outcome.append(
            ProgressRow(NOT_REQUESTED, _("Not in a request yet"), outcome_counts[None])
        )
    return CaseProgress(
        total=sum(status_counts.values()), by_status=by_status, by_outcome=by_outcome
    )
