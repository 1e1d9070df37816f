from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from notifications.models import OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """Read-only: the ledger changes only through its services (retry is on the request page)."""

    list_display = (
        "subject",
        "to_address",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "created_at",
    )
    list_filter = ("state",)
    search_fields = ("to_address", "subject", "message_id", "request__reference")
    list_select_related = ("request",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [field.name for field in OutboundEmail._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
