"""Input for the removal-request pages: list filters and the action forms."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from cases.models import (
    LegalBasis,
    Outcome,
    RemovalRequest,
    RequestItem,
    RequestState,
    RequestType,
)
from cases.selectors.requests import (
    requests_matching,
    requests_needing_web_form,
    requests_overdue,
    requests_with_open_question,
)
from platforms.filters import PlatformNameFilter, PlatformNameInput, show_chosen_platform_name
from platforms.models import Platform, PlatformKind

TEXT_MAX_LENGTH = 10_000


class RequestFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method="filter_search", help_text=_("Reference or platform")
    )
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=RequestState.choices, empty_label=_("Any state")
    )
    request_type = django_filters.ChoiceFilter(
        label=_("Type"), choices=RequestType.choices, empty_label=_("Any type")
    )
    # A name with suggestions, not a <select> of every platform (decision 0022).
    platform = PlatformNameFilter(
        label=_("Platform"),
        queryset=Platform.objects.exclude(kind=PlatformKind.INFRASTRUCTURE),
        widget=PlatformNameInput(attrs={"class": "form-control"}),
    )
    overdue = django_filters.BooleanFilter(
        label=_("Overdue"), method="filter_overdue", widget=forms.CheckboxInput
    )
    clarification = django_filters.BooleanFilter(
        label=_("Clarification pending"),
        method="filter_clarification",
        widget=forms.CheckboxInput,
    )
    web_form = django_filters.BooleanFilter(
        label=_("Web form to submit"), method="filter_web_form", widget=forms.CheckboxInput
    )

    class Meta:
        model = RemovalRequest
        fields = ["q", "state", "request_type", "platform", "overdue", "clarification", "web_form"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_chosen_platform_name(self.form)

    def filter_search(
        self, queryset: QuerySet[RemovalRequest], name: str, value: str
    ) -> QuerySet[RemovalRequest]:
        return requests_matching(queryset, value)

    def filter_overdue(
        self, queryset: QuerySet[RemovalRequest], name: str, value: bool | None
    ) -> QuerySet[RemovalRequest]:
        return requests_overdue(queryset) if value else queryset

    def filter_clarification(
        self, queryset: QuerySet[RemovalRequest], name: str, value: bool | None
    ) -> QuerySet[RemovalRequest]:
        return requests_with_open_question(queryset) if value else queryset

    def filter_web_form(
        self, queryset: QuerySet[RemovalRequest], name: str, value: bool | None
    ) -> QuerySet[RemovalRequest]:
        return requests_needing_web_form(queryset) if value else queryset


class ComposeScope:
    ALL = "all"
    THREAT_TO_LIFE = "threat_to_life"


class ComposeOneForm(forms.Form):
    """One request to one platform now, outside the weekly cycle (orders, threats to life)."""

    platform = forms.ModelChoiceField(
        label=_("Platform"), queryset=Platform.objects.none(), empty_label=None
    )
    request_type = forms.ChoiceField(
        label=_("Type"), choices=RequestType.choices, initial=RequestType.REMOVAL_ORDER
    )
    legal_basis = forms.ChoiceField(
        label=_("Legal basis"),
        choices=[("", _("Default for the type and items")), *LegalBasis.choices],
        required=False,
    )
    scope = forms.ChoiceField(
        label=_("Items"),
        choices=[
            (ComposeScope.ALL, _("All approved items waiting for this platform")),
            (ComposeScope.THREAT_TO_LIFE, _("Only its threat-to-life items")),
        ],
        initial=ComposeScope.ALL,
        widget=forms.RadioSelect,
    )
    is_emergency = forms.BooleanField(
        label=_("Emergency (TCO Art. 3(2): no 12 hours' advance notice needed)"),
        required=False,
    )

    def __init__(self, *args: Any, platforms: QuerySet[Platform], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        platform_field = self.fields["platform"]
        assert isinstance(platform_field, forms.ModelChoiceField)
        platform_field.queryset = platforms


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class OptionalReasonForm(ReasonForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = False


# An officer relays an answer; "no response" is the system's and "pending" is not an answer.
OFFICER_OUTCOMES = [
    (value, label)
    for value, label in Outcome.choices
    if value not in (Outcome.PENDING, Outcome.NO_RESPONSE)
]


class RecordOutcomeForm(forms.Form):
    """An answer the operator gave outside the portal (phone, letter), recorded by an officer."""

    line = forms.ModelChoiceField(label=_("URL"), queryset=RequestItem.objects.none())
    outcome = forms.ChoiceField(label=_("Outcome"), choices=OFFICER_OUTCOMES)
    reason = forms.CharField(
        label=_("What the operator said"),
        max_length=TEXT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, request: RemovalRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        line_field = self.fields["line"]
        assert isinstance(line_field, forms.ModelChoiceField)
        # Only this request's lines: a line id from another request is "not a valid choice".
        line_field.queryset = RequestItem.objects.filter(request=request).select_related("item")


class RemoveItemForm(forms.Form):
    """Which URL to take out of a draft (one of this request's lines only)."""

    line = forms.ModelChoiceField(label=_("URL"), queryset=RequestItem.objects.none())

    def __init__(self, *args: Any, request: RemovalRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        line_field = self.fields["line"]
        assert isinstance(line_field, forms.ModelChoiceField)
        line_field.queryset = RequestItem.objects.filter(request=request).select_related("item")


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Internal: never sent to the operator."),
    )
