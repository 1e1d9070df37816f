"""Filters and sorting of the item and case lists (django-filter)."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from cases.forms import style_widgets
from cases.models import (
    Actor,
    Case,
    CaseStatus,
    Hold,
    Item,
    ItemCategory,
    ItemStatus,
    LegalBasis,
)
from cases.selectors.cases import DEFAULT_CASE_SORT
from cases.selectors.items import DEFAULT_ITEM_SORT
from platforms.models import Platform

ITEM_SORT_LABELS = {
    "newest": _("Newest first"),
    "oldest": _("Oldest first"),
    "url": _("URL"),
    "platform": _("Platform"),
}
CASE_SORT_LABELS = {"newest": _("Newest first"), "oldest": _("Oldest first"), "title": _("Title")}


class _StyledFilterSet(filters.FilterSet):
    sort_choices: dict[str, Any] = {}
    default_sort = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self.form)

    @property
    def sort(self) -> str:
        """The whitelisted ``?sort=`` value (the default for anything else)."""
        value = self.form.cleaned_data.get("sort") if self.form.is_valid() else None
        return value if value in self.sort_choices else self.default_sort

    def keep(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        return queryset  # sorting is applied by keyset pagination, not as a filter

    def only_if_ticked(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        # A checkbox: ticked narrows the list, unticked means "all", never "only false".
        return queryset.filter(**{name: True}) if value else queryset


def _checkbox(label: Any) -> filters.BooleanFilter:
    return filters.BooleanFilter(label=label, widget=forms.CheckboxInput, method="only_if_ticked")


class ItemFilter(_StyledFilterSet):
    sort_choices = ITEM_SORT_LABELS
    default_sort = DEFAULT_ITEM_SORT

    q = filters.CharFilter(method="search", label=_("URL contains"))
    status = filters.ChoiceFilter(choices=ItemStatus.choices, label=_("Status"))
    platform = filters.ModelChoiceFilter(
        queryset=Platform.objects.order_by("name"),
        null_label=_("Unknown platform"),
        label=_("Platform"),
    )
    case = filters.ModelChoiceFilter(
        queryset=Case.objects.order_by("-created_at", "-id"),
        null_label=_("No case"),
        label=_("Case"),
    )
    category = filters.ChoiceFilter(choices=ItemCategory.choices, label=_("Category"))
    legal_basis = filters.ChoiceFilter(choices=LegalBasis.choices, label=_("Legal basis"))
    threat_to_life = _checkbox(_("Threat to life only"))
    on_hold = filters.BooleanFilter(
        label=_("On hold only"), widget=forms.CheckboxInput, method="held"
    )
    sort = filters.ChoiceFilter(
        choices=list(ITEM_SORT_LABELS.items()),
        empty_label=None,
        method="keep",
        label=_("Sort by"),
    )

    class Meta:
        model = Item
        fields: list[str] = []

    def search(self, queryset: QuerySet[Item], name: str, value: str) -> QuerySet[Item]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(url_normalised__icontains=value) | Q(url_submitted__icontains=value)
        )

    def held(self, queryset: QuerySet[Item], name: str, value: Any) -> QuerySet[Item]:
        if not value:
            return queryset
        return queryset.filter(
            Exists(Hold.objects.filter(item=OuterRef("pk"), released_at__isnull=True))
        )


class CaseFilter(_StyledFilterSet):
    sort_choices = CASE_SORT_LABELS
    default_sort = DEFAULT_CASE_SORT

    q = filters.CharFilter(field_name="title", lookup_expr="icontains", label=_("Title contains"))
    status = filters.ChoiceFilter(choices=CaseStatus.choices, label=_("Status"))
    actor = filters.ModelChoiceFilter(
        queryset=Actor.objects.order_by("name"), null_label=_("No actor"), label=_("Actor")
    )
    sort = filters.ChoiceFilter(
        choices=list(CASE_SORT_LABELS.items()),
        empty_label=None,
        method="keep",
        label=_("Sort by"),
    )

    class Meta:
        model = Case
        fields: list[str] = []
