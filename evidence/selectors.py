"""Reads for the evidence pages."""

from __future__ import annotations

from typing import Any

from cases.models import Item
from evidence.models import CaptureAttempt

ATTEMPTS_SHOWN = 20


def evidence_for_item(item: Item) -> dict[str, Any]:
    """What the item's evidence page shows: held and purged evidence, the latest attempts."""
    return {
        "evidence": list(item.evidence.select_related("captured_by").order_by("-captured_at")),
        "attempts": list(
            CaptureAttempt.objects.filter(item=item)
            .select_related("requested_by")
            .order_by("-finished_at", "-id")[:ATTEMPTS_SHOWN]
        ),
        "waiting": item.capture_wanted_at is not None,
    }
