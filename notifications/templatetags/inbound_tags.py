"""The request page's "replies by email" panel, rendered by notifications for cases' template.

``cases`` must not import ``notifications``, so the request detail template
loads this tag instead of its view passing the data in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template

from cases.forms.requests import OFFICER_OUTCOMES
from cases.models import (
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    Outcome,
    RemovalRequest,
    RequestItem,
)
from cases.services.outcomes import ANSWERABLE_STATES

register = template.Library()

# The one-click answers; anything rarer goes through the full "Record" form per URL.
QUICK_OUTCOMES = (
    Outcome.REMOVED,
    Outcome.ACCESS_DISABLED,
    Outcome.ALREADY_GONE,
    Outcome.REFUSED_NOT_VIOLATING,
    Outcome.UNABLE,
    Outcome.NEEDS_INFO,
)


@register.inclusion_tag("notifications/inbound/_replies.html", takes_context=True)
def inbound_replies(
    context: template.Context, rr: RemovalRequest, lines: Sequence[RequestItem] | None = None
) -> dict[str, Any]:
    """``lines``: the URLs the page shows (one page of a long request); each reply's form
    offers those, and its "All URLs" buttons every URL of the request. Without them, every
    line is read (a short request's page)."""
    http_request = context.get("request")
    user = getattr(http_request, "user", None)
    replies = list(
        Correspondence.objects.filter(
            request=rr,
            direction=CorrespondenceDirection.INBOUND,
            channel=CorrespondenceChannel.EMAIL,
        )
        .defer("raw")
        .select_related("inbound_mail", "contact")
        .prefetch_related("inbound_attachments")
        .order_by("-created_at", "-id")
    )
    labels = dict(OFFICER_OUTCOMES)
    errors = context.get("errors") or {}
    return {
        "rr": rr,
        "replies": [
            {
                "row": row,
                "mail": getattr(row, "inbound_mail", None),
                "error": errors.get(f"inbound_reply_{row.pk}", ""),
            }
            for row in replies
        ],
        "lines": _lines(rr, lines) if replies else [],
        "quick_outcomes": [(value.value, labels[value]) for value in QUICK_OUTCOMES],
        "can_record": bool(user and user.has_perm("cases.record_outcome"))
        and rr.state in ANSWERABLE_STATES,
        "csrf_token": context.get("csrf_token"),
    }


def _lines(rr: RemovalRequest, shown: Sequence[RequestItem] | None) -> list[RequestItem]:
    if shown is not None:
        return list(shown)
    return list(rr.lines.select_related("item").order_by("id"))
