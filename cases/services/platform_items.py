"""A platform registered for the items that were waiting for it.

Platforms sit below cases (cases -> platforms -> core) and signals are not used, so the
"register a platform from the intake summary, and give it its items" flow is orchestrated
here: ``platforms.services.platform_create`` registers it, then ``items_claim_for_platform``
gives it, in one UPDATE, the items with no platform that it now serves.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from cases.models import Item
from core.access import require_permission
from core.models import AuditEvent
from platforms.models import Platform
from platforms.selectors import platforms_for_hosts
from platforms.services import platform_create


def items_claim_for_platform(*, platform: Platform, actor: Any) -> int:
    """Give ``platform`` the items without a platform whose host it serves; how many.

    "Serves" is the intake's longest-suffix rule (``platforms_for_hosts``): an item on
    blog.example.org stays unclaimed by a new example.org platform while another platform
    registered blog.example.org itself. Items that already have a platform are never moved.
    A fixed number of queries however many items wait: the candidate hosts, their platforms,
    one UPDATE … RETURNING, one bulk insert of audit events.
    """
    domains = list(platform.domains.values_list("domain", flat=True))
    if not domains:
        return 0
    serves = Q()
    for domain in domains:
        serves |= Q(host=domain) | Q(host__endswith="." + domain)
    hosts = set(
        Item.objects.filter(serves, platform__isnull=True).values_list("host", flat=True).distinct()
    )
    owned = [host for host, owner in platforms_for_hosts(hosts).items() if owner == platform]
    if not owned:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        # The IS NULL is re-checked under the row lock: an item a concurrent intake matched a
        # moment ago keeps that platform.
        cursor.execute(
            f"UPDATE {Item._meta.db_table} SET platform_id = %s"  # noqa: S608 (table name)
            " WHERE platform_id IS NULL AND host = ANY(%s) RETURNING id",
            [platform.pk, owned],
        )
        claimed = [row[0] for row in cursor.fetchall()]
        user = actor if getattr(actor, "is_authenticated", False) else None
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    actor=user,
                    actor_label="" if user else "system",
                    action="item.platform_matched",
                    target_type=Item._meta.label_lower,
                    target_id=str(pk),
                    old={"platform": None},
                    new={"platform": platform.pk, "name": platform.name},
                    extra={"via": "platform registered"},
                )
                for pk in claimed
            ],
            batch_size=1000,
        )
    return len(claimed)


@transaction.atomic
def platform_register_for_items(
    *, actor: Any, domains: list[str], **fields: Any
) -> tuple[Platform, int]:
    """Register a platform and claim its waiting items at once; the platform and how many.

    All or nothing: a refused platform (a taken domain or name) claims nothing.
    """
    require_permission(actor, "platforms.add_platform", "register platforms")
    require_permission(actor, "cases.change_item", "change items")
    platform = platform_create(actor=actor, domains=domains, **fields)
    return platform, items_claim_for_platform(platform=platform, actor=actor)
