from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.forms import BaseFormSet, Form
from django.http import HttpRequest

from core.account_views import AdminSignInForm
from core.audit import audit_record
from core.models import Alert, AuditEvent, RowChange

# The admin signs in through the same username check as the staff sign-in page.
admin.site.login_form = AdminSignInForm


class ReadOnlyAdminMixin:
    """The investigation record is written by the services (and their audit trail) only.

    The admin may list and show these rows; it may not add, change or delete them,
    so a superuser cannot quietly rewrite what the desk will later be asked to prove.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewing stays: Django's change view falls back to has_view_permission.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _json_safe(value: Any) -> Any:
    """An audit row is JSON: model instances, dates and querysets become their text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, list | tuple | set | models.QuerySet):
        return [_json_safe(item) for item in value]
    return str(value)


def _changes(form: Form) -> tuple[dict[str, Any], dict[str, Any]]:
    old = {name: _json_safe(form.initial.get(name)) for name in form.changed_data}
    new = {name: _json_safe(form.cleaned_data.get(name)) for name in form.changed_data}
    return old, new


class AuditedAdminMixin:
    """Every change the admin can still make writes an audit event (issue 10, point 3).

    Audited here rather than via LogEntry because the desk's audit trail is the one
    record the unit exports and searches; LogEntry is still written by Django as well.
    """

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        old, new = _changes(form)
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        audit_record(
            actor=request.user,
            action="admin.change" if change else "admin.add",
            target=obj,
            old=old if change else None,
            new=new,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        # Recorded first: a deleted instance has no primary key left to name.
        audit_record(actor=request.user, action="admin.delete", target=obj, old={"str": str(obj)})
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        for obj in queryset:
            audit_record(
                actor=request.user, action="admin.delete", target=obj, old={"str": str(obj)}
            )
        super().delete_queryset(request, queryset)  # type: ignore[misc]

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseFormSet[Any], change: bool
    ) -> None:
        """Inline rows (domains, contacts, holds, lines) are audited like the parent."""
        for deleted in getattr(formset, "deleted_forms", []):
            if deleted.instance.pk is not None:
                audit_record(
                    actor=request.user,
                    action="admin.delete",
                    target=deleted.instance,
                    old={"str": str(deleted.instance)},
                )
        changes = {
            id(inline.instance): _changes(inline)
            for inline in formset.forms
            if inline.is_valid() and inline.has_changed()
        }
        super().save_formset(request, form, formset, change)  # type: ignore[misc]
        for obj in getattr(formset, "new_objects", []):
            audit_record(
                actor=request.user,
                action="admin.add",
                target=obj,
                new=changes.get(id(obj), ({}, {}))[1],
            )
        for obj, _fields in getattr(formset, "changed_objects", []):
            old, new = changes.get(id(obj), ({}, {}))
            audit_record(actor=request.user, action="admin.change", target=obj, old=old, new=new)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail is append-only."""

    list_display = ("created_at", "actor", "actor_label", "action", "target_type", "target_id")
    list_filter = ("action", "target_type")
    search_fields = ("action", "target_id", "actor__username", "actor_label")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Alert)
class AlertAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "title", "permission", "dismissed_at", "dismissed_by")
    list_filter = ("permission",)
    search_fields = ("title", "message", "key")
    list_select_related = ("dismissed_by",)
    raw_id_fields = ("dismissed_by",)


@admin.register(RowChange)
class RowChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The trigger-written row history (hash-chained): shown, never edited."""

    list_display = ("id", "at", "table_name", "op", "row_pk", "actor_label", "context")
    list_filter = ("op", "table_name")
    search_fields = ("row_pk", "actor_label")
    show_full_result_count = False
