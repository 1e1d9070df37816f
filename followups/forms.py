"""Forms of the follow-ups page: the weekly compose schedule and the ladders.

A ladder step is typed as an amount and a unit (minutes, hours, days), with
the two special choices the ladder knows: "at the platform's response target"
for a referral's first reminder, and "the legal deadline" for a removal order.
The forms only turn input into durations; the rules live in
``cases.services.ladder`` and come back as form errors.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from cases.models import LadderPolicy, RequestType
from followups.models import ComposeSchedule
from platforms.models import Platform

MINUTES, HOURS, DAYS = "minutes", "hours", "days"
RESPONSE_TARGET, LEGAL = "target", "legal"
UNIT_SIZES = {MINUTES: timedelta(minutes=1), HOURS: timedelta(hours=1), DAYS: timedelta(days=1)}
PLAIN_UNITS = [(MINUTES, _("minutes")), (HOURS, _("hours")), (DAYS, _("days"))]
STEPS = ("first", "second", "escalate", "deadline")


class ComposeScheduleForm(forms.ModelForm):
    class Meta:
        model = ComposeSchedule
        fields = ["weekday", "time_of_day", "enabled"]
        labels = {
            "weekday": _("Day"),
            "time_of_day": _("Time (unit time)"),
            "enabled": _("Compose the weekly drafts automatically"),
        }
        widgets = {
            "weekday": forms.Select(attrs={"class": "form-select"}),
            "time_of_day": forms.TimeInput(
                format="%H:%M", attrs={"class": "form-control", "type": "time"}
            ),
            "enabled": forms.CheckboxInput(attrs={"class": "form-check-input"}),
        }


def _amount(label: StrOrPromise) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=1,
        max_value=525_600,  # a year in minutes; the service refuses more than a year anyway
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )


def _unit(label: StrOrPromise, extra: list[tuple[str, Any]] | None = None) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=[*(extra or []), *PLAIN_UNITS],
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class LadderForm(forms.Form):
    request_type = forms.ChoiceField(
        label=_("Request type"),
        choices=RequestType.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    platform = forms.ModelChoiceField(
        queryset=Platform.objects.order_by("name"),
        required=False,
        label=_("Platform"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    first_amount = _amount(_("First reminder after sending"))
    first_unit = _unit(_("unit"), [(RESPONSE_TARGET, _("at the platform's response target"))])
    second_amount = _amount(_("Second reminder after the first"))
    second_unit = _unit(_("unit"))
    escalate_amount = _amount(_("Escalation after the first reminder"))
    escalate_unit = _unit(_("unit"))
    deadline_amount = _amount(_("Deadline after the first reminder"))
    deadline_unit = _unit(_("unit"), [(LEGAL, _("the legal deadline (removal orders)"))])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The unit select sits in the amount's input group, under the amount's label.
        for step in STEPS:
            amount_label = self.fields[f"{step}_amount"].label
            self.fields[f"{step}_unit"].widget.attrs["aria-label"] = f"{amount_label}: " + str(
                _("unit")
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for step in STEPS:
            unit = data.get(f"{step}_unit")
            amount = data.get(f"{step}_amount")
            if unit in UNIT_SIZES and amount is None:
                self.add_error(f"{step}_amount", _("Enter a number, or choose another unit."))
        return data

    def duration(self, step: str) -> timedelta | None:
        unit = self.cleaned_data[f"{step}_unit"]
        if unit not in UNIT_SIZES:
            return None
        return int(self.cleaned_data[f"{step}_amount"]) * UNIT_SIZES[unit]

    def durations(self) -> dict[str, timedelta | None]:
        return {
            "first_reminder_after": self.duration("first"),
            "second_reminder_after": self.duration("second"),
            "escalate_after": self.duration("escalate"),
            "deadline_after": self.duration("deadline"),
        }

    @classmethod
    def initial_for(cls, policy: LadderPolicy) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "request_type": policy.request_type,
            "platform": policy.platform_id,
        }
        values = {
            "first": policy.first_reminder_after,
            "second": policy.second_reminder_after,
            "escalate": policy.escalate_after,
            "deadline": policy.deadline_after,
        }
        for step, value in values.items():
            if value is None:
                initial[f"{step}_unit"] = RESPONSE_TARGET if step == "first" else LEGAL
                continue
            amount, unit = _largest_unit(value)
            initial[f"{step}_amount"], initial[f"{step}_unit"] = amount, unit
        return initial


def _largest_unit(value: timedelta) -> tuple[int, str]:
    for unit in (DAYS, HOURS, MINUTES):
        size = UNIT_SIZES[unit]
        if value % size == timedelta(0):
            return value // size, unit
    return int(value.total_seconds() // 60), MINUTES
