"""The portal panel on the staff request page (cases must not import portal, so it loads this)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from cases.models import Outcome, OutcomeRecord, RemovalRequest
from portal.models import PortalLink
from portal.services import DEAD_REQUEST_STATES

register = template.Library()


@register.inclusion_tag("portal/_links.html", takes_context=True)
def portal_links(context: template.Context, removal_request: RemovalRequest) -> dict[str, Any]:
    user = context.get("user")
    now = timezone.now()
    links = [
        {
            "link": link,
            "state": "revoked"
            if link.revoked_at
            else ("expired" if link.expires_at <= now else "active"),
        }
        for link in PortalLink.objects.filter(request=removal_request).select_related(
            "contact", "revoked_by"
        )
    ]
    # Open questions: lines whose latest answer is needs_info, with the record that asked
    # (one query; the newest needs_info record per line wins).
    asked: dict[int, OutcomeRecord] = {}
    records = (
        OutcomeRecord.objects.filter(
            line__request=removal_request,
            line__outcome=Outcome.NEEDS_INFO,
            outcome=Outcome.NEEDS_INFO,
        )
        .select_related("contact", "line__item")
        .order_by("recorded_at", "id")
    )
    for record in records:
        asked[record.line_id] = record
    questions = [{"line": record.line, "record": record} for record in asked.values()]
    return {
        "rr": removal_request,
        "links": links,
        "questions": questions,
        "can_revoke": bool(user and user.has_perm("cases.approve_request")),
        # A link can be re-issued (emailed anew) while the request takes answers.
        "rr_open": removal_request.state not in DEAD_REQUEST_STATES,
        "can_answer": bool(user and user.has_perm("cases.record_outcome")),
        "csrf_token": context.get("csrf_token"),
    }
