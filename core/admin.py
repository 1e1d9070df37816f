from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from core.models import Alert, AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "actor_label", "action", "target_type", "target_id")
    list_filter = ("action", "target_type")
    search_fields = ("action", "target_id", "actor__username", "actor_label")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    show_full_result_count = False

    # The audit trail is append-only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "title", "permission", "dismissed_at", "dismissed_by")
    list_filter = ("permission",)
    search_fields = ("title", "message", "key")
    list_select_related = ("dismissed_by",)
    raw_id_fields = ("dismissed_by",)
