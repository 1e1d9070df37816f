"""The compliance snapshot: §5 figures precomputed nightly, so dashboards read them in milliseconds.

A ``MetricSnapshot`` is one complete computation (when, by whom, from what);
its ``MetricSnapshotRow`` rows hold the figures per platform per ISO week, per
week, per platform and in total. Exactly one snapshot is current at a time; a
refresh builds the new set beside the old one and switches ``is_current`` in
the same transaction, so readers never see a half-built set. Medians cannot be
added up, which is why platform and unit totals are stored as rows of their own
rather than summed from the weekly rows.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.choices import CachedChoiceLabels
from metrics.figures import REFUSAL_KEYS, Figures, make_group


class SnapshotTrigger(models.TextChoices):
    NIGHTLY = "nightly", _("Nightly job")
    BUTTON = "button", _("Recomputed by a supervisor")
    COMMAND = "command", _("Management command")


class SnapshotScope(models.TextChoices):
    PLATFORM_WEEK = "platform_week", _("Per platform per ISO week")
    WEEK = "week", _("Per ISO week (whole unit)")
    PLATFORM = "platform", _("Per platform")
    TIER = "tier", _("Per platform tier")
    TOTAL = "total", _("Whole unit")


class SnapshotWindow(models.TextChoices):
    """The period a ``platform`` or ``total`` row covers (weekly rows cover their week)."""

    ALL_TIME = "all_time", _("All time")
    LAST_12_WEEKS = "last_12_weeks", _("Last 12 ISO weeks (including the current one)")
    # The transparency report's default period (the last full quarter before computed_at).
    REPORT_PERIOD = "report_period", _("The transparency report's default period")


class MetricSnapshot(CachedChoiceLabels, models.Model):
    computed_at = models.DateTimeField(
        help_text=_("The 'now' the figures were computed for (overdue items are as of then).")
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trigger = models.CharField(max_length=16, choices=SnapshotTrigger.choices)
    # What the figures were computed from: filters, row counts, the newest sending
    # time, the code version and a hash of the definitions.
    source = models.JSONField(default=dict, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    is_current = models.BooleanField(default=False)
    # The transparency report of the default period (the last full quarter), apart from
    # its per-platform table (rows of window ``report_period``): see metrics.report.
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-computed_at", "-id"]
        get_latest_by = "computed_at"
        constraints = [
            # Readers take "the" current snapshot: there is never more than one.
            models.UniqueConstraint(
                fields=["is_current"],
                condition=Q(is_current=True),
                name="metric_snapshot_one_current",
            ),
        ]
        permissions = [
            ("view_figures", "Can view compliance figures"),
            ("refresh_snapshot", "Can recompute the compliance snapshot"),
        ]

    def __str__(self) -> str:
        return f"Compliance snapshot of {self.computed_at:%Y-%m-%d %H:%M} ({self.row_count} rows)"


class MetricSnapshotRow(CachedChoiceLabels, models.Model):
    snapshot = models.ForeignKey(MetricSnapshot, on_delete=models.CASCADE, related_name="rows")
    scope = models.CharField(max_length=16, choices=SnapshotScope.choices)
    window = models.CharField(max_length=16, choices=SnapshotWindow.choices, blank=True)
    # The name is copied: a snapshot still reads right if the platform is renamed later.
    platform = models.ForeignKey(
        "platforms.Platform", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    platform_name = models.CharField(max_length=200, blank=True)
    # The platform's tier when the snapshot was computed (platform rows), or the tier
    # a ``tier`` row covers: the league filters and groups by it without a join.
    tier = models.CharField(max_length=16, blank=True)
    # Monday of the ISO week (unit time zone) for weekly scopes.
    week = models.DateField(null=True, blank=True)
    # The half-open period [period_start, period_end) the row covers (None = open-ended).
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    requested = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    verified_removed = models.PositiveIntegerField(default=0)
    removed_on_time = models.PositiveIntegerField(default=0)
    overdue_open = models.PositiveIntegerField(default=0)
    median_hours_to_response = models.FloatField(null=True, blank=True)
    median_hours_to_removal = models.FloatField(null=True, blank=True)
    refusal_breakdown = models.JSONField(default=dict, blank=True)
    # Every refusal-type outcome together (the league sorts by it in SQL).
    refused = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["snapshot", "scope", "platform_name", "week", "id"]
        indexes = [
            # latest_snapshot(): one scope of the current snapshot, a platform's weeks.
            models.Index(
                fields=["snapshot", "scope", "platform", "week"], name="metric_row_read_idx"
            ),
            # The league page: one window of the platform rows, optionally one tier.
            models.Index(
                fields=["snapshot", "scope", "window", "tier"], name="metric_row_league_idx"
            ),
        ]

    def __str__(self) -> str:
        where = self.platform_name or "unit"
        return f"{self.get_scope_display()} {where} {self.week or self.window}: {self.requested}"

    def as_figures(self) -> Figures:
        group: dict[str, Any] = {}
        if self.scope in (SnapshotScope.PLATFORM_WEEK, SnapshotScope.PLATFORM):
            group.update(make_group("platform", self.platform_id, self.platform_name))
        if self.scope == SnapshotScope.TIER:
            group.update(make_group("tier", self.tier))
        if self.week is not None:
            group.update(make_group("week", self.week))
        return Figures(
            group=group,
            requested=self.requested,
            responded=self.responded,
            removed=self.removed,
            verified_removed=self.verified_removed,
            removed_on_time=self.removed_on_time,
            overdue_open=self.overdue_open,
            median_hours_to_response=self.median_hours_to_response,
            median_hours_to_removal=self.median_hours_to_removal,
            refusal_breakdown={
                key: int(self.refusal_breakdown.get(key, 0)) for key in REFUSAL_KEYS
            },
        )
