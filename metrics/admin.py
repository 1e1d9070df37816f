"""Snapshots in the admin: read-only (they are recomputed, never edited)."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from metrics.models import MetricSnapshot, MetricSnapshotRow


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "computed_at",
        "trigger",
        "computed_by",
        "row_count",
        "duration_ms",
        "is_current",
    ]
    list_filter = ["trigger", "is_current"]
    readonly_fields = ["source"]


@admin.register(MetricSnapshotRow)
class MetricSnapshotRowAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["snapshot", "scope", "window", "platform_name", "week", "requested", "removed"]
    list_filter = ["scope", "window"]
    list_select_related = ["snapshot"]
