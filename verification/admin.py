from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from verification.models import UrlCheck


@admin.register(UrlCheck)
class UrlCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: a check is a record of what was seen, never edited."""

    list_display = ("item", "checked_at", "classification", "reason", "http_status", "trigger")
    list_filter = ("classification", "trigger", "reason")
    search_fields = ("url", "final_url", "item__url_normalised")
    date_hierarchy = "checked_at"
    list_select_related = ("item",)
    raw_id_fields = ("item",)
