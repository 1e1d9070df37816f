from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from notifications.models import InboundAttachment, InboundMail, OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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


@admin.register(InboundMail)
class InboundMailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: what ingest learned about an email (its bytes are on the Correspondence)."""

    list_display = (
        "correspondence",
        "matched_by",
        "is_auto_reply",
        "sender_is_contact",
        "received_via",
        "created_at",
    )
    list_filter = ("matched_by", "is_auto_reply", "sender_is_contact")
    search_fields = ("correspondence__subject", "correspondence__from_address")
    list_select_related = ("correspondence",)
    show_full_result_count = False
    readonly_fields = [field.name for field in InboundMail._meta.fields]


@admin.register(InboundAttachment)
class InboundAttachmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only metadata; the content is downloaded from the request page, never shown."""

    list_display = ("filename", "content_type", "size", "sha256", "correspondence", "created_at")
    search_fields = ("filename", "sha256")
    list_select_related = ("correspondence",)
    show_full_result_count = False
    exclude = ("content",)
    readonly_fields = ["correspondence", "filename", "content_type", "size", "sha256", "created_at"]
