"""Search and filters of the staff platform list."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from platforms.forms import CompactSelect
from platforms.models import (
    OperatorCanAct,
    Platform,
    PlatformArchitecture,
    PlatformKind,
    PlatformStatus,
    PlatformTier,
)
from platforms.selectors import platforms_matching


def _country_choices() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in countries]


class PlatformFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Name or domain"),
        method="filter_search",
        max_length=300,
        widget=forms.SearchInput(attrs={"class": "form-control form-control-sm"}),
    )
    tier = django_filters.ChoiceFilter(
        choices=PlatformTier.choices, label=_("Tier"), empty_label=_("Any tier")
    )
    kind = django_filters.ChoiceFilter(
        choices=PlatformKind.choices, label=_("Kind"), empty_label=_("Any kind")
    )
    architecture = django_filters.ChoiceFilter(
        choices=PlatformArchitecture.choices,
        label=_("Architecture"),
        empty_label=_("Any architecture"),
    )
    country = django_filters.ChoiceFilter(
        choices=_country_choices,
        label=_("Country"),
        empty_label=_("Any country"),
    )
    status = django_filters.ChoiceFilter(
        choices=PlatformStatus.choices, label=_("Status"), empty_label=_("Any status")
    )
    operator_can_act = django_filters.ChoiceFilter(
        choices=OperatorCanAct.choices,
        label=_("Operator can act"),
        empty_label=_("Any"),
    )

    class Meta:
        model = Platform
        fields = ["q", "tier", "kind", "architecture", "country", "status", "operator_can_act"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.form.fields.items():
            if name != "q":
                # Rendered in Python: the country list alone has ~250 options.
                field.widget = CompactSelect(
                    attrs={"class": "form-select form-select-sm"}, choices=field.choices
                )

    def filter_search(
        self, queryset: QuerySet[Platform], name: str, value: str
    ) -> QuerySet[Platform]:
        return platforms_matching(queryset, value)
