"""Template filters of the dashboard."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def capped(count: int, cap: int) -> str:
    """A count the dashboard stopped at ``cap`` shown as "1,000+" (cases.selectors.dashboard)."""
    return f"{cap:,}+" if count > cap else str(count)
