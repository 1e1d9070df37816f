"""Threat-to-life items: supervisors hear of them the moment they are referred (issue 10, 13).

They never wait for the weekly referral (``cases.services.requests.weekly_ready_items``
leaves them out); once approved they are composed on their own from the compose page
("threat-to-life items only"). The alert is in-app (core.alerts, below cases) and emailed to
every supervisor with an address (notifications.staff_alerts listens; decision 0018).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import reverse

from cases.models import Item
from core.alerts import alert_raise
from core.models import Alert

# Supervisors review (four-eyes) and then compose the item's own request.
REVIEWER_PERMISSION = "cases.review_item"
LISTED_URLS = 10


def items_alert_threat_to_life(*, items: Sequence[Item], referred_by: Any) -> Alert | None:
    """One alert for the threat-to-life items among ``items`` just referred (None if none)."""
    urgent = [item for item in items if item.threat_to_life]
    if not urgent:
        return None
    who = referred_by.get_full_name() or referred_by.get_username()
    urls = [item.url_normalised for item in urgent[:LISTED_URLS]]
    more = len(urgent) - len(urls)
    message = "Review and send at once (compose: threat-to-life items only): " + ", ".join(urls)
    if more:
        message += f" and {more} more."
    first = urgent[0]
    return alert_raise(
        permission=REVIEWER_PERMISSION,
        title=f"Threat to life: {len(urgent)} URL(s) referred by {who}",
        message=message,
        url=reverse("items:detail", args=[first.pk]),
        target=first,
        key=f"item-threat-to-life-{first.pk}",
        email=True,
    )
