"""The filter forms of the compliance pages and the transparency report (GET forms)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from cases.models import Actor, LegalBasis, RequestType
from core.errors import DomainError
from core.widgets import compact_selects
from metrics.figures import MetricFilters
from platforms.filters import PlatformNameField, show_chosen_platform_name
from platforms.models import Platform, PlatformArchitecture, PlatformKind, PlatformTier


def _choices(enum: Any, empty: Any) -> list[tuple[str, Any]]:
    return [("", empty), *enum.choices]


def _country_choices() -> list[tuple[str, str]]:
    return [("", str(_("Any country"))), *((code, str(name)) for code, name in countries)]


class MetricFilterForm(forms.Form):
    """Which request items the figures count. Every field is optional ("all")."""

    start = forms.DateField(
        label=_("Sent from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("Sent before"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The end day is not included."),
    )
    # A name with suggestions, not a <select> of every platform (decision 0022).
    platform = PlatformNameField(label=_("Platform"), queryset=Platform.objects.all())
    tier = forms.ChoiceField(
        label=_("Tier"), required=False, choices=_choices(PlatformTier, _("Any tier"))
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=_choices(PlatformKind, _("Any kind"))
    )
    architecture = forms.ChoiceField(
        label=_("Architecture"), required=False, choices=_choices(PlatformArchitecture, _("Any"))
    )
    country = forms.ChoiceField(label=_("Country"), required=False, choices=_country_choices)
    legal_basis = forms.ChoiceField(
        label=_("Legal basis"), required=False, choices=_choices(LegalBasis, _("Any legal basis"))
    )
    request_type = forms.ChoiceField(
        label=_("Request type"), required=False, choices=_choices(RequestType, _("Any type"))
    )
    actor = forms.ModelChoiceField(
        label=_("Actor"),
        queryset=Actor.objects.order_by("name"),
        required=False,
        empty_label=_("Any actor"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # ~250 countries, every actor: one template per option cost ~40 ms a page.
        compact_selects(self)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = f"{css} form-control-sm"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            self.filters = self._filters(data)
        except DomainError as refused:
            raise forms.ValidationError(refused.message) from refused
        return data

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if valid and not getattr(self, "_shown_platform_name", False):
            self._shown_platform_name = True
            show_chosen_platform_name(self)  # a link's ?platform=<id> shows as the name
        return valid

    def _filters(self, data: dict[str, Any]) -> MetricFilters:
        def one(name: str) -> tuple[Any, ...]:
            value = data.get(name)
            if value in (None, ""):
                return ()
            return (value.pk if isinstance(value, Model) else value,)

        return MetricFilters(
            start=data.get("start"),
            end=data.get("end"),
            platform_ids=one("platform"),
            tiers=one("tier"),
            kinds=one("kind"),
            architectures=one("architecture"),
            countries=one("country"),
            legal_bases=one("legal_basis"),
            request_types=one("request_type"),
            actor_ids=one("actor"),
        )

    def error_text(self) -> str:
        parts = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            text = " ".join(str(e) for e in errors)
            parts.append(f"{label}: {text}" if label else text)
        return " ".join(parts)


def last_full_quarter(today: date) -> tuple[date, date]:
    """The last calendar quarter that has ended: [first day, first day of the next)."""
    this_quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    previous_end = this_quarter
    previous_start_month = this_quarter.month - 3
    if previous_start_month < 1:
        return date(today.year - 1, previous_start_month + 12, 1), previous_end
    return date(today.year, previous_start_month, 1), previous_end


class ReportPeriodForm(forms.Form):
    """The transparency report's period: half-open [start, end), days in the unit's time zone."""

    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        label=_("Until (not included)"), widget=forms.DateInput(attrs={"type": "date"})
    )

    MAX_DAYS = 3 * 366 + 1

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        if data is not None and not (data.get("start") or data.get("end")):
            data = None  # no period chosen: the default below, not "required" errors
        start, end = last_full_quarter(timezone.localdate())
        super().__init__(data, initial={"start": start, "end": end}, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-sm"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end <= start:
                raise forms.ValidationError(_("The end of the period must be after its start."))
            if end - start > timedelta(days=self.MAX_DAYS):
                raise forms.ValidationError(_("A report covers at most three years."))
        return data

    def period(self) -> tuple[date, date]:
        """The chosen period, or the last full quarter when none was chosen."""
        if self.is_bound:
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return self.initial["start"], self.initial["end"]

    def error_text(self) -> str:
        return " ".join(str(e) for errors in self.errors.values() for e in errors)
