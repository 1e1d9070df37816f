from __future__ import annotations

from django.contrib import admin

from core.admin import AuditedAdminMixin
from followups.models import ComposeSchedule


@admin.register(ComposeSchedule)
class ComposeScheduleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("weekday", "time_of_day", "enabled", "updated_by", "updated_at")
    raw_id_fields = ("updated_by",)
