"""Removal requests: composing, the approval and sending steps, the state machine, the clock.

Every state change goes through ``_transition`` which refuses moves the table
below does not allow, with a message naming the request and both states.
Sending the email itself is orchestrated by ``notifications`` (a higher layer),
which calls ``request_mark_sent`` here inside its transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from cases.models import (
    UNANSWERED_OUTCOMES,
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    Hold,
    Item,
    ItemStatus,
    LadderStep,
    LegalBasis,
    Outcome,
    ReferenceCounter,
    RemovalRequest,
    RequestItem,
    RequestState,
    RequestType,
)
from cases.selectors.ladder import deadline_offset, ladder_policy_for, rung_times
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError, FourEyesViolation, IllegalTransition
from core.models import AuditEvent
from platforms.models import Contact, ContactRole, Platform

S = RequestState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.AWAITING_APPROVAL, S.CANCELLED}),
    S.AWAITING_APPROVAL: frozenset({S.DRAFT, S.SENT, S.CANCELLED}),
    S.SENT: frozenset({S.PARTLY_ANSWERED, S.ANSWERED, S.OVERDUE, S.ESCALATED, S.CLOSED}),
    S.PARTLY_ANSWERED: frozenset({S.ANSWERED, S.OVERDUE, S.ESCALATED, S.CLOSED}),
    S.OVERDUE: frozenset({S.ANSWERED, S.ESCALATED, S.CLOSED}),
    S.ESCALATED: frozenset({S.ANSWERED, S.CLOSED}),
    S.ANSWERED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}


def _transition(
    request: RemovalRequest,
    to: RequestState,
    *,
    actor: Any = None,
    actor_label: str = "",
    extra: dict[str, Any] | None = None,
) -> None:
    if to not in TRANSITIONS[request.state]:
        raise IllegalTransition(
            f"Request {request.reference} is {RequestState(request.state).label.lower()}; "
            f"it cannot become {to.label.lower()}."
        )
    old = request.state
    request.state = to
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="request.state_changed",
        target=request,
        old={"state": old},
        new={"state": to.value},
        extra=extra,
    )


def lock_request(request: RemovalRequest) -> RemovalRequest:
    """Re-read the request under a row lock so concurrent steps serialise."""
    return RemovalRequest.objects.select_for_update().get(pk=request.pk)


def request_reference_next(*, year: int) -> str:
    """The next reference of ``year``, atomically (two composers never share a number)."""
    ReferenceCounter.objects.get_or_create(year=year)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_referencecounter SET last_number = last_number + 1 "
            "WHERE year = %s RETURNING last_number",
            [year],
        )
        (number,) = cursor.fetchone()
    return f"TKD-{year:04d}-{number:06d}"


def items_ready_to_send() -> QuerySet[Item]:
    """Approved items not on hold and not in any request that was not cancelled."""
    active_hold = Hold.objects.filter(item=OuterRef("pk"), released_at__isnull=True)
    in_request = RequestItem.objects.filter(item=OuterRef("pk")).exclude(
        request__state=RequestState.CANCELLED
    )
    # Two NOT EXISTS, not NOT (EXISTS OR EXISTS): PostgreSQL turns each into an anti-join
    # over the whole table, where the OR form is a subplan run once per item.
    return Item.objects.filter(
        ~Exists(active_hold),
        ~Exists(in_request),
        status=ItemStatus.APPROVED,
        platform__isnull=False,
    )


# Every path that puts items into requests takes this transaction-level lock first, so
# two composers never both take the same item (a set-based statement cannot lock "the
# absence of a line" the way a row lock would). It is the row-audit trigger's own lock
# (core migration 0004): every writing transaction takes it at its first write anyway,
# so taking it a little earlier adds no wait, and being one lock it can form no
# deadlock cycle with the trigger's (a second lock could, with a transaction that wrote
# rows before composing, e.g. intake composing a threat-to-life request).
COMPOSE_LOCK_KEY = 7301400140014


def compose_lock() -> None:
    """Serialise composing until the end of the current transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COMPOSE_LOCK_KEY])


def _default_legal_basis(request_type: str, items: list[Item]) -> str:
    if request_type == RequestType.REMOVAL_ORDER:
        return LegalBasis.TCO_REGULATION
    bases = {item.legal_basis for item in items}
    return bases.pop() if len(bases) == 1 else LegalBasis.TERMS_OF_SERVICE


def request_language(platform: Platform) -> str:
    primary = platform.contacts.filter(is_active=True, is_primary=True).first()
    return primary.effective_language if primary else platform.preferred_language


def request_recipients(platform: Platform, *, request_type: str) -> list[Contact]:
    """Who a request is written to: a removal order goes to the platform's TCO contact
    point (TCO Art. 15) when it has one; a referral to its other contacts (abuse, primary).
    With only one kind on record, that kind gets everything rather than nobody."""
    active = list(Contact.objects.filter(platform=platform, is_active=True).order_by("pk"))
    tco = [contact for contact in active if contact.role == ContactRole.TCO_CONTACT_POINT]
    others = [contact for contact in active if contact.role != ContactRole.TCO_CONTACT_POINT]
    if request_type == RequestType.REMOVAL_ORDER:
        return tco or others
    return others or tco


@transaction.atomic
def request_compose(
    *,
    platform: Platform,
    composed_by: Any = None,
    items: Iterable[Item] | None = None,
    request_type: str = RequestType.REFERRAL,
    legal_basis: str = "",
    is_emergency: bool = False,
) -> RemovalRequest:
    """Draft one request to ``platform`` for ``items`` (default: all its items ready to send)."""
    if composed_by is not None:  # None: the scheduled weekly job
        require_permission(composed_by, "cases.compose_request", "compose requests")
    compose_lock()
    ready = items_ready_to_send().filter(platform=platform).select_for_update(of=("self",))
    if items is None:
        chosen = list(ready.order_by("created_at", "id"))
    else:
        wanted = {item.pk for item in items}
        chosen = list(ready.filter(pk__in=wanted).order_by("created_at", "id"))
        missing = wanted - {item.pk for item in chosen}
        if missing:
            urls = Item.objects.filter(pk__in=missing).values_list("url_normalised", flat=True)
            raise DomainError(
                "These items cannot go in a request to "
                f"{platform.name} (not approved, on hold, already requested, or another "
                f"platform's): {', '.join(sorted(urls))}"
            )
    if not chosen:
        raise DomainError(f"{platform.name} has no approved items waiting to be sent.")
    if request_type == RequestType.REMOVAL_ORDER and not is_emergency:
        _check_tco_advance_notice(platform)

    now = timezone.localtime()
    request = RemovalRequest.objects.create(
        reference=request_reference_next(year=now.year),
        platform=platform,
        request_type=request_type,
        legal_basis=legal_basis or _default_legal_basis(request_type, chosen),
        language=request_language(platform),
        threat_to_life=any(item.threat_to_life for item in chosen),
        is_emergency=is_emergency,
        composed_by=composed_by,
    )
    RequestItem.objects.bulk_create([RequestItem(request=request, item=item) for item in chosen])
    request.contacts.set(request_recipients(platform, request_type=request_type))
    audit_record(
        actor=composed_by,
        action="request.composed",
        target=request,
        new={"items": len(chosen), "type": request_type},
    )
    return request


def request_open_weekly_of(platform: Platform) -> RemovalRequest | None:
    """The platform's open referral that the weekly compose adds to (or waits for).

    Open: a draft, or awaiting approval. Removal orders, emergencies and threat-to-life
    requests are composed by hand for their own reasons and are never topped up.
    """
    return (
        RemovalRequest.objects.filter(
            platform=platform,
            request_type=RequestType.REFERRAL,
            state__in=[S.DRAFT, S.AWAITING_APPROVAL],
            is_emergency=False,
            threat_to_life=False,
        )
        .select_related("platform")
        .order_by("created_at", "id")
        .first()
    )


def weekly_ready_items(platform: Platform) -> QuerySet[Item]:
    """A platform's items the weekly referral may carry: threat-to-life items never wait
    for it (they go out on their own at once, issue 10 point 13)."""
    return items_ready_to_send().filter(platform=platform, threat_to_life=False)


def weekly_ready_items_of(platform_ids: list[int]) -> QuerySet[Item]:
    """``weekly_ready_items`` of many platforms at once."""
    return items_ready_to_send().filter(platform_id__in=platform_ids, threat_to_life=False)


@transaction.atomic
def request_add_ready_items(*, request: RemovalRequest, by: Any = None) -> int:
    """Add the platform's weekly-ready items to its open draft; returns how many.

    Only a draft (not yet submitted) changes: what a supervisor was asked to approve
    stays what they approve.
    """
    compose_lock()
    request = lock_request(request)
    if request.state != S.DRAFT:
        raise IllegalTransition(
            f"Request {request.reference} is {RequestState(request.state).label.lower()}; "
            "items can be added only to a draft."
        )
    return len(requests_top_up([request], by=by).get(request.pk, []))


@dataclass
class WeeklyBatch:
    """What the set-based weekly compose did for the platforms it was given."""

    drafts: list[RemovalRequest] = field(default_factory=list)
    extended_drafts: list[RemovalRequest] = field(default_factory=list)
    skipped_awaiting_approval: list[RemovalRequest] = field(default_factory=list)


# The weekly-ready items of one weekly compose, found once (an anti-join over every
# request line, ~0.5 s at a million) and kept for the rest of its transaction.
WEEKLY_READY_TABLE = "tkd_weekly_ready"


def weekly_ready_counts_kept() -> dict[int, int]:
    """Find every platform's weekly-ready items once, keep them in a temporary table
    until the transaction ends, and return how many each platform has.

    Call with ``compose_lock`` held: nothing else changes an item until the transaction
    ends, so what is kept stays true; ``requests_compose_weekly_batch(...,
    ready_kept=True)`` then reads its items from the table.
    """
    ready_sql, ready_params = (
        items_ready_to_send()
        .filter(threat_to_life=False)
        .order_by()
        .values("id", "platform_id", "legal_basis", "created_at")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {WEEKLY_READY_TABLE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {WEEKLY_READY_TABLE} ON COMMIT DROP AS {ready_sql}",
            ready_params,
        )
        cursor.execute(
            f"SELECT platform_id, count(*) FROM {WEEKLY_READY_TABLE} GROUP BY platform_id"  # noqa: S608 (constant)
        )
        return dict(cursor.fetchall())


def _insert_weekly_lines(
    request_for_platform: dict[int, int], *, ready_kept: bool = False
) -> dict[int, _AddedLines]:
    """INSERT ... SELECT every weekly-ready item of each platform into its request, in one
    statement; returns what went into each request (items in order, their legal bases).
    With ``ready_kept`` the items come from ``weekly_ready_counts_kept``'s table.

    No row locks on the items: the caller holds ``compose_lock``, the row-audit trigger's
    lock that every writing transaction takes, so nothing else changes an item (no hold,
    no rejection, no other compose) until this transaction ends. Locking 100k item rows
    FOR UPDATE would write every one of them again for nothing.
    """
    if not request_for_platform:
        return {}
    if ready_kept:
        ready_sql = (
            f"SELECT id, platform_id, legal_basis, created_at FROM {WEEKLY_READY_TABLE} "  # noqa: S608 (constant)
            "WHERE platform_id = ANY(%s)"
        )
        ready_params: tuple[Any, ...] | list[Any] = [list(request_for_platform)]
    else:
        ready_sql, ready_params = (
            items_ready_to_send()
            .filter(threat_to_life=False, platform_id__in=list(request_for_platform))
            .order_by()
            .values("id", "platform_id", "legal_basis", "created_at")
            .query.sql_with_params()
        )
    line = RequestItem._meta
    sql = f"""
        WITH ready AS ({ready_sql}),
        target (platform_id, request_id) AS (
            SELECT * FROM unnest(%s::bigint[], %s::bigint[])
        ),
        added AS (
            INSERT INTO {line.db_table}
                (request_id, item_id, outcome, outcome_source, outcome_reason)
            SELECT target.request_id, ready.id, %s, '', ''
            FROM ready JOIN target ON target.platform_id = ready.platform_id
            ORDER BY ready.created_at, ready.id
            RETURNING id, request_id, item_id
        )
        SELECT added.request_id,
               array_agg(added.item_id ORDER BY added.id),
               array_agg(DISTINCT ready.legal_basis)
        FROM added JOIN ready ON ready.id = added.item_id
        GROUP BY added.request_id
    """  # noqa: S608 (table name, ORM-built subquery with its own parameters)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                *ready_params,
                list(request_for_platform),
                list(request_for_platform.values()),
                Outcome.PENDING.value,
            ],
        )
        return {
            request_id: _AddedLines(item_ids=list(item_ids), legal_bases=set(bases))
            for request_id, item_ids, bases in cursor.fetchall()
        }


@dataclass(frozen=True)
class _AddedLines:
    item_ids: list[int]
    legal_bases: set[str]


def _default_legal_basis_of(request_type: str, bases: set[str]) -> str:
    if request_type == RequestType.REMOVAL_ORDER:
        return LegalBasis.TCO_REGULATION
    return next(iter(bases)) if len(bases) == 1 else LegalBasis.TERMS_OF_SERVICE


def requests_top_up(drafts: list[RemovalRequest], *, by: Any = None) -> dict[int, list[int]]:
    """Add each draft's platform's weekly-ready items to it, for all drafts at once.

    The drafts are locked by the caller and are open drafts (one per platform). A
    constant number of queries, however many drafts: the present legal bases in one
    query, the lines in one INSERT ... SELECT, the drafts in one UPDATE, the audit events
    in one INSERT. Returns the added item ids per draft (drafts that got none are left out).
    """
    if not drafts:
        return {}
    present = _present_legal_bases(drafts)
    added = _insert_weekly_lines({draft.platform_id: draft.pk for draft in drafts})
    _record_top_up(drafts, present=present, added=added, by=by)
    return {request_id: lines.item_ids for request_id, lines in added.items()}


def _present_legal_bases(drafts: list[RemovalRequest]) -> dict[int, set[str]]:
    """The legal bases of the items already in each draft (read before adding to them)."""
    present: dict[int, set[str]] = {draft.pk: set() for draft in drafts}
    if drafts:
        for request_id, basis in (
            RequestItem.objects.filter(request__in=drafts)
            .values_list("request_id", "item__legal_basis")
            .distinct()
        ):
            present[request_id].add(basis)
    return present


def _record_top_up(
    drafts: list[RemovalRequest],
    *,
    present: dict[int, set[str]],
    added: dict[int, _AddedLines],
    by: Any,
) -> list[RemovalRequest]:
    """The drafts' legal basis and time stamp after lines were added to them, and an audit
    event each; returns the drafts that got lines."""
    changed: list[RemovalRequest] = []
    events: list[AuditEvent] = []
    user = by if getattr(by, "is_authenticated", False) else None
    for draft in drafts:
        lines = added.get(draft.pk)
        if lines is None:
            continue
        # The legal basis follows the items only while it is still the default for them:
        # a basis a person chose is theirs to change.
        if draft.legal_basis == _default_legal_basis_of(draft.request_type, present[draft.pk]):
            draft.legal_basis = _default_legal_basis_of(
                draft.request_type, present[draft.pk] | lines.legal_bases
            )
        draft.updated_at = timezone.now()
        changed.append(draft)
        events.append(
            AuditEvent(
                actor=user,
                actor_label=user.get_username() if user else "system",
                action="request.items_added",
                target_type=RemovalRequest._meta.label_lower,
                target_id=str(draft.pk),
                new={"items": lines.item_ids},
                extra={},
            )
        )
    RemovalRequest.objects.bulk_update(changed, ["legal_basis", "updated_at"])
    AuditEvent.objects.bulk_create(events)
    return changed


def _weekly_platforms(platform_ids: list[int]) -> QuerySet[Platform]:
    """The platforms with what the weekly compose needs of each, in one query: the open
    weekly referral (id, state), the language of the primary contact."""
    open_weekly = RemovalRequest.objects.filter(
        platform=OuterRef("pk"),
        request_type=RequestType.REFERRAL,
        state__in=[S.DRAFT, S.AWAITING_APPROVAL],
        is_emergency=False,
        threat_to_life=False,
    ).order_by("created_at", "id")
    primary = Contact.objects.filter(
        platform=OuterRef("pk"), is_active=True, is_primary=True
    ).order_by("pk")
    return (
        Platform.objects.filter(pk__in=platform_ids)
        .annotate(
            open_weekly_id=Subquery(open_weekly.values("pk")[:1]),
            primary_language=Subquery(primary.values("language")[:1]),
        )
        .order_by("name", "pk")
    )


@transaction.atomic
def requests_compose_weekly_batch(
    *, platform_ids: list[int], composed_by: Any = None, ready_kept: bool = False
) -> WeeklyBatch:
    """The weekly referral for every platform in ``platform_ids``, set-based.

    Each platform (with an active contact, its operator able to act) gets one open
    referral: a new draft of its weekly-ready items, its open draft topped up, or
    nothing while its open referral awaits approval. The number of queries does not
    depend on the number of platforms or items: the new drafts in one INSERT, their
    lines in one INSERT ... SELECT, their recipients in one INSERT ... SELECT, the
    audit events in one INSERT. ``ready_kept``: the caller ran ``weekly_ready_counts_kept``
    in this transaction.
    """
    batch = WeeklyBatch()
    if not platform_ids:
        return batch
    compose_lock()
    platforms = list(_weekly_platforms(platform_ids))
    open_ids = [p.open_weekly_id for p in platforms if p.open_weekly_id is not None]  # type: ignore[attr-defined]
    open_requests = {
        r.pk: r
        for r in RemovalRequest.objects.filter(pk__in=open_ids)
        .select_related("platform")
        .select_for_update(of=("self",))
    }
    fresh = [p for p in platforms if p.open_weekly_id is None]  # type: ignore[attr-defined]
    drafts_open = [
        open_requests[p.open_weekly_id]  # type: ignore[attr-defined]
        for p in platforms
        if p.open_weekly_id is not None  # type: ignore[attr-defined]
    ]
    to_top_up = [r for r in drafts_open if r.state == S.DRAFT]
    batch.skipped_awaiting_approval = [r for r in drafts_open if r.state != S.DRAFT]
    present = _present_legal_bases(to_top_up)
    new_drafts = _create_fresh_weekly(fresh, composed_by=composed_by)
    # One INSERT ... SELECT for the drafts topped up and the new ones alike: the ready
    # items are found (an anti-join over every request line) once, not once per kind.
    added = _insert_weekly_lines(
        {draft.platform_id: draft.pk for draft in [*to_top_up, *new_drafts]},
        ready_kept=ready_kept,
    )
    batch.extended_drafts = _record_top_up(to_top_up, present=present, added=added, by=composed_by)
    batch.drafts = _finish_fresh_weekly(new_drafts, added=added, composed_by=composed_by)
    return batch


def _create_fresh_weekly(platforms: list[Platform], *, composed_by: Any) -> list[RemovalRequest]:
    """New weekly drafts, one per platform, in one INSERT; their lines come next."""
    if not platforms:
        return []
    year = timezone.localtime().year
    ReferenceCounter.objects.get_or_create(year=year)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_referencecounter SET last_number = last_number + %s "
            "WHERE year = %s RETURNING last_number",
            [len(platforms), year],
        )
        (last,) = cursor.fetchone()
    first = last - len(platforms) + 1
    return RemovalRequest.objects.bulk_create(
        [
            RemovalRequest(
                reference=f"TKD-{year:04d}-{first + number:06d}",
                platform=platform,
                request_type=RequestType.REFERRAL,
                # Provisional: set from the items that went in (_finish_fresh_weekly).
                legal_basis=_default_legal_basis_of(RequestType.REFERRAL, set()),
                language=platform.primary_language or platform.preferred_language,  # type: ignore[attr-defined]
                threat_to_life=False,
                is_emergency=False,
                composed_by=composed_by,
            )
            for number, platform in enumerate(platforms)
        ]
    )


def _finish_fresh_weekly(
    requests: list[RemovalRequest], *, added: dict[int, _AddedLines], composed_by: Any
) -> list[RemovalRequest]:
    """The new drafts after their lines went in: the legal basis of their items, their
    recipients, an audit event each; a draft that got no line is deleted."""
    if not requests:
        return []
    # Lost every item between the two reads (held, rejected): the draft would be empty.
    empty = [r for r in requests if r.pk not in added]
    if empty:
        RemovalRequest.objects.filter(pk__in=[r.pk for r in empty]).delete()
        requests = [r for r in requests if r.pk in added]
    wrong_basis = []
    for r in requests:
        basis = _default_legal_basis_of(r.request_type, added[r.pk].legal_bases)
        if r.legal_basis != basis:
            r.legal_basis = basis
            wrong_basis.append(r)
    RemovalRequest.objects.bulk_update(wrong_basis, ["legal_basis"])
    _set_weekly_recipients([r.pk for r in requests])
    user = composed_by if getattr(composed_by, "is_authenticated", False) else None
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=user,
                actor_label=user.get_username() if user else "system",
                action="request.composed",
                target_type=RemovalRequest._meta.label_lower,
                target_id=str(r.pk),
                new={"items": len(added[r.pk].item_ids), "type": RequestType.REFERRAL.value},
                extra={},
            )
            for r in requests
        ]
    )
    return requests


def _set_weekly_recipients(request_ids: list[int]) -> None:
    """Referral recipients (``request_recipients``) of many requests in one statement: the
    platform's active contacts other than its TCO contact point, or the TCO contact point
    when it has no other."""
    if not request_ids:
        return
    through = RemovalRequest.contacts.through._meta.db_table
    contact = Contact._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {through} (removalrequest_id, contact_id)
            SELECT r.id, c.id
            FROM cases_removalrequest r
            JOIN {contact} c ON c.platform_id = r.platform_id AND c.is_active
            WHERE r.id = ANY(%s)
              AND (c.role <> %s OR NOT EXISTS (
                    SELECT 1 FROM {contact} o
                    WHERE o.platform_id = r.platform_id AND o.is_active AND o.role <> %s))
            ORDER BY r.id, c.id
            """,  # noqa: S608 (table names)
            [request_ids, ContactRole.TCO_CONTACT_POINT, ContactRole.TCO_CONTACT_POINT],
        )


def requests_compose_weekly(*, composed_by: Any = None) -> list[RemovalRequest]:
    """One draft referral per platform from all its approved, unsent, unheld items.

    Where the operator cannot act the drafts go to its upstream providers; where
    nobody can be written to, supervisors get an alert (cases.services.upstream).
    """
    # Imported here: upstream builds on this module's composing functions.
    from cases.services.upstream import requests_compose_weekly_run

    return requests_compose_weekly_run(composed_by=composed_by).all_drafts


def _check_tco_advance_notice(platform: Platform) -> None:
    already_ordered = RemovalRequest.objects.filter(
        platform=platform,
        request_type=RequestType.REMOVAL_ORDER,
        sent_at__isnull=False,
    ).exists()
    if already_ordered:
        return
    notice_hours = settings.TCO_ADVANCE_NOTICE_HOURS
    notice_at = platform.tco_advance_notice_at
    if notice_at is None or timezone.now() - notice_at < timedelta(hours=notice_hours):
        raise DomainError(
            f"{platform.name} has never received a removal order: TCO Art. 3(2) requires "
            f"advance notice at least {notice_hours} hours before the first one "
            "(record it on the platform page), unless the order is an emergency."
        )


@transaction.atomic
def request_submit(*, request: RemovalRequest, by: Any) -> RemovalRequest:
    """Draft → awaiting approval."""
    require_permission(by, "cases.compose_request", "submit requests for approval")
    request = lock_request(request)
    if not request.lines.exists():
        raise DomainError(f"Request {request.reference} has no items.")
    _transition(request, S.AWAITING_APPROVAL, actor=by)
    request.submitted_by = by
    request.submitted_at = timezone.now()
    request.save(update_fields=["state", "submitted_by", "submitted_at", "updated_at"])
    return request


@transaction.atomic
def request_return_to_draft(*, request: RemovalRequest, by: Any, reason: str) -> RemovalRequest:
    request = lock_request(request)
    _transition(request, S.DRAFT, actor=by, extra={"reason": reason})
    request.save(update_fields=["state", "updated_at"])
    return request


@transaction.atomic
def request_cancel(*, request: RemovalRequest, by: Any, reason: str) -> RemovalRequest:
    """Discard a request that was never sent; its items become ready to send again."""
    if not reason.strip():
        raise DomainError("Say why the request is cancelled.")
    request = lock_request(request)
    _transition(request, S.CANCELLED, actor=by, extra={"reason": reason})
    request.closed_at = timezone.now()
    request.save(update_fields=["state", "closed_at", "updated_at"])
    return request


@transaction.atomic
def request_item_remove(*, request: RemovalRequest, line: RequestItem, by: Any) -> RemovalRequest:
    """Take one item out of a draft; it is approved and unsent again, so the next compose
    picks it up. The last item is not removed: the draft is cancelled instead, keeping it on
    record, which frees the item just the same (a cancelled request holds nothing)."""
    require_permission(by, "cases.compose_request", "edit draft requests")
    request = lock_request(request)
    if line.request_id != request.pk:
        raise DomainError(f"That URL is not in {request.reference}.")
    if request.state != S.DRAFT:
        raise IllegalTransition(
            f"Request {request.reference} is {RequestState(request.state).label.lower()}; "
            "items can be removed only from a draft (return it to draft first)."
        )
    url = line.item.url_normalised
    if request.lines.count() == 1:
        _transition(
            request,
            S.CANCELLED,
            actor=by,
            extra={"reason": f"Its last URL was removed: {url}"},
        )
        request.closed_at = timezone.now()
        request.save(update_fields=["state", "closed_at", "updated_at"])
        return request
    line.delete()
    audit_record(
        actor=by,
        action="request.item_removed",
        target=request,
        old={"item": line.item_id, "url": url},
    )
    # The flag follows the items that remain.
    request.threat_to_life = request.lines.filter(item__threat_to_life=True).exists()
    request.save(update_fields=["threat_to_life", "updated_at"])
    return request


def deadline_for(request: RemovalRequest, *, sent_at: datetime) -> datetime:
    """The ladder's deadline (cases.selectors.ladder): a removal order's is the law's,
    24/7 on hours; a referral's counts from the platform's response target in days."""
    policy = ladder_policy_for(request_type=request.request_type, platform=request.platform)
    return sent_at + deadline_offset(policy, request.platform)


@transaction.atomic
def request_mark_sent(
    *, request: RemovalRequest, approver: Any, at: datetime | None = None
) -> RemovalRequest:
    """Awaiting approval → sent, by a supervisor other than the composer; starts the clock."""
    require_permission(approver, "cases.approve_request", "approve and send requests")
    request = lock_request(request)
    if request.composed_by_id is not None and request.composed_by_id == approver.pk:
        raise FourEyesViolation(
            f"You composed {request.reference}; another supervisor must approve and send it."
        )
    if request.submitted_by_id is not None and request.submitted_by_id == approver.pk:
        raise FourEyesViolation(
            f"You submitted {request.reference} for approval; "
            "another supervisor must approve and send it."
        )
    if (
        request.state == S.AWAITING_APPROVAL
        and not request.contacts.filter(is_active=True).exists()
    ):
        raise DomainError(
            f"{request.platform.name} has no active contact to send {request.reference} to; "
            "add one on the platform page first."
        )
    # A hold placed after the request was composed still wins: held items are never sent.
    active_hold = Hold.objects.filter(item=OuterRef("pk"), released_at__isnull=True)
    held = list(
        Item.objects.filter(Exists(active_hold), request_lines__request=request).values_list(
            "url_normalised", flat=True
        )
    )
    if request.state == S.AWAITING_APPROVAL and held:
        raise DomainError(
            f"{request.reference} contains items now on hold: {', '.join(sorted(held))}. "
            "Cancel it and compose a new one, or release the holds."
        )
    _transition(request, S.SENT, actor=approver)
    sent_at = at or timezone.now()
    request.approved_by = approver
    request.approved_at = sent_at
    request.sent_at = sent_at
    request.deadline = request.original_deadline = deadline_for(request, sent_at=sent_at)
    # Follow-ups are data: the sweeper (followups) picks the request up at its first rung.
    request.followup_stage = 0
    request.next_followup_at = rung_times(request)[LadderStep.FIRST_REMINDER]
    request.save()
    return request


@transaction.atomic
def request_pause_clock(
    *, request: RemovalRequest, at: datetime | None = None, actor_label: str = ""
) -> RemovalRequest:
    """A clarification question pauses a removal order's clock (TCO Art. 3(7)-(8))."""
    request = lock_request(request)
    if request.request_type != RequestType.REMOVAL_ORDER:
        raise DomainError("Only a removal order's legal clock can be paused.")
    if not request.is_open:
        raise IllegalTransition(f"Request {request.reference} is not open; its clock is stopped.")
    if request.clock_paused_at is not None:
        return request  # already paused: a second question does not restart the pause
    request.clock_paused_at = at or timezone.now()
    request.save(update_fields=["clock_paused_at", "updated_at"])
    audit_record(
        actor=None,
        actor_label=actor_label or "operator",
        action="request.clock_paused",
        target=request,
    )
    return request


@transaction.atomic
def request_resume_clock(
    *, request: RemovalRequest, by: Any, at: datetime | None = None
) -> RemovalRequest:
    """The unit answered the clarification: the deadline moves back by the pause."""
    request = lock_request(request)
    if request.clock_paused_at is None:
        raise IllegalTransition(f"The clock of {request.reference} is not paused.")
    resumed_at = at or timezone.now()
    pause = max(resumed_at - request.clock_paused_at, timedelta(0))
    request.total_pause += pause
    assert request.deadline is not None
    request.deadline += pause
    if request.next_followup_at is not None:
        request.next_followup_at += pause
    request.clock_paused_at = None
    request.save()
    audit_record(
        actor=by,
        action="request.clock_resumed",
        target=request,
        extra={"paused_seconds": int(pause.total_seconds())},
    )
    return request


@transaction.atomic
def request_mark_overdue(*, request: RemovalRequest) -> RemovalRequest:
    request = lock_request(request)
    _transition(request, S.OVERDUE, actor_label="system")
    request.save(update_fields=["state", "updated_at"])
    return request


@transaction.atomic
def request_escalate(
    *, request: RemovalRequest, by: Any = None, reason: str = ""
) -> RemovalRequest:
    request = lock_request(request)
    _transition(
        request,
        S.ESCALATED,
        actor=by,
        actor_label="" if by else "system",
        extra={"reason": reason} if reason else None,
    )
    request.save(update_fields=["state", "updated_at"])
    return request


@transaction.atomic
def request_close(*, request: RemovalRequest, by: Any = None, reason: str = "") -> RemovalRequest:
    request = lock_request(request)
    _transition(
        request,
        S.CLOSED,
        actor=by,
        actor_label="" if by else "system",
        extra={"reason": reason} if reason else None,
    )
    request.closed_at = timezone.now()
    request.next_followup_at = None
    request.save(update_fields=["state", "closed_at", "next_followup_at", "updated_at"])
    return request


def request_refresh_answer_state(
    request: RemovalRequest,
    *,
    actor_label: str = "",
    lines: Sequence[RequestItem] | None = None,
) -> None:
    """After an answer: every line answered → answered; some answered → partly answered.

    ``no_response`` is not an answer: a request the operator ignored never becomes "answered".
    Neither is ``needs_info``: the question must be answered first.

    Called with the request row already locked by the caller. ``lines``: every line of
    the request as it now stands (read under the same lock), to save counting them again.
    """
    # A question back to the unit (needs_info) is not settled either: the
    # request stays open until the operator answers after the clarification.
    still_open = (*UNANSWERED_OUTCOMES, Outcome.NEEDS_INFO)
    if lines is None:
        open_lines = request.lines.filter(outcome__in=still_open).count()
        all_lines = request.lines.count() if open_lines else 0
    else:
        open_lines = sum(1 for line in lines if line.outcome in still_open)
        all_lines = len(lines)
    if open_lines == 0 and S.ANSWERED in TRANSITIONS[request.state]:
        _transition(request, S.ANSWERED, actor_label=actor_label or "system")
        request.save(update_fields=["state", "updated_at"])
    elif request.state == S.SENT and open_lines < all_lines:
        _transition(request, S.PARTLY_ANSWERED, actor_label=actor_label or "system")
        request.save(update_fields=["state", "updated_at"])


NOTE_MAX_LENGTH = 10_000


@transaction.atomic
def request_note_add(*, request: RemovalRequest, author: Any, text: str) -> Correspondence:
    """A staff note on the request's timeline (internal: never sent to the operator)."""
    require_permission(author, "cases.add_correspondence", "add notes to requests")
    text = text.strip()
    if not text:
        raise DomainError("The note is empty.")
    if len(text) > NOTE_MAX_LENGTH:
        raise DomainError(f"A note can be at most {NOTE_MAX_LENGTH} characters long.")
    note = Correspondence.objects.create(
        request=request,
        direction=CorrespondenceDirection.INTERNAL,
        channel=CorrespondenceChannel.NOTE,
        author=author,
        body_text=text,
    )
    audit_record(actor=author, action="request.note_added", target=request, new={"note": note.pk})
    return note
