"""Reads for the case pages: the list with item counts, a case's progress."""

from __future__ import annotations

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


def case_list_qs() -> QuerySet[Case]:
    """Cases with their actor, creator and item counts by status (one query per page)."""
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
