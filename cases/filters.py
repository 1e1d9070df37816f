"""Filters and sorting of the item and case lists (django-filter)."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.db.models import Exists, OuterRef, QuerySet
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
from cases.selectors.items import DEFAULT_ITEM_SORT, items_matching
from platforms.filters import PlatformNameFilter, show_chosen_platform_name
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
    # A name with suggestions, not a <select> of every platform (decision 0022).
    platform = PlatformNameFilter(
        queryset=Platform.objects.all(),
        null_label=_("Unknown platform"),
        label=_("Platform"),
        help_text=_("Type a name; “null” for items with no platform."),
    )
    # A validated case number, not a <select> of every case (5,000 options at scale);
    # the case page links here, and the chosen case's title shows under the field.
    case = filters.ModelChoiceFilter(
        queryset=Case.objects.all(),
        null_label=_("No case"),
        label=_("Case number"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        help_text=_("“null” for items in no case."),
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_chosen_platform_name(self.form)
        chosen_case = self.form.cleaned_data.get("case") if self.form.is_valid() else None
        if isinstance(chosen_case, Case):
            self.form.fields["case"].help_text = chosen_case.title

    def search(self, queryset: QuerySet[Item], name: str, value: str) -> QuerySet[Item]:
        return items_matching(queryset, value)

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
