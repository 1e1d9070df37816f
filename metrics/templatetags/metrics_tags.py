"""Template filters for figures: a rate or median of an empty group shows as "—", never 0."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format

from metrics.figures import EMPTY_RATE

register = template.Library()


@register.filter
def rate(value: float | None) -> str:
    """0.914 → "91.4 %"; None (nothing to divide by) → "—"."""
    if value is None:
        return EMPTY_RATE
    return f"{number_format(value * 100, decimal_pos=1)} %"


@register.filter
def hours(value: float | None) -> str:
    """A median in hours: 3.25 → "3.3 h"; None (no item to take it over) → "—"."""
    if value is None:
        return EMPTY_RATE
    return f"{number_format(value, decimal_pos=1)} h"


@register.filter
def figure(figures: Any, key: str) -> Any:
    """``figures|figure:"removal_rate"``: a figure by its key (the league's columns)."""
    return figures.value(key)


@register.filter
def refusal(figures: Any, key: str) -> int:
    return int(figures.refusal_breakdown.get(key, 0))
