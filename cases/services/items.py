"""Referring URLs as items, reviewing them (four-eyes), and de-confliction holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.models import (
    Actor,
    Case,
    Hold,
    Item,
    ItemCategory,
    ItemReferral,
    ItemStatus,
    LegalBasis,
)
from cases.services.urgent import items_alert_threat_to_life
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError, FourEyesViolation, IllegalTransition
from platforms.canonical import canonical_url
from platforms.selectors import platform_for_host
from platforms.urlnorm import UrlRefused


class UrlError(DomainError):
    """The text given is not a URL that can be referred."""


@dataclass(frozen=True)
class ReferralResult:
    item: Item
    created: bool  # False: the URL was already known, this referral was added to it


def item_refer(
    *,
    url: str,
    referred_by: Any,
    case: Case | None = None,
    actor: Actor | None = None,
    category: str = "",
    legal_basis: str = "",
    assessment_note: str = "",
    threat_to_life: bool = False,
) -> ReferralResult:
    """Refer one URL. An already known URL is never created twice: the referral is added to it."""
    try:
        parsed = canonical_url(url)
    except UrlRefused as exc:
        raise UrlError(exc.message) from exc

    if category and category not in ItemCategory.values:
        raise DomainError(f"Unknown category {category!r}.")
    if legal_basis and legal_basis not in LegalBasis.values:
        raise DomainError(f"Unknown legal basis {legal_basis!r}.")
    fields: dict[str, Any] = {
        "url_submitted": parsed.submitted,
        "host": parsed.host,
        "platform": platform_for_host(parsed.host),
        "case": case,
        "actor": actor or (case.actor if case else None),
        "assessment_note": assessment_note,
        "threat_to_life": threat_to_life,
        "created_by": referred_by,
    }
    if category:
        fields["category"] = category
    if legal_basis:
        fields["legal_basis"] = legal_basis

    # Two officers pasting the same URL at the same moment: the unique key decides,
    # the loser reads the winner's row.
    with transaction.atomic():
        existing = Item.objects.filter(url_normalised=parsed.normalised).first()
        created = False
        if existing is None:
            try:
                with transaction.atomic():
                    item = Item(url_normalised=parsed.normalised, **fields)
                    _validate(item)
                    item.save()
                created = True
            except IntegrityError:
                item = Item.objects.get(url_normalised=parsed.normalised)
        else:
            item = existing
        ItemReferral.objects.create(
            item=item, referred_by=referred_by, case=case, url_submitted=parsed.submitted
        )
        audit_record(
            actor=referred_by,
            action="item.referred" if created else "item.referred_again",
            target=item,
            new={"url": parsed.submitted, "case": case.pk if case else None},
        )
        if created:
            items_alert_threat_to_life(items=[item], referred_by=referred_by)
    return ReferralResult(item=item, created=created)


def _validate(item: Item) -> None:
    try:
        item.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc


def _review(*, item: Item, reviewer: Any, status: ItemStatus, note: str) -> Item:
    require_permission(reviewer, "cases.review_item", "approve or reject items")
    item = Item.objects.select_for_update().get(pk=item.pk)
    if item.created_by_id == reviewer.pk:
        raise FourEyesViolation(
            "You referred this item yourself; another supervisor must review it."
        )
    if item.status != ItemStatus.PENDING_APPROVAL:
        raise IllegalTransition(
            f"This item is already {item.get_status_display().lower()}; "
            "it cannot be reviewed again."
        )
    old = item.status
    item.status = status
    item.reviewed_by = reviewer
    item.reviewed_at = timezone.now()
    item.review_note = note
    item.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    audit_record(
        actor=reviewer,
        action=f"item.{status}",
        target=item,
        old={"status": old},
        new={"status": status},
        extra={"note": note} if note else None,
    )
    return item


@transaction.atomic
def item_approve(*, item: Item, reviewer: Any, note: str = "") -> Item:
    return _review(item=item, reviewer=reviewer, status=ItemStatus.APPROVED, note=note)


@transaction.atomic
def item_reject(*, item: Item, reviewer: Any, note: str) -> Item:
    if not note.strip():
        raise DomainError("Say why the item is rejected; the officer who referred it will read it.")
    return _review(item=item, reviewer=reviewer, status=ItemStatus.REJECTED, note=note)


@transaction.atomic
def item_hold_place(
    *, item: Item, placed_by: Any, reason: str, review_on: date, requesting_agency: str = ""
) -> Hold:
    """Keep an item out of every request until the hold is released (de-confliction)."""
    require_permission(placed_by, "cases.hold_item", "put items on hold")
    if not reason.strip():
        raise DomainError("A hold needs a reason.")
    if review_on < timezone.localdate():
        raise DomainError("The review date of a hold cannot be in the past.")
    if Hold.objects.filter(item=item, released_at__isnull=True).exists():
        raise IllegalTransition("This item is already on hold.")
    hold = Hold.objects.create(
        item=item,
        placed_by=placed_by,
        reason=reason,
        review_on=review_on,
        requesting_agency=requesting_agency,
    )
    audit_record(
        actor=placed_by,
        action="item.hold_placed",
        target=item,
        new={"reason": reason, "review_on": review_on.isoformat(), "agency": requesting_agency},
    )
    return hold


@transaction.atomic
def item_hold_release(*, item: Item, released_by: Any) -> Hold:
    require_permission(released_by, "cases.hold_item", "release holds")
    hold = Hold.objects.select_for_update().filter(item=item, released_at__isnull=True).first()
    if hold is None:
        raise IllegalTransition("This item is not on hold.")
    hold.released_by = released_by
    hold.released_at = timezone.now()
    hold.save(update_fields=["released_by", "released_at"])
    audit_record(actor=released_by, action="item.hold_released", target=item)
    return hold


@dataclass(frozen=True)
class ReviewRefusal:
    item_id: int
    url: str
    reason: str


def items_review_bulk(
    *, item_ids: list[int], reviewer: Any, approve: bool, note: str = ""
) -> tuple[list[Item], list[ReviewRefusal]]:
    """Approve or reject several items; (reviewed items, refusals with the reason per item).

    Each item is reviewed in its own transaction: one refusal (four-eyes, already reviewed by
    someone else a moment ago) must not undo the decisions on the others.
    """
    require_permission(reviewer, "cases.review_item", "approve or reject items")
    if not approve and not note.strip():
        raise DomainError(
            "Say why the items are rejected; the officers who referred them will read it."
        )
    found = Item.objects.in_bulk(item_ids)
    reviewed: list[Item] = []
    refused: list[ReviewRefusal] = []
    for pk in dict.fromkeys(item_ids):
        item = found.get(pk)
        if item is None:
            refused.append(ReviewRefusal(item_id=pk, url="", reason="This item does not exist."))
            continue
        try:
            if approve:
                reviewed.append(item_approve(item=item, reviewer=reviewer, note=note))
            else:
                reviewed.append(item_reject(item=item, reviewer=reviewer, note=note))
        except DomainError as exc:
            refused.append(ReviewRefusal(item_id=pk, url=item.url_normalised, reason=exc.message))
    return reviewed, refused
