from __future__ import annotations

from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """Scale data and the shipped benchmark: the top of the app order, it may import any app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "benchmarks"
    verbose_name = "Benchmarks"
