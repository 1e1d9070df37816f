"""Reads for the follow-ups page and the schedule."""

from __future__ import annotations

from followups.models import ComposeSchedule


def compose_schedule_get() -> ComposeSchedule:
    """The schedule row, or the unsaved default (Monday 06:00) if it was never created.

    Never writes: beat ticks and GET pages call it.
    """
    return ComposeSchedule.objects.filter(pk=1).first() or ComposeSchedule(pk=1)
