"""Notices to upstream providers (hosting, CDN, registrar), and the weekly compose that
sends a platform's items there when its operator cannot act (DESIGN §3, Platform).

An upstream notice is an ordinary referral to the provider's platform, drafted
by the system and left awaiting approval: it follows the same four-eyes
approve-and-send flow as any request. It carries the original items (whose
``platform`` stays the operator's), so it is composed here rather than by
``request_compose``, which only takes a platform's own ready items.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    Item,
    RemovalRequest,
    RequestItem,
    RequestState,
    RequestType,
)
from cases.services.requests import (
    _default_legal_basis,
    compose_lock,
    items_ready_to_send,
    request_compose,
    request_language,
    request_reference_next,
    requests_compose_weekly_batch,
    weekly_ready_counts_kept,
)
from core.access import require_permission
from core.alerts import alert_raise, alerts_raise_many
from core.audit import audit_record
from core.errors import DomainError
from platforms.models import Contact, OperatorCanAct, Platform, UpstreamProvider

SUPERVISOR_PERMISSION = "cases.approve_request"


def _platform_url(platform: Platform) -> str:
    return reverse("platforms:detail", args=[platform.pk])


def alert_no_contact(platform: Platform, *, why: str) -> None:
    alert_raise(
        permission=SUPERVISOR_PERMISSION,
        title=f"{platform.name} has no active contact",
        message=f"{why} Add a contact on the platform page, then compose again.",
        url=_platform_url(platform),
        target=platform,
        key=f"platform-no-contact-{platform.pk}",
    )


@transaction.atomic
def request_compose_upstream(
    *,
    provider: Platform,
    items: Iterable[Item],
    escalated_from: RemovalRequest | None = None,
    reason: str,
) -> RemovalRequest | None:
    """Draft a referral to ``provider`` for ``items``, awaiting a supervisor's approval.

    Returns None (and alerts supervisors) when the provider has no active contact:
    a draft nobody can send would only hide the problem. Idempotent per escalated
    request and provider (a unique constraint backs the check).
    """
    compose_lock()
    chosen = list(items)
    if not chosen:
        return None
    if escalated_from is not None:
        existing = (
            RemovalRequest.objects.filter(escalated_from=escalated_from, platform=provider)
            .exclude(state=RequestState.CANCELLED)
            .first()
        )
        if existing is not None:
            return existing
    contacts = list(Contact.objects.filter(platform=provider, is_active=True))
    if not contacts:
        alert_no_contact(
            provider,
            why=f"A notice to upstream provider {provider.name} could not be drafted ({reason}).",
        )
        return None
    request = RemovalRequest.objects.create(
        reference=request_reference_next(year=timezone.localdate().year),
        platform=provider,
        request_type=RequestType.REFERRAL,
        legal_basis=_default_legal_basis(RequestType.REFERRAL, chosen),
        state=RequestState.AWAITING_APPROVAL,
        language=request_language(provider),
        threat_to_life=any(item.threat_to_life for item in chosen),
        escalated_from=escalated_from,
        notes=reason,
    )
    RequestItem.objects.bulk_create([RequestItem(request=request, item=item) for item in chosen])
    request.contacts.set(contacts)
    audit_record(
        actor=None,
        actor_label="system",
        action="request.upstream_notice_drafted",
        target=request,
        new={
            "items": len(chosen),
            "provider": provider.pk,
            "escalated_from": escalated_from.pk if escalated_from else None,
        },
        extra={"reason": reason},
    )
    return request


def upstream_providers_of(platform: Platform) -> list[Platform]:
    providers = Platform.objects.filter(downstream_links__platform=platform).distinct()
    return list(providers.order_by("name"))


@dataclass
class WeeklyComposeResult:
    drafts: list[RemovalRequest] = field(default_factory=list)
    # Notices to upstream providers of platforms whose operator cannot act.
    upstream_drafts: list[RemovalRequest] = field(default_factory=list)
    # Operator cannot act and no upstream provider is known: the items are stuck.
    stuck_platforms: list[Platform] = field(default_factory=list)
    # No active contact: nothing drafted, supervisors alerted.
    platforms_without_contact: list[Platform] = field(default_factory=list)
    # Open drafts the week's new items were added to (no second draft per platform).
    extended_drafts: list[RemovalRequest] = field(default_factory=list)
    # The platform's open request awaits approval: nothing added, nothing new drafted.
    skipped_awaiting_approval: list[RemovalRequest] = field(default_factory=list)

    @property
    def all_drafts(self) -> list[RemovalRequest]:
        return [*self.drafts, *self.upstream_drafts]


@transaction.atomic
def requests_compose_weekly_run(*, composed_by: Any = None) -> WeeklyComposeResult:
    """One draft per platform from its ready items; upstream notices where the operator
    cannot act; an alert (and nothing drafted) where nobody could be sent anything.

    Set-based (issue 11, P5): the platforms whose operator can act and that have a
    contact are composed together by ``requests_compose_weekly_batch`` in a number of
    queries that does not grow with them; the rare others (upstream notices, alerts)
    one by one.
    """
    if composed_by is not None:  # None: the scheduled weekly job
        require_permission(composed_by, "cases.compose_request", "compose requests")
    result = WeeklyComposeResult()
    compose_lock()
    # Threat-to-life items never wait for the weekly referral (they go out on their own).
    # How many are waiting per platform, in one pass: which platforms to compose for, and
    # what the alert of a platform nobody can be written to says.
    waiting = weekly_ready_counts_kept()
    platforms = list(
        Platform.objects.filter(pk__in=list(waiting))
        .annotate(
            has_active_contact=Exists(
                Contact.objects.filter(platform=OuterRef("pk"), is_active=True)
            )
        )
        .order_by("name", "pk")
    )
    cannot_act = [p for p in platforms if p.operator_can_act == OperatorCanAct.NO]
    with_provider = set(
        UpstreamProvider.objects.filter(platform__in=cannot_act).values_list(
            "platform_id", flat=True
        )
    )
    batch_ids = []
    for platform in platforms:
        if platform.operator_can_act == OperatorCanAct.NO and platform.pk in with_provider:
            _compose_for_upstream(platform, result, weekly=True)
        elif platform.operator_can_act == OperatorCanAct.NO:
            result.stuck_platforms.append(platform)
        elif not platform.has_active_contact:
            alert_no_contact(platform, why="Its approved items were not put in a weekly request.")
            result.platforms_without_contact.append(platform)
        else:
            batch_ids.append(platform.pk)
    # A unit can have hundreds of platforms nobody can be written to: their alerts at once.
    alerts_raise_many([_stuck_alert(p, items=waiting[p.pk]) for p in result.stuck_platforms])
    batch = requests_compose_weekly_batch(
        platform_ids=batch_ids, composed_by=composed_by, ready_kept=True
    )
    result.drafts = batch.drafts
    result.extended_drafts = batch.extended_drafts
    result.skipped_awaiting_approval = batch.skipped_awaiting_approval
    return result


@transaction.atomic
def _compose_for_upstream(
    platform: Platform, result: WeeklyComposeResult, *, weekly: bool = False
) -> None:
    compose_lock()
    ready = items_ready_to_send().filter(platform=platform)
    if weekly:
        ready = ready.filter(threat_to_life=False)
    items = list(ready.select_for_update(of=("self",)).order_by("created_at", "id"))
    providers = upstream_providers_of(platform)
    if not providers:
        _alert_stuck(platform, items=len(items))
        result.stuck_platforms.append(platform)
        return
    reason = f"The operator of {platform.name} cannot act on content; notice to its provider."
    drafted = [
        request_compose_upstream(provider=provider, items=items, reason=reason)
        for provider in providers
    ]
    result.upstream_drafts.extend(draft for draft in drafted if draft is not None)


def _alert_stuck(platform: Platform, *, items: int) -> None:
    alert_raise(**_stuck_alert(platform, items=items))


def _stuck_alert(platform: Platform, *, items: int) -> dict[str, Any]:
    return dict(
        permission=SUPERVISOR_PERMISSION,
        title=f"{platform.name}: its operator cannot act and it has no upstream provider",
        message=(
            f"{items} approved item(s) cannot be sent anywhere. Record its hosting "
            "provider, CDN or registrar on the platform page."
        ),
        url=_platform_url(platform),
        target=platform,
        key=f"platform-stuck-{platform.pk}",
    )


def requests_compose_for_platform(
    *, platform: Platform, composed_by: Any = None, **compose: Any
) -> list[RemovalRequest]:
    """Compose now for one platform, as the weekly job would: to the platform itself, or
    to its upstream providers when its operator cannot act (for the "compose one" page)."""
    if platform.operator_can_act != OperatorCanAct.NO:
        return [request_compose(platform=platform, composed_by=composed_by, **compose)]
    result = WeeklyComposeResult()
    _compose_for_upstream(platform, result)
    if result.stuck_platforms:
        raise DomainError(
            f"The operator of {platform.name} cannot act on content and no upstream provider "
            "is recorded for it: add its hosting provider, CDN or registrar first."
        )
    if not result.upstream_drafts:
        raise DomainError(
            f"No notice could be drafted for {platform.name}: it has no approved items "
            "waiting, or its upstream providers have no active contact."
        )
    return result.upstream_drafts
