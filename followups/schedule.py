"""When the weekly compose is due: the period function scheduling.jobs calls at every tick.

The period is the ISO week (Monday 00:00 in the unit's time zone). It becomes due
once this week's configured weekday and time have passed, and stays due for the
rest of the week, so a beat that was down at 06:00 catches up at its next tick;
the JobRun row claimed for the week makes sure the compose runs once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from followups.models import ComposeSchedule
from followups.selectors import compose_schedule_get


def week_start(now: datetime) -> datetime:
    """Monday 00:00 of ``now``'s ISO week in the unit's time zone (aware)."""
    local_date = timezone.localtime(now).date()
    monday = local_date - timedelta(days=local_date.weekday())
    return timezone.make_aware(datetime.combine(monday, datetime.min.time()))


def compose_due_at(now: datetime, schedule: ComposeSchedule) -> datetime:
    """This week's planned compose time, as an aware datetime (DST-correct for that day)."""
    day = week_start(now).date() + timedelta(days=schedule.weekday)
    return timezone.make_aware(datetime.combine(day, schedule.time_of_day))


def weekly_compose_period(now: datetime) -> datetime | None:
    schedule = compose_schedule_get()
    if not schedule.enabled:
        return None
    if now < compose_due_at(now, schedule):
        return None
    return week_start(now)
