"""Search and filters of the staff platform list."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from core.widgets import CompactSelect
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


# --- choosing one platform in another list's filter ---------------------------------------

# Suggestions the autocomplete returns at most: a datalist, never every platform.
SUGGESTION_LIMIT = 20
NO_PLATFORM = "null"


class PlatformNameInput(forms.TextInput):
    """A text input with a datalist that htmx fills with up to 20 names as the user types."""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        list_id = f"{widget_attrs.get('id') or name}-suggestions"
        widget_attrs.update(
            {
                "list": list_id,
                "autocomplete": "off",
                "hx-get": reverse("platforms:suggest"),
                "hx-trigger": "input changed delay:250ms",
                "hx-target": f"#{list_id}",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        )
        return context

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        html = super().render(name, value, attrs, renderer)
        list_id = f"{(attrs or {}).get('id') or self.attrs.get('id') or name}-suggestions"
        return format_html('{}<datalist id="{}"></datalist>', html, list_id)


class PlatformNameField(forms.Field):
    """One platform typed by name (or id, from a link), validated with one query.

    Replaces a <select> of every platform (2,000 options made the item list 10x slower).
    Cleans to a Platform, to ``NO_PLATFORM`` for "no platform", or to None when empty.
    The input offers name suggestions from ``platforms:suggest`` (htmx fills a datalist);
    without JavaScript a whole name, any case, still works.
    """

    widget = PlatformNameInput

    def __init__(self, *, queryset: QuerySet[Platform], null_label: Any = None, **kwargs: Any):
        self.queryset = queryset
        self.null_label = null_label
        kwargs["required"] = False
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        text = (value or "").strip()
        if not text:
            return None
        if text == NO_PLATFORM and self.null_label is not None:
            return NO_PLATFORM
        if len(text) > 300:
            raise forms.ValidationError(_("A platform name is at most 300 characters."))
        if text.isdigit() and len(text) < 12:
            found = self.queryset.filter(pk=int(text)).first()
        else:
            found = self.queryset.filter(name__iexact=text).first()
        if found is None:
            raise forms.ValidationError(
                _("No platform is called “%(name)s”: pick one of the suggestions.") % {"name": text}
            )
        return found


class PlatformNameFilter(django_filters.Filter):
    """Items or requests of one platform (or of none, ``?platform=null``)."""

    field_class = PlatformNameField

    def __init__(self, *args: Any, queryset: QuerySet[Platform], null_label: Any = None, **kw: Any):
        super().__init__(*args, queryset=queryset, null_label=null_label, **kw)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if value is None:
            return qs
        if value == NO_PLATFORM:
            return qs.filter(**{f"{self.field_name}__isnull": True})
        return qs.filter(**{self.field_name: value})


def show_chosen_platform_name(form: forms.Form, name: str = "platform") -> None:
    """After validation, show the chosen platform by its name, not the id a link carried."""
    chosen = form.cleaned_data.get(name) if form.is_valid() else None
    if isinstance(chosen, Platform):
        data = form.data.copy()  # type: ignore[attr-defined]  # a QueryDict
        data[form.add_prefix(name)] = chosen.name
        form.data = data
