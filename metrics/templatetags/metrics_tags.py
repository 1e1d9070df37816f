"""Template filters for figures: a rate or median of an empty group shows as "—", never 0."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

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


@register.simple_tag
def figure_cell(cell: Any) -> SafeString | str:
    """One figure cell: the value ("—" when empty) linked to the items behind it.

    The same markup as ``metrics/_cell.html``, built in Python: a table page has
    hundreds of cells and an include per cell cost more than the page's queries.
    """
    kind, value = cell.column.kind, cell.value
    if kind in ("rate", "hours") and value is None:
        return EMPTY_RATE
    text = rate(value) if kind == "rate" else hours(value) if kind == "hours" else value
    return format_html('<a href="{}">{}</a>', cell.url, text)
