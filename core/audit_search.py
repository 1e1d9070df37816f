"""The audit search page for admins: service-level events and row-level changes, filtered,
paged by keyset, exported as CSV. Reads only; nothing here changes the trail."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.csv_export import Column, invalid_filters_response, queryset_csv_response
from core.decorators import staff_view
from core.models import AuditEvent, RowChange
from core.pagination import keyset_page

EVENT_ORDERING = ("-created_at", "-id")
ROW_ORDERING = ("-id",)


class AuditSearchForm(forms.Form):
    """Every filter is optional; dates are whole days in the unit's time zone, half-open."""

    KIND_CHOICES = (("events", _("Events")), ("rows", _("Row changes")))

    kind = forms.ChoiceField(choices=KIND_CHOICES, required=False, label=_("Trail"))
    actor = forms.CharField(max_length=150, required=False, label=_("Actor (username)"))
    action = forms.CharField(max_length=100, required=False, label=_("Action or table begins with"))
    target_type = forms.CharField(max_length=100, required=False, label=_("Target type"))
    target_id = forms.CharField(max_length=64, required=False, label=_("Target id / row"))
    since = forms.DateField(required=False, label=_("From (day)"))
    until = forms.DateField(required=False, label=_("Until (day, excluded)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs["class"] = "form-select" if name == "kind" else "form-control"
            if isinstance(field, forms.DateField):
                field.widget.input_type = "date"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            raise forms.ValidationError(_("“Until” must be after “From”."))
        return data


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_events_qs(data: dict[str, Any]) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.select_related("actor")
    if data.get("actor"):
        qs = qs.filter(Q(actor_label=data["actor"]) | Q(actor__username=data["actor"]))
    if data.get("action"):
        qs = qs.filter(action__startswith=data["action"])
    if data.get("target_type"):
        qs = qs.filter(target_type=data["target_type"])
    if data.get("target_id"):
        qs = qs.filter(target_id=data["target_id"])
    if data.get("since"):
        qs = qs.filter(created_at__gte=_day_start(data["since"]))
    if data.get("until"):
        qs = qs.filter(created_at__lt=_day_start(data["until"]))
    return qs


def row_changes_qs(data: dict[str, Any]) -> QuerySet[RowChange]:
    qs = RowChange.objects.all()
    if data.get("actor"):
        qs = qs.filter(actor_label=data["actor"])
    if data.get("action"):
        qs = qs.filter(table_name__startswith=data["action"])
    if data.get("target_type"):
        qs = qs.filter(table_name=data["target_type"])
    if data.get("target_id"):
        qs = qs.filter(row_pk=data["target_id"])
    if data.get("since"):
        qs = qs.filter(at__gte=_day_start(data["since"]))
    if data.get("until"):
        qs = qs.filter(at__lt=_day_start(data["until"]))
    return qs


EVENT_COLUMNS = (
    Column("id", "id"),
    Column("at", "created_at"),
    Column("actor", "actor__username"),
    Column("actor_label", "actor_label"),
    Column("action", "action"),
    Column("target_type", "target_type"),
    Column("target_id", "target_id"),
    Column("old", "old"),
    Column("new", "new"),
    Column("extra", "extra"),
)
ROW_COLUMNS = (
    Column("id", "id"),
    Column("at", "at"),
    Column("table", "table_name"),
    Column("op", "op"),
    Column("row", "row_pk"),
    Column("actor_id", "actor_id"),
    Column("actor_label", "actor_label"),
    Column("context", "context"),
    Column("before", "before"),
    Column("after", "after"),
    Column("hash", "hash"),
)


@staff_view("core.view_auditevent")
def audit_search(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    if data.get("kind") == "rows":
        page = keyset_page(row_changes_qs(data), ordering=ROW_ORDERING, params=request.GET)
    else:
        page = keyset_page(audit_events_qs(data), ordering=EVENT_ORDERING, params=request.GET)
    return render(
        request,
        "core/audit.html",
        {"form": form, "page": page, "rows": data.get("kind") == "rows"},
        status=400 if form.errors else 200,
    )


@staff_view("core.view_auditevent")
def audit_export(request: HttpRequest) -> HttpResponse:
    """The same search as CSV (cells neutralised against formula injection)."""
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        return invalid_filters_response(form)
    data = form.cleaned_data
    if data.get("kind") == "rows":
        return queryset_csv_response(
            stem="audit-rows",
            queryset=row_changes_qs(data).order_by(*ROW_ORDERING),
            columns=ROW_COLUMNS,
        )
    return queryset_csv_response(
        stem="audit-events",
        queryset=audit_events_qs(data).order_by(*EVENT_ORDERING),
        columns=EVENT_COLUMNS,
    )
