"""Finding, deleting and counting the demo's rows.

The demo is recognised by its platforms and staff usernames. Deleting it takes everything
that hangs off them, including whatever someone did with the demo accounts or on the
demo platforms since: this is meant for a demo database, never for a unit's real one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count, Model, ProtectedError, Q, QuerySet, RestrictedError

from cases.models import (
    Actor,
    Case,
    Correspondence,
    Evidence,
    Hold,
    Item,
    ItemReferral,
    LadderPolicy,
    OutcomeRecord,
    ReferenceCounter,
    RemovalRequest,
    RequestItem,
)
from core.audit import audit_events_rewritable
from core.models import Alert, AuditEvent
from demo import dataset as data
from followups.models import ComposeSchedule
from metrics.models import MetricSnapshot
from platforms.models import Contact, Platform, PlatformDomain, UpstreamProvider

DEMO_USERNAMES = [username for username, _ in data.USERS]
DEMO_PLATFORM_NAMES = [spec.name for spec in data.PLATFORMS]


def demo_is_loaded() -> bool:
    """Any demo platform present counts: loading again would only clash with it."""
    return Platform.objects.filter(name__in=DEMO_PLATFORM_NAMES).exists()


def _ids(queryset: QuerySet[Any]) -> list[Any]:
    return list(queryset.values_list("pk", flat=True).distinct())


def _delete_with_dependants(queryset: QuerySet[Any]) -> None:
    """Delete the rows, first deleting whatever PROTECTs or RESTRICTs them, recursively.

    Generic on purpose: other apps keep adding rows that point at requests, correspondence
    or users (mail ledgers, portal links, checks), and a demo reset must not break on them.
    Django collects before it deletes, so a refused attempt has changed nothing.
    """
    while True:
        try:
            queryset.delete()
            return
        except (ProtectedError, RestrictedError) as exc:
            blockers = (
                exc.protected_objects
                if isinstance(exc, ProtectedError)
                else (exc.restricted_objects)
            )
            by_model: dict[type[Model], list[Any]] = defaultdict(list)
            for row in blockers:
                by_model[type(row)].append(row.pk)
            for model, pks in by_model.items():
                _delete_with_dependants(model._base_manager.filter(pk__in=pks))


def demo_delete() -> None:
    """Delete the demo's rows, everything attached to them, and their audit events.

    The audit trail is append-only; the demo's own events are the one exception
    (``audit_events_rewritable`` refuses under production settings). The row-level
    trail (core.RowChange) still records every deletion.
    """
    with audit_events_rewritable():
        _demo_delete()


def _demo_delete() -> None:
    users = _ids(get_user_model().objects.filter(username__in=DEMO_USERNAMES))
    # Settings the demo's supervisors last changed stay, without their name: deleting
    # them with the users would leave the unit without a ladder or a schedule.
    LadderPolicy.objects.filter(updated_by__in=users).update(updated_by=None)
    ComposeSchedule.objects.filter(updated_by__in=users).update(updated_by=None)
    MetricSnapshot.objects.filter(computed_by__in=users).update(computed_by=None)
    platforms = _ids(Platform.objects.filter(name__in=DEMO_PLATFORM_NAMES))
    items = _ids(Item.objects.filter(Q(platform__in=platforms) | Q(created_by__in=users)))
    audited: dict[type[Model], list[Any]] = {
        Platform: platforms,
        Contact: _ids(Contact.objects.filter(platform__in=platforms)),
        Item: items,
        RemovalRequest: _ids(
            RemovalRequest.objects.filter(Q(platform__in=platforms) | Q(lines__item__in=items))
        ),
        Case: _ids(Case.objects.filter(created_by__in=users)),
        Actor: _ids(Actor.objects.filter(name__in=[actor.name for actor in data.ACTORS])),
    }
    for evidence in Evidence.objects.filter(item__in=items):
        evidence.file.delete(save=False)  # the rows go below, with their items
    # Requests first (they hold items and correspondence), then items, cases, actors and
    # platforms; each step takes along whatever still depends on its rows.
    deletion_order: list[type[Model]] = [RemovalRequest, Item, Case, Actor, Platform]
    for model in deletion_order:
        _delete_with_dependants(model._base_manager.filter(pk__in=audited[model]))
    for model, pks in audited.items():
        # Alerts about demo rows (threat-to-life referrals) go with them.
        Alert.objects.filter(
            target_type=model._meta.label_lower, target_id__in=[str(pk) for pk in pks]
        ).delete()
        AuditEvent.objects.filter(
            target_type=model._meta.label_lower, target_id__in=[str(pk) for pk in pks]
        ).delete()
    AuditEvent.objects.filter(actor__in=users).delete()
    _delete_with_dependants(get_user_model().objects.filter(pk__in=users))
    if not RemovalRequest.objects.exists():
        # Nothing else numbered: the reloaded demo gets the same references again.
        ReferenceCounter.objects.all().delete()


def demo_counts() -> dict[str, int]:
    """Row counts per model, for the summary and for comparing two runs."""
    models: list[type[Model]] = [
        get_user_model(),
        Group,
        Platform,
        PlatformDomain,
        Contact,
        UpstreamProvider,
        Actor,
        Case,
        Item,
        ItemReferral,
        Hold,
        RemovalRequest,
        RequestItem,
        OutcomeRecord,
        Correspondence,
        AuditEvent,
    ]
    return {model._meta.label: model._default_manager.count() for model in models}


def demo_breakdown() -> dict[str, dict[str, int]]:
    """Items by status, requests by state, request lines by (latest) outcome."""

    def by(queryset: object, field: str) -> dict[str, int]:
        rows = queryset.values(field).annotate(n=Count("pk")).order_by(field)  # type: ignore[attr-defined]
        return {row[field]: row["n"] for row in rows}

    return {
        "items by status": by(Item.objects, "status"),
        "requests by state": by(RemovalRequest.objects, "state"),
        "requests by type": by(RemovalRequest.objects, "request_type"),
        "request items by outcome": by(RequestItem.objects, "outcome"),
        "outcome records by source": by(OutcomeRecord.objects, "source"),
    }
