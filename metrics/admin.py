"""Snapshots in the admin: read-only (they are recomputed, never edited)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from metrics.models import MetricSnapshot, MetricSnapshotRow


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(_ReadOnly):
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
class MetricSnapshotRowAdmin(_ReadOnly):
    list_display = ["snapshot", "scope", "window", "platform_name", "week", "requested", "removed"]
    list_filter = ["scope", "window"]
    list_select_related = ["snapshot"]
