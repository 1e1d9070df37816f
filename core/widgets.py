"""Form widgets that render fast at the sizes units reach."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


class CompactSelect(forms.Select):
    """A flat ``<select>`` rendered in Python rather than with one template per option.

    The country list has ~250 options; Django's template-per-option rendering costs about
    30 ms per select, on every list page and form (200 actors: 12 ms). Same markup,
    without option groups (none of our choices has any).
    """

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (
                    "" if option["value"] is None else option["value"],
                    mark_safe(" selected") if option["selected"] else "",
                    option["label"],
                )
                for _group, group_options, _index in widget["optgroups"]
                for option in group_options
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', widget["name"], flatatt(widget["attrs"]), options
        )


def compact_selects(form: forms.BaseForm) -> None:
    """Swap each plain ``Select`` of the form for a ``CompactSelect`` (same attrs, choices)."""
    for field in form.fields.values():
        if type(field.widget) is forms.Select:
            compact = CompactSelect(attrs=field.widget.attrs)
            compact.choices = field.widget.choices
            compact.is_required = field.widget.is_required
            field.widget = compact
