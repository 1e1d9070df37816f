"""When the weekly compose runs: one row, edited by a supervisor on the follow-ups page."""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Weekday(models.IntegerChoices):
    # ISO weekday numbers minus one, as datetime.weekday() returns them.
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


DEFAULT_WEEKDAY = Weekday.MONDAY
DEFAULT_TIME = time(6, 0)


class ComposeSchedule(models.Model):
    """The weekly compose's day and time in the unit's time zone (settings.TIME_ZONE).

    A singleton (pk 1). Beat does not read it: ``followups.schedule`` does, at
    every tick, so an edit takes effect without restarting anything.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, default=DEFAULT_WEEKDAY)
    time_of_day = models.TimeField(default=DEFAULT_TIME)
    enabled = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="compose_schedule_singleton"),
            models.CheckConstraint(
                condition=Q(weekday__gte=0) & Q(weekday__lte=6), name="compose_schedule_weekday"
            ),
        ]

    def __str__(self) -> str:
        state = "" if self.enabled else " (disabled)"
        return f"Weekly compose {Weekday(self.weekday).label} {self.time_of_day:%H:%M}{state}"
